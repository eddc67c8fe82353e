/**
 * The type matrix: every built-in type a column can have (and an array of each), the user-defined kinds
 * (enum, domain, composite, range, multirange), with edge values, as SQL that builds the same rows on any
 * server from 14 on. Row k takes each type's value k (cycling), row 0 is all NULL.
 */

interface TypeCase {
  /** Column name stem. */
  readonly col: string;
  readonly type: string;
  /** SQL literals, in the type's text form (cast to `type`). */
  readonly values: readonly string[];
}

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Built-in types, each with edge values (min, max, special, empty, unicode, ...). */
export const BUILTIN: readonly TypeCase[] = [
  { col: 'bool', type: 'boolean', values: ['true', 'false'] },
  { col: 'i2', type: 'smallint', values: ['-32768', '32767', '0'] },
  { col: 'i4', type: 'integer', values: ['-2147483648', '2147483647', '0'] },
  { col: 'i8', type: 'bigint', values: ['-9223372036854775808', '9223372036854775807', '0'] },
  {
    col: 'num',
    type: 'numeric',
    values: [
      'NaN',
      '-123456789012345678901234567890.123456789012345678901234567890',
      '0.' + '0'.repeat(300) + '1',
      '1e1000',
      'Infinity',
      '-Infinity',
      '-0.00',
    ],
  },
  { col: 'num_s', type: 'numeric(20,10)', values: ['9999999999.9999999999', '-0.0000000001', '0'] },
  {
    col: 'f4',
    type: 'real',
    values: ['NaN', 'Infinity', '-Infinity', '1.17549435e-38', '3.4028235e+38', '-0', '1.4e-45', '0.1'],
  },
  {
    col: 'f8',
    type: 'double precision',
    values: [
      'NaN',
      'Infinity',
      '-Infinity',
      '2.2250738585072014e-308',
      '1.7976931348623157e+308',
      '-0',
      '5e-324',
      '0.1',
      '0.30000000000000004',
    ],
  },
  { col: 'money', type: 'money', values: ['-92233720368547758.08', '92233720368547758.07', '0'] },
  { col: 'ch', type: 'char(5)', values: ['', 'ab', 'ñü€'] },
  { col: 'vc', type: 'varchar(12)', values: ['', `x'y"z\\`, '日本語'] },
  {
    col: 'txt',
    type: 'text',
    values: ['', 'NULL', 'tab\there\nnew line\\back \\N', '𝄞 😀 ü é ß', `'; DROP TABLE x; --`, '{}', '$$'],
  },
  { col: 'qchar', type: '"char"', values: ['a', '', 'Z'] },
  { col: 'nm', type: 'name', values: ['some name', 'n'.repeat(63), ''] },
  { col: 'by', type: 'bytea', values: ['\\x', '\\x00', '\\x00ff005c27000a0d'] },
  {
    col: 'dt',
    type: 'date',
    values: ['4713-01-01 BC', '5874897-12-31', 'infinity', '-infinity', '2000-02-29', '0001-01-01 BC'],
  },
  { col: 'tm', type: 'time', values: ['00:00', '24:00:00', '23:59:59.999999'] },
  { col: 'tmtz', type: 'time with time zone', values: ['00:00+1559', '24:00:00-1559', '12:00:00+05:30'] },
  {
    col: 'ts',
    type: 'timestamp',
    values: ['4713-01-01 00:00:00 BC', '294276-12-31 23:59:59.999999', 'infinity', '-infinity', '2000-01-01'],
  },
  {
    col: 'tstz',
    type: 'timestamptz',
    values: [
      '4713-01-01 00:00:00+00 BC',
      '294276-12-31 23:59:59.999999+00',
      'infinity',
      '-infinity',
      '2024-03-31 02:30:00 Europe/Berlin',
      '1999-12-31 23:59:59.999999-12',
    ],
  },
  {
    col: 'iv',
    type: 'interval',
    values: ['-178000000 years', '178000000 years', '1 mon -1 day -00:00:00.000001', '0', '2147483647 days'],
  },
  { col: 'pt', type: 'point', values: ['(0,0)', '(1e+308,-1e+308)', '(-1.5,0.1)'] },
  { col: 'ln', type: 'line', values: ['{1,-1,0}', '{0,1,-2.5}'] },
  { col: 'ls', type: 'lseg', values: ['[(0,0),(1,1)]'] },
  { col: 'bx', type: 'box', values: ['(1,1),(0,0)', '(0,0),(0,0)'] },
  { col: 'pth', type: 'path', values: ['((0,0),(1,1),(2,0))', '[(0,0),(1,1)]'] },
  { col: 'pg', type: 'polygon', values: ['((0,0),(1,1),(1,0))'] },
  { col: 'ci', type: 'circle', values: ['<(0,0),1.5>', '<(1,-1),0>'] },
  { col: 'inet', type: 'inet', values: ['192.168.0.1/24', '::1', '::ffff:1.2.3.4/128', '0.0.0.0/0'] },
  { col: 'cidr', type: 'cidr', values: ['10.0.0.0/8', '2001:db8::/32'] },
  { col: 'mac', type: 'macaddr', values: ['08:00:2b:01:02:03', 'ff:ff:ff:ff:ff:ff'] },
  { col: 'mac8', type: 'macaddr8', values: ['08:00:2b:01:02:03:04:05'] },
  { col: 'bit', type: 'bit(4)', values: ['1010', '0000'] },
  { col: 'vbit', type: 'bit varying', values: ['', '1', '1'.repeat(100)] },
  { col: 'tsv', type: 'tsvector', values: [`'a':1A 'b c':2,3B`, ''] },
  { col: 'tsq', type: 'tsquery', values: [`'a' & !'b' | 'c':*`, `'x' <-> 'y'`] },
  {
    col: 'uuid',
    type: 'uuid',
    values: ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
  },
  { col: 'xml', type: 'xml', values: ['<a b="1">x &amp; y</a>', 'text only', '<ü/>'] },
  { col: 'js', type: 'json', values: ['{"dup": 1, "dup": 2}', '[]', '  {"spaces" : true }  ', '"\\u0000"'] },
  {
    col: 'jb',
    type: 'jsonb',
    values: [
      '{}',
      '[]',
      'null',
      '{"a": [1, 2.50, {"b": "ü\\"q"}], "n": 1e-10, "big": 123456789012345678901234567890}',
      '"str"',
    ],
  },
  { col: 'jp', type: 'jsonpath', values: ['$.a[*] ? (@ > 1)', 'strict $."key with space"'] },
  { col: 'r4', type: 'int4range', values: ['empty', '[1,10)', '(,)', '[-2147483648,2147483647)'] },
  { col: 'r8', type: 'int8range', values: ['[-9223372036854775808,9223372036854775807)', 'empty'] },
  { col: 'rn', type: 'numrange', values: ['[-1.5,)', '(0.1,0.2]'] },
  { col: 'rts', type: 'tsrange', values: ['[-infinity,infinity]', '[2000-01-01,2000-01-02)'] },
  { col: 'rtz', type: 'tstzrange', values: ['[2024-01-01 00:00:00.000001+00,)', 'empty'] },
  { col: 'rd', type: 'daterange', values: ['[2000-01-01,infinity)', '[4713-01-01 BC,2000-01-01)'] },
  { col: 'mr4', type: 'int4multirange', values: ['{}', '{[1,3),[5,7)}'] },
  { col: 'mrd', type: 'datemultirange', values: ['{[2000-01-01,2000-02-01),[2001-01-01,)}'] },
  { col: 'mrn', type: 'nummultirange', values: ['{(,0),[1.5,2.5]}'] },
  { col: 'lsn', type: 'pg_lsn', values: ['0/0', 'FFFFFFFF/FFFFFFFF'] },
  { col: 'oid', type: 'oid', values: ['0', '4294967295'] },
  { col: 'xid', type: 'xid', values: ['0', '4294967295'] },
  { col: 'x8', type: 'xid8', values: ['18446744073709551615'] },
  { col: 'tsnap', type: 'txid_snapshot', values: ['10:20:10,14,15'] },
  { col: 'snap', type: 'pg_snapshot', values: ['10:20:10,14,15', '5:5:'] },
  // Object references: stored as OIDs, which differ between servers; their text form is the name.
  { col: 'rcls', type: 'regclass', values: ['public.custom', 'pg_class'] },
  { col: 'rtyp', type: 'regtype', values: ['mood', 'integer[]'] },
];

/** User-defined kinds: enum, domains, composite (nested, with arrays), range and its multirange. */
export const CUSTOM_DDL = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'with''quote', 'ü ');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE DOMAIN short_text AS varchar(20) DEFAULT '' CHECK (VALUE <> 'forbidden');
CREATE DOMAIN positive2 AS positive CHECK (VALUE < 1000);
CREATE TYPE pair AS (x integer, label text, m mood);
CREATE TYPE nest AS (p pair, tags text[], at timestamptz);
CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
`;

export const CUSTOM: readonly TypeCase[] = [
  { col: 'mood', type: 'mood', values: ['sad', 'happy', "with'quote", 'ü '] },
  { col: 'pos', type: 'positive', values: ['1', '2147483647'] },
  { col: 'stxt', type: 'short_text', values: ['', 'x y'] },
  { col: 'pos2', type: 'positive2', values: ['999'] },
  { col: 'pair', type: 'pair', values: ['(1,"a,b",ok)', '(,,)', '(-1,"""quoted"" \\\\ back",sad)'] },
  {
    col: 'nest',
    type: 'nest',
    values: ['("(1,x,happy)","{a,""b c"",NULL}","2000-01-01 00:00:00+00")', '(,,)'],
  },
  { col: 'fr', type: 'floatrange', values: ['[-Infinity,Infinity]', 'empty', '(1.5,2.5]'] },
  { col: 'fmr', type: 'floatmultirange', values: ['{[1,2),[3,4)}', '{}'] },
];

/** Each array column's value for row k: empty, with a NULL, two-dimensional, lower bound -3. */
function arrayValue(t: TypeCase, k: number): string {
  const v = (i: number) => `${q(t.values[i % t.values.length]!)}::${t.type}`;
  switch (k % 4) {
    case 0:
      return `'{}'::${t.type}[]`;
    case 1:
      return `ARRAY[${v(k)}, NULL, ${v(k + 1)}]`;
    case 2:
      return `ARRAY[[${v(k)}, ${v(k + 1)}], [${v(k + 1)}, ${v(k)}]]`;
    default:
      return `array_fill(${v(k)}, ARRAY[2], ARRAY[-3])`;
  }
}

function columns(cases: readonly TypeCase[], arrays: boolean): string {
  return cases.map((t) => `${t.col} ${t.type}${arrays ? `, ${t.col}_a ${t.type}[]` : ''}`).join(',\n  ');
}

/** CREATE TABLE for a matrix table keyed by `id`, plus a `note` column updates change alone. */
export function matrixTable(
  name: string,
  cases: readonly TypeCase[],
  identityFull = false,
  arrays = true,
): string {
  return `CREATE TABLE ${name} (
  id integer PRIMARY KEY,
  note text,
  ${columns(cases, arrays)}
);${identityFull ? `\nALTER TABLE ${name} REPLICA IDENTITY FULL;` : ''}`;
}

/** Rows `ids` of a matrix table: id k takes value k of each type (0 is all NULL). */
export function matrixInsert(
  name: string,
  cases: readonly TypeCase[],
  ids: readonly number[],
  arrays = true,
): string {
  const rows = ids.map((id) => {
    const k = id % 100;
    if (k === 0) return `(${id}, NULL, ${cases.map(() => (arrays ? 'NULL, NULL' : 'NULL')).join(', ')})`;
    const vals = cases.map(
      (t) => `${q(t.values[k % t.values.length]!)}::${t.type}${arrays ? `, ${arrayValue(t, k)}` : ''}`,
    );
    return `(${id}, ${q(`row ${id}`)}, ${vals.join(', ')})`;
  });
  return `INSERT INTO ${name} VALUES\n${rows.join(',\n')}`;
}

/**
 * Values stored out of line (TOAST): incompressible text and bytea (with zero bytes), a large jsonb, and
 * a small counter that updates change alone.
 */
export const TOAST_DDL = `
CREATE TABLE toasted (id integer PRIMARY KEY, counter integer NOT NULL, t text, b bytea, j jsonb, a text[]);
CREATE TABLE toasted_full (id integer, counter integer NOT NULL, t text, b bytea, j jsonb, a text[]);
ALTER TABLE toasted_full REPLICA IDENTITY FULL;
`;

/** A row of `toasted` with about `kb` KB in each large column, different for each seed. */
export function toastedInsert(table: string, id: number, kb: number, seed: string): string {
  const hex = `(SELECT string_agg(md5(${q(seed)} || g::text), '') FROM generate_series(1, ${kb * 32}) g)`;
  return `INSERT INTO ${table} VALUES (${id}, 0,
    ${hex} || E'\\u00e9 end',
    decode(${hex}, 'hex') || '\\x0000'::bytea,
    (SELECT jsonb_object_agg('k' || g, md5(${q(seed)} || g::text)) FROM generate_series(1, ${kb * 16}) g),
    ARRAY[${hex}, NULL, ''])`;
}

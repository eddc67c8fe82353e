import { describe, expect, it } from 'vitest';
import {
  arrayLiteral,
  copyIn,
  copyRow,
  deleteRow,
  deleteValues,
  insertRows,
  insertValues,
  literal,
  truncate,
  tuple,
  updateRow,
  updateValues,
  type MatchColumn,
} from '../../../src/apply/sql.js';

const m = (name: string, type = 'integer', nullSafe = false, asText = false): MatchColumn => ({
  name,
  type,
  nullSafe,
  asText,
});

describe('apply statements', () => {
  it('groups rows into one multi-row INSERT with quoted identifiers and parameters only', () => {
    expect(insertRows('Sch"ema', 'Order Items', ['a""b', 'select'], 2)).toBe(
      'INSERT INTO "Sch""ema"."Order Items" ("a""""b", "select") VALUES ($1, $2), ($3, $4)',
    );
  });

  it('updates by key, or one row by ctid with NULL-safe matches for REPLICA IDENTITY FULL', () => {
    expect(updateRow('public', 't', ['v'], [m('id')], false, false)).toBe(
      'UPDATE "public"."t" SET "v" = $1 WHERE "id" = $2::integer',
    );
    expect(
      updateRow('public', 't', ['v'], [m('a', 'integer', true), m('j', 'json', true, true)], true, false),
    ).toBe(
      'UPDATE "public"."t" SET "v" = $1 WHERE ctid = (SELECT ctid FROM "public"."t" WHERE "a" IS NOT DISTINCT FROM $2::integer AND "j"::text IS NOT DISTINCT FROM $3::text LIMIT 1)',
    );
    expect(deleteRow('public', 'p', [m('a', 'integer', true)], true, true)).toBe(
      'DELETE FROM "public"."p" WHERE (tableoid, ctid) = (SELECT tableoid, ctid FROM "public"."p" WHERE "a" IS NOT DISTINCT FROM $1::integer LIMIT 1)',
    );
  });

  it('truncates as sent: ONLY for plain tables, RESTART IDENTITY and CASCADE when the source used them', () => {
    expect(
      truncate(
        [
          { schema: 'public', name: 'a', partitioned: false },
          { schema: 'public', name: 'p', partitioned: true },
        ],
        true,
        true,
      ),
    ).toBe('TRUNCATE TABLE ONLY "public"."a", "public"."p" RESTART IDENTITY CASCADE');
    expect(truncate([{ schema: 's', name: 'a', partitioned: false }], false, false)).toBe(
      'TRUNCATE TABLE ONLY "s"."a"',
    );
  });

  it('writes values as literals: quotes doubled, backslashes kept (standard_conforming_strings), NULL', () => {
    expect(literal(`it's a \\ "x" Ü`)).toBe(`'it''s a \\ "x" Ü'`);
    expect(literal(null)).toBe('NULL');
    expect(tuple(['1', null, "'"])).toBe(`('1', NULL, '''')`);
    expect(insertValues('public', 't', ['a'], ["('1')", "('2')"], true)).toBe(
      `INSERT INTO "public"."t" ("a") OVERRIDING SYSTEM VALUE VALUES ('1'), ('2')`,
    );
  });

  it('updates and deletes many rows by key, typed by the first VALUES row', () => {
    expect(
      updateValues(
        'public',
        'Order Items',
        [m('id'), m('j', 'json', false, true)],
        [{ name: 'v', type: 'text' }],
        [
          ['1', '{}', 'a'],
          ['2', '[]', null],
        ],
      ),
    ).toBe(
      `UPDATE "public"."Order Items" AS t SET "v" = d.s0 FROM (VALUES ('1'::integer, '{}'::text, 'a'::text), ('2', '[]', NULL)) AS d(k0, k1, s0) WHERE t."id" = d.k0 AND t."j"::text = d.k1`,
    );
    expect(deleteValues('public', 't', [m('id')], [['1'], ['2']])).toBe(
      `DELETE FROM "public"."t" AS t USING (VALUES ('1'::integer), ('2')) AS d(k0) WHERE t."id" = d.k0`,
    );
  });

  it('updates and deletes many rows by key from one array per column when every column can travel in one', () => {
    const a = (name: string, type: string, asText = false): MatchColumn => ({
      ...m(name, type, false, asText),
      arrayType: `${type}[]`,
    });
    expect(
      updateValues(
        'public',
        'Order Items',
        [a('id', 'integer'), a('j', 'json', true)],
        [
          { name: 'v', type: 'character(3)', arrayType: 'character(3)[]' },
          { name: 'select', type: 'public."Mood"', arrayType: 'public."Mood"[]' },
        ],
        [
          ['1', '{}', 'a', 'ok'],
          ['2', '[]', null, "it's"],
        ],
      ),
    ).toBe(
      `UPDATE "public"."Order Items" AS t SET "v" = d.s0, "select" = d.s1 FROM unnest('{"1","2"}'::integer[], '{"{}","[]"}'::text[], '{"a",NULL}'::character(3)[], '{"ok","it''s"}'::public."Mood"[]) AS d(k0, k1, s0, s1) WHERE t."id" = d.k0 AND t."j"::text = d.k1`,
    );
    expect(deleteValues('public', 't', [a('id', 'bigint')], [['1'], ['2']])).toBe(
      `DELETE FROM "public"."t" AS t USING unnest('{"1","2"}'::bigint[]) AS d(k0) WHERE t."id" = d.k0`,
    );
    // One column that cannot (an array type, a box) keeps the statement on a VALUES list.
    expect(
      updateValues('public', 't', [a('id', 'integer')], [{ name: 'tags', type: 'text[]' }], [['1', '{x}']]),
    ).toBe(
      `UPDATE "public"."t" AS t SET "tags" = d.s0 FROM (VALUES ('1'::integer, '{x}'::text[])) AS d(k0, s0) WHERE t."id" = d.k0`,
    );
  });

  it('quotes every array element: empty, NULL the word, braces, commas, quotes, backslashes, SQL quotes', () => {
    const rows = [
      '',
      'NULL',
      null,
      '{a,b}',
      ' x ',
      'say "hi"',
      'back\\slash',
      "it's",
      '(1,"a b")',
      '\\x00ff',
    ];
    expect(
      arrayLiteral(
        rows.map((v) => [v]),
        0,
      ),
    ).toBe(
      `'{"","NULL",NULL,"{a,b}"," x ","say \\"hi\\"","back\\\\slash","it''s","(1,\\"a b\\")","\\\\x00ff"}'`,
    );
  });

  it('writes COPY text rows: tabs between values, \\N for NULL, backslash, newline, CR and tab escaped', () => {
    expect(copyIn('Sch"ema', 'Order Items', ['a""b', 'select'])).toBe(
      'COPY "Sch""ema"."Order Items" ("a""""b", "select") FROM STDIN',
    );
    expect(copyRow(['1', null, ''])).toBe('1\t\\N\t\n');
    expect(copyRow(['a\tb', 'x\ny\r\nz', 'back\\slash \\N', "it's \\."])).toBe(
      "a\\tb\tx\\ny\\r\\nz\tback\\\\slash \\\\N\tit's \\\\.\n",
    );
    expect(copyRow(['ÜberTable 日本語 🐘', '{"a","b c",NULL}', '\\x00ff'])).toBe(
      'ÜberTable 日本語 🐘\t{"a","b c",NULL}\t\\\\x00ff\n',
    );
  });
});

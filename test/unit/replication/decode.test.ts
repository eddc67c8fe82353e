import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parseLsn } from '../../../src/pg/lsn.js';
import { UNCHANGED } from '../../../src/replication/change.js';
import { PgoutputDecoder } from '../../../src/replication/decode.js';

/** Minimal pgoutput message writer (protocol 1), to feed the decoder exactly what a walsender sends. */
class W {
  private parts: Buffer[] = [];
  u8(n: number) {
    this.parts.push(Buffer.from([n]));
    return this;
  }
  i16(n: number) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  i32(n: number) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  i64(n: bigint) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    this.parts.push(b);
    return this;
  }
  str(s: string) {
    this.parts.push(Buffer.from(s + '\0'));
    return this;
  }
  text(s: string) {
    const b = Buffer.from(s);
    return this.u8(0x74).i32(b.length).raw(b);
  }
  raw(b: Buffer) {
    this.parts.push(b);
    return this;
  }
  done() {
    return Buffer.concat(this.parts);
  }
}

const relation = () =>
  new W()
    .u8(0x52)
    .i32(-5) // an OID above 2^31, read signed by the library: only a cache key
    .str('public')
    .str('t')
    .u8(0x64)
    .i16(3)
    .u8(1)
    .str('id')
    .i32(20)
    .i32(-1)
    .u8(0)
    .str('at')
    .i32(1184)
    .i32(-1)
    .u8(0)
    .str('doc')
    .i32(3802)
    .i32(-1)
    .done();

describe('PgoutputDecoder', () => {
  it('keeps values as the source text (µs of timestamptz, int8, jsonb) without touching pg global parsers', () => {
    const before = pg.types.getTypeParser(1184);
    const d = new PgoutputDecoder();
    expect(d.decode(relation())).toMatchObject({
      kind: 'relation',
      relation: { schema: 'public', name: 't' },
    });
    const ins = d.decode(
      new W()
        .u8(0x49)
        .i32(-5)
        .u8(0x4e)
        .i16(3)
        .text('9223372036854775807')
        .text('2024-02-29 23:59:59.123456+00')
        .text('{"a": 1.50}')
        .done(),
    );
    expect(ins).toMatchObject({
      kind: 'insert',
      values: ['9223372036854775807', '2024-02-29 23:59:59.123456+00', '{"a": 1.50}'],
    });
    expect(pg.types.getTypeParser(1184)).toBe(before);
    expect(typeof pg.types.getTypeParser(1184)('2024-01-01 00:00:00+00')).toBe('object'); // still a Date elsewhere
  });

  it('marks unchanged TOAST values as UNCHANGED, distinct from NULL, and reads key tuples', () => {
    const d = new PgoutputDecoder();
    d.decode(relation());
    const upd = d.decode(new W().u8(0x55).i32(-5).u8(0x4e).i16(3).text('1').u8(0x6e).u8(0x75).done());
    expect(upd).toMatchObject({ kind: 'update', old: undefined, values: ['1', null, UNCHANGED] });
    const keyChange = d.decode(
      new W()
        .u8(0x55)
        .i32(-5)
        .u8(0x4b)
        .i16(3)
        .text('1')
        .u8(0x6e)
        .u8(0x6e)
        .u8(0x4e)
        .i16(3)
        .text('2')
        .u8(0x6e)
        .u8(0x75)
        .done(),
    );
    expect(keyChange).toMatchObject({
      kind: 'update',
      old: ['1', UNCHANGED, UNCHANGED],
      values: ['2', null, UNCHANGED],
    });
    const del = d.decode(new W().u8(0x44).i32(-5).u8(0x4b).i16(3).text('2').u8(0x6e).u8(0x6e).done());
    expect(del).toMatchObject({ kind: 'delete', old: ['2', UNCHANGED, UNCHANGED] });
  });

  it('reads BEGIN and COMMIT positions as Lsn, and TRUNCATE options', () => {
    const d = new PgoutputDecoder();
    d.decode(relation());
    expect(d.decode(new W().u8(0x42).i64(0x1_0000_0100n).i64(0n).i32(7).done())).toEqual({
      kind: 'begin',
      finalLsn: parseLsn('1/100'),
      xid: 7,
    });
    // Commit time: 1 s after PostgreSQL's epoch (2000-01-01), read as microseconds since the Unix epoch.
    expect(
      d.decode(new W().u8(0x43).u8(0).i64(0x1_0000_0100n).i64(0x1_0000_0130n).i64(1_000_000n).done()),
    ).toEqual({
      kind: 'commit',
      finalLsn: parseLsn('1/100'),
      lsn: parseLsn('1/130'),
      commitTimeUs: 946_684_801_000_000n,
    });
    expect(d.decode(new W().u8(0x54).i32(1).u8(3).i32(-5).done())).toMatchObject({
      kind: 'truncate',
      cascade: true,
      restartIdentity: true,
      relations: [{ name: 't' }],
    });
  });

  it('fails loudly on a change for a relation it was never told about', () => {
    expect(() => new PgoutputDecoder().decode(new W().u8(0x49).i32(9).u8(0x4e).i16(0).done())).toThrow();
  });

  it('reads text values byte-exact (quotes, backslashes, tabs, newlines, multi-byte UTF-8, empty vs NULL)', () => {
    const d = new PgoutputDecoder();
    d.decode(relation());
    const odd = ["it's \\ \t\ttab\nnew\r\nline", 'ÜberTable 日本語 🐘', ''];
    const ins = d.decode(
      new W().u8(0x49).i32(-5).u8(0x4e).i16(3).text(odd[0]!).text(odd[1]!).text(odd[2]!).done(),
    );
    expect(ins).toMatchObject({ kind: 'insert', values: odd });
    const nul = d.decode(new W().u8(0x49).i32(-5).u8(0x4e).i16(3).text('1').u8(0x6e).text('').done());
    expect(nul).toMatchObject({ kind: 'insert', values: ['1', null, ''] });
  });

  it('names non-built-in column types from Type messages and reads REPLICA IDENTITY FULL old tuples', () => {
    const d = new PgoutputDecoder();
    expect(d.decode(new W().u8(0x59).i32(16_500).str('app').str('mood').done())).toBeUndefined();
    const rel = d.decode(
      new W()
        .u8(0x52)
        .i32(42)
        .str('app')
        .str('Order Items')
        .u8(0x66)
        .i16(2)
        .u8(0)
        .str('m')
        .i32(16_500)
        .i32(-1)
        .u8(0)
        .str('n')
        .i32(23)
        .i32(-1)
        .done(),
    );
    expect(rel).toMatchObject({
      kind: 'relation',
      relation: {
        name: 'Order Items',
        replicaIdentity: 'full',
        columns: [
          { name: 'm', typeOid: 16_500, typeName: 'app.mood', key: false },
          { name: 'n', typeOid: 23, typeName: undefined, key: false },
        ],
      },
    });
    const upd = d.decode(
      new W()
        .u8(0x55)
        .i32(42)
        .u8(0x4f)
        .i16(2)
        .text('sad')
        .u8(0x6e)
        .u8(0x4e)
        .i16(2)
        .text('ok')
        .u8(0x75)
        .done(),
    );
    expect(upd).toMatchObject({ kind: 'update', old: ['sad', null], values: ['ok', UNCHANGED] });
    const del = d.decode(new W().u8(0x44).i32(42).u8(0x4f).i16(2).text('ok').text('3').done());
    expect(del).toMatchObject({ kind: 'delete', old: ['ok', '3'] });
  });

  it('rejects a tuple whose column count differs from its Relation, and a truncated message', () => {
    const d = new PgoutputDecoder();
    d.decode(relation());
    expect(() => d.decode(new W().u8(0x49).i32(-5).u8(0x4e).i16(2).text('1').u8(0x6e).done())).toThrow(
      /2 columns in a tuple of public.t, which has 3/,
    );
    expect(() =>
      d.decode(new W().u8(0x49).i32(-5).u8(0x4e).i16(3).u8(0x74).i32(10).str('abc').done()),
    ).toThrow(/ends inside a value/);
  });

  it("reads a message in place inside a larger buffer and stops at its end, not the buffer's", () => {
    const d = new PgoutputDecoder();
    d.decode(relation());
    const insert = new W().u8(0x49).i32(-5).u8(0x4e).i16(3).text('1').u8(0x6e).text('x').done();
    const next = new W().u8(0x49).i32(-5).u8(0x4e).i16(3).text('2').u8(0x6e).text('y').done();
    const buf = Buffer.concat([Buffer.from('junk'), insert, next]);
    expect(d.decode(buf, 4, 4 + insert.length)).toMatchObject({ kind: 'insert', values: ['1', null, 'x'] });
    expect(d.decode(buf, 4 + insert.length, buf.length)).toMatchObject({ values: ['2', null, 'y'] });
    // Cut one byte short: the next message's bytes are there, but they are not this message's.
    expect(() => d.decode(buf, 4, 4 + insert.length - 1)).toThrow(/ends inside a value/);
    expect(() => d.decode(buf, 4, 4 + 9)).toThrow(/ends early/);
  });
});

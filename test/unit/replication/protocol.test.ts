import { describe, expect, it } from 'vitest';
import { parseLsn } from '../../../src/pg/lsn.js';
import { MessageFramer, parseServerMessage, standbyStatus } from '../../../src/replication/protocol.js';

describe('replication protocol framing', () => {
  it('reads XLogData and keepalive headers', () => {
    const w = Buffer.alloc(28);
    w[0] = 0x77;
    w.writeBigUInt64BE(0x1_00000010n, 1);
    w.writeBigUInt64BE(0x1_00000020n, 9);
    w.write('abc', 25);
    const data = parseServerMessage(w);
    expect(data).toMatchObject({ type: 'data', start: parseLsn('1/10'), walEnd: parseLsn('1/20') });
    expect(data?.type === 'data' && data.payload.toString()).toBe('abc');

    const k = Buffer.alloc(18);
    k[0] = 0x6b;
    k.writeBigUInt64BE(0xabcdefn, 1);
    k[17] = 1;
    expect(parseServerMessage(k)).toEqual({
      type: 'keepalive',
      walEnd: parseLsn('0/ABCDEF'),
      replyRequested: true,
    });
    expect(parseServerMessage(Buffer.from([0x78]))).toBeUndefined();
  });

  it('confirms exactly the given LSN (no +1, which could skip a commit starting right there) with a 2000-epoch clock', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const buf = standbyStatus(parseLsn('2/FFFFFFFF'), now, true);
    expect(buf.length).toBe(34);
    expect(buf[0]).toBe(0x72);
    for (const at of [1, 9, 17]) expect(buf.readBigUInt64BE(at)).toBe(parseLsn('2/FFFFFFFF'));
    expect(buf.readBigInt64BE(25)).toBe(BigInt(now.getTime() - Date.UTC(2000, 0, 1)) * 1000n);
    expect(buf[33]).toBe(1);
  });

  it('frames backend messages however the reads split them, in order and byte-exact', () => {
    const message = (type: string, body: Buffer) => {
      const head = Buffer.alloc(5);
      head.write(type, 0);
      head.writeUInt32BE(body.length + 4, 1);
      return Buffer.concat([head, body]);
    };
    const bodies = [Buffer.from('w-first'), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from('k')];
    const wire = Buffer.concat(bodies.map((b, i) => message(i === 1 ? 'E' : 'd', b)));
    const framed = (cuts: number[]) => {
      const got: string[] = [];
      const framer = new MessageFramer((type, buf, start, end) =>
        got.push(`${String.fromCharCode(type)}:${buf.subarray(start, end).toString('hex')}`),
      );
      let at = 0;
      for (const cut of [...cuts, wire.length]) {
        framer.push(wire.subarray(at, cut));
        at = cut;
      }
      return got;
    };
    const whole = framed([]);
    expect(whole).toEqual(bodies.map((b, i) => `${i === 1 ? 'E' : 'd'}:${b.toString('hex')}`));
    // Every split point, one at a time, and the wire a few bytes per read.
    for (let cut = 1; cut < wire.length; cut += cut < 40 ? 1 : 997) expect(framed([cut])).toEqual(whole);
    const small: number[] = [];
    for (let cut = 3; cut < wire.length; cut += 3) small.push(cut);
    expect(framed(small)).toEqual(whole);
    expect(() => new MessageFramer(() => undefined).push(Buffer.from([0x64, 0, 0, 0, 3]))).toThrow(
      'replication: a message of length 3',
    );
  });
});

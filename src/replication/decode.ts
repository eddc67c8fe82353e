import { readLsn, type Lsn } from '../pg/lsn.js';
import { UNCHANGED, type Change, type Relation, type ReplicaIdentity, type Value } from './change.js';

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000n;

const IDENTITY: Record<number, ReplicaIdentity> = {
  0x64: 'default', // d
  0x6e: 'nothing', // n
  0x66: 'full', // f
  0x69: 'index', // i
};

/**
 * Turns pgoutput payloads (the part of an XLogData message after its 25-byte header) into `Change`s, reading
 * the protocol-1 message formats (PostgreSQL docs, "Logical Replication Message Formats") straight from the
 * buffer. Every value stays the source's text, never reinterpreted; nothing is kept that points into the
 * buffer, so the caller may reuse it as soon as `decode` returns (the stream decodes each message in the
 * socket handler, without copying it).
 *
 * Why not pg-logical-replication's parser, which dts used before: it decodes values with node-postgres'
 * *global* type parsers (timestamptz would lose its microseconds), builds an object keyed by column name
 * for every tuple, and formats each LSN as a string that dts parses back; on a backlog of small transactions
 * that was most of the decoding time. Streaming of in-progress transactions (protocol 2) is not requested.
 */
export class PgoutputDecoder {
  private readonly relations = new Map<number, Relation>();
  /** Type messages (sent before the Relation of a table using a non-built-in type): oid -> schema.name. */
  private readonly types = new Map<number, string>();
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Where the message being decoded ends in `buf` (which may hold more messages after it). */
  private end = 0;

  /**
   * One Change, or undefined for messages dts has no use for (Type, Origin, logical messages). The
   * payload is `payload[start, end)`: the stream passes the socket's chunk as read, so nothing is sliced.
   */
  decode(payload: Buffer, start = 0, end = payload.length): Change | undefined {
    this.buf = payload;
    this.pos = start + 1;
    this.end = end;
    switch (payload[start]) {
      case 0x42: {
        // B: final LSN, commit time, xid
        const finalLsn = this.lsn('begin');
        this.pos += 8;
        return { kind: 'begin', finalLsn, xid: this.int32() };
      }
      case 0x43: {
        // C: flags, commit LSN, end LSN, commit time
        this.pos += 1;
        const finalLsn = this.lsn('commit');
        const lsn = this.lsn('commit end');
        return { kind: 'commit', lsn, finalLsn, commitTimeUs: this.int64() + PG_EPOCH_US };
      }
      case 0x52:
        return this.relationMessage();
      case 0x59: {
        // Y: type oid, namespace (empty for pg_catalog), name
        const oid = this.int32() >>> 0;
        const schema = this.string();
        const name = this.string();
        this.types.set(oid, `${schema || 'pg_catalog'}.${name}`);
        return undefined;
      }
      case 0x49: {
        // I: relation, 'N', tuple
        const relation = this.relation(this.int32());
        this.expect(0x4e);
        return { kind: 'insert', relation, values: this.tuple(relation, false) };
      }
      case 0x55: {
        // U: relation, optional 'K' key tuple or 'O' old tuple, 'N' new tuple
        const relation = this.relation(this.int32());
        let old: Value[] | undefined;
        const sub = this.byte();
        if (sub === 0x4b || sub === 0x4f) {
          old = this.tuple(relation, sub === 0x4b);
          this.expect(0x4e);
        } else if (sub !== 0x4e) throw this.unexpected(sub);
        return { kind: 'update', relation, old, values: this.tuple(relation, false) };
      }
      case 0x44: {
        // D: relation, 'K' key tuple or 'O' old tuple
        const relation = this.relation(this.int32());
        const sub = this.byte();
        if (sub !== 0x4b && sub !== 0x4f) throw this.unexpected(sub);
        return { kind: 'delete', relation, old: this.tuple(relation, sub === 0x4b) };
      }
      case 0x54: {
        // T: number of relations, options, relation ids
        const n = this.int32();
        const flags = this.byte();
        const relations: Relation[] = [];
        for (let i = 0; i < n; i++) {
          const id = this.int32();
          const r = this.relations.get(id);
          // pgoutput always sends the Relation first: a surprise here is a protocol error, not a skip.
          if (!r) throw new Error(`pgoutput: TRUNCATE names relation ${id >>> 0} that was never described`);
          relations.push(r);
        }
        return {
          kind: 'truncate',
          cascade: (flags & 1) === 1,
          restartIdentity: (flags & 2) === 2,
          relations,
        };
      }
      case 0x4f: // O: origin
      case 0x4d: // M: logical decoding message
        return undefined;
      default:
        throw new Error(`pgoutput: unknown message type 0x${(payload[start] ?? 0).toString(16)}`);
    }
  }

  private relationMessage(): Change {
    const id = this.int32();
    const schema = this.string();
    const name = this.string();
    const ident = this.byte();
    const replicaIdentity = IDENTITY[ident];
    if (!replicaIdentity) throw new Error(`pgoutput: unknown replica identity ${ident}`);
    const n = this.int16();
    const columns: Relation['columns'][number][] = [];
    for (let i = 0; i < n; i++) {
      const flags = this.byte();
      const column = this.string();
      const typeOid = this.int32() >>> 0;
      const typeMod = this.int32();
      columns.push({
        name: column,
        typeOid,
        typeMod,
        typeName: this.types.get(typeOid),
        key: (flags & 1) === 1,
      });
    }
    const relation: Relation = { id, schema, name, replicaIdentity, columns };
    this.relations.set(id, relation);
    return { kind: 'relation', relation };
  }

  private relation(id: number): Relation {
    const r = this.relations.get(id);
    if (!r) throw new Error(`pgoutput: change for relation ${id >>> 0} before its Relation message`);
    return r;
  }

  /**
   * A tuple, aligned with the relation's columns: text, null for NULL, UNCHANGED for an unchanged TOASTed
   * value ('u'). In a key tuple ('K') only the key columns mean anything: the others are sent as NULL
   * placeholders and become UNCHANGED.
   */
  private tuple(relation: Relation, keyOnly: boolean): Value[] {
    const { columns } = relation;
    const n = this.int16();
    if (n !== columns.length)
      throw new Error(
        `pgoutput: ${n} columns in a tuple of ${relation.schema}.${relation.name}, which has ${columns.length}`,
      );
    const buf = this.buf;
    const out = new Array<Value>(n);
    for (let i = 0; i < n; i++) {
      const kind = this.byte();
      if (kind === 0x74) {
        // t: length, text
        const len = this.int32();
        const end = this.pos + len;
        if (end > this.end) throw new Error('pgoutput: message ends inside a value');
        out[i] = keyOnly && !columns[i]!.key ? UNCHANGED : buf.toString('utf8', this.pos, end);
        this.pos = end;
      } else if (kind === 0x6e) out[i] = keyOnly && !columns[i]!.key ? UNCHANGED : null;
      else if (kind === 0x75) out[i] = UNCHANGED;
      else throw new Error(`pgoutput: unknown tuple value kind ${String(kind)}`);
    }
    return out;
  }

  private byte(): number {
    if (this.pos >= this.end) throw new Error('pgoutput: message ends early');
    return this.buf[this.pos++]!;
  }

  private expect(b: number): void {
    const got = this.byte();
    if (got !== b) throw this.unexpected(got);
  }

  private unexpected(b: number): Error {
    return new Error(`pgoutput: unexpected submessage 0x${b.toString(16)}`);
  }

  /** The message's own end bounds every read: the buffer may go on with the next message. */
  private need(bytes: number): void {
    if (this.pos + bytes > this.end) throw new Error('pgoutput: message ends early');
  }

  private int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  private int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  private int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  private string(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0 || end >= this.end) throw new Error('pgoutput: message ends inside a name');
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }

  private lsn(what: string): Lsn {
    this.need(8);
    const v = readLsn(this.buf, this.pos);
    this.pos += 8;
    if (v === 0n) throw new Error(`pgoutput: ${what} message without an LSN`);
    return v;
  }
}

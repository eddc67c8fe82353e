import { readLsn, type Lsn } from '../pg/lsn.js';

/**
 * The streaming-replication CopyBoth framing (PostgreSQL docs, "Streaming Replication Protocol"):
 * what the walsender sends (XLogData 'w', primary keepalive 'k') and the standby status update 'r' dts
 * sends back, and the backend messages around them. Functions over buffers, unit-tested without a server.
 */

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_MS = 946_684_800_000n;

export type ServerMessage =
  /** XLogData: a pgoutput payload. `start` is where its WAL starts (0/0 for Relation and Type messages). */
  | { readonly type: 'data'; readonly start: Lsn; readonly walEnd: Lsn; readonly payload: Buffer }
  /** Primary keepalive: `walEnd` is how far the walsender has decoded and sent. */
  | { readonly type: 'keepalive'; readonly walEnd: Lsn; readonly replyRequested: boolean };

/** The first byte of an XLogData message, and its header's size (type, start, end, send time): the payload follows. */
export const XLOG_DATA = 0x77;
export const XLOG_DATA_HEADER = 25;

/** Parse one CopyData chunk from the walsender; undefined for a message type this protocol does not know. */
export function parseServerMessage(chunk: Buffer): ServerMessage | undefined {
  switch (chunk[0]) {
    case XLOG_DATA: // 'w'
      return {
        type: 'data',
        start: readLsn(chunk, 1),
        walEnd: readLsn(chunk, 9),
        payload: chunk.subarray(XLOG_DATA_HEADER),
      };
    case 0x6b: // 'k'
      return { type: 'keepalive', walEnd: readLsn(chunk, 1), replyRequested: chunk[17] === 1 };
    default:
      return undefined;
  }
}

/**
 * A standby status update confirming `lsn` as written, flushed and applied. The walsender moves the
 * slot's confirmed_flush_lsn to exactly `lsn` (no "+1" as pg-logical-replication adds: the next
 * transaction's commit record may start at exactly the previous commit's end, and a confirmed position
 * one byte past it would make the server skip that transaction after a reconnect).
 */
export function standbyStatus(lsn: Lsn, now: Date, replyRequested = false): Buffer {
  const buf = Buffer.alloc(34);
  buf[0] = 0x72; // 'r'
  buf.writeBigUInt64BE(lsn, 1);
  buf.writeBigUInt64BE(lsn, 9);
  buf.writeBigUInt64BE(lsn, 17);
  buf.writeBigInt64BE((BigInt(now.getTime()) - PG_EPOCH_MS) * 1000n, 25);
  buf[33] = replyRequested ? 1 : 0;
  return buf;
}

/** The backend message type of CopyData ('d'), which carries every replication message. */
export const COPY_DATA = 0x64;

/** A backend message's type byte and where its body is: `buf[start, end)`. */
export type OnMessage = (type: number, buf: Buffer, start: number, end: number) => void;

/**
 * Splits a connection's bytes into backend messages (a type byte, then a length that counts itself) and
 * hands each over in place, without a copy; a message split over several reads is joined once, when its
 * last byte has arrived (joining at every read would make a large message quadratic).
 */
export class MessageFramer {
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** What the first incomplete message needs in all: its header until that is in, then all of it. */
  private need = 5;

  constructor(private readonly onMessage: OnMessage) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.partBytes > 0) {
      this.parts.push(chunk);
      this.partBytes += chunk.length;
      if (this.partBytes < this.need) return;
      buf = Buffer.concat(this.parts, this.partBytes);
      this.parts = [];
      this.partBytes = 0;
    }
    let pos = 0;
    for (;;) {
      if (buf.length - pos < 5) {
        this.need = 5;
        break;
      }
      const length = buf.readUInt32BE(pos + 1);
      if (length < 4) throw new Error(`replication: a message of length ${length}`);
      const end = pos + 1 + length;
      if (end > buf.length) {
        this.need = end - pos;
        break;
      }
      this.onMessage(buf[pos]!, buf, pos + 5, end);
      pos = end;
    }
    if (pos < buf.length) {
      this.parts = [buf.subarray(pos)];
      this.partBytes = buf.length - pos;
    }
  }
}

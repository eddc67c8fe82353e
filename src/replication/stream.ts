import type pg from 'pg';
import { DtsError, ExitCode } from '../errors.js';
import type { Connection } from '../pg/connect.js';
import { formatLsn, maxLsn, parseLsn, ZERO_LSN, type Lsn } from '../pg/lsn.js';
import type { Change } from './change.js';
import { PgoutputDecoder } from './decode.js';
import {
  COPY_DATA,
  MessageFramer,
  parseServerMessage,
  standbyStatus,
  XLOG_DATA,
  XLOG_DATA_HEADER,
} from './protocol.js';
import * as sql from './sql.js';

/**
 * What the stream hands to the sync loop, in exactly the order the walsender sent it: decoded changes and
 * keepalives (`walEnd`: how far the walsender has decoded and sent).
 */
export type StreamItem = Change | { readonly kind: 'keepalive'; readonly walEnd: Lsn };

export interface StreamOptions {
  readonly slot: string;
  readonly publication: string;
  /** Where to start: the last durably applied commit LSN (never the last received one). */
  readonly from: Lsn;
  /** How often a status update is sent unasked, so a long apply does not hit wal_sender_timeout. */
  readonly statusIntervalMs?: number;
  /** Pause reading the socket above this many buffered bytes (bounds memory whatever the source sends). */
  readonly highWaterBytes?: number;
}

/** Bounds of the gather pause, in ms (timers have a 1 ms grain), and the bytes that move it. */
const GATHER_MAX_MS = 4;
const GATHER_FULL_BYTES = 32 * 1024;
const GATHER_FEW_BYTES = 8 * 1024;

/**
 * The next gather pause. When nothing is buffered the stream leaves its socket unread for a moment before
 * it waits, so what the walsender sends meanwhile is read at once instead of waking dts (and the
 * walsender, which does the waking) for every few messages: over 30,000 wake-ups in a 9 s drain before, and
 * with them a tenth of the walsender's CPU (bench/README.md). The pause must stay short of filling the
 * socket's receive window (about 64 kB on loopback), or the walsender blocks and the pause becomes a
 * throttle (a fixed 20 ms cut the drain from 20,000 to 7,500 transactions a second). So the bytes that
 * arrived since the stream was last empty set the next pause: halved (down to none) when they neared the
 * window, doubled (up to GATHER_MAX_MS) when they were few. At most 4 ms are added to the lag.
 */
export function nextGatherMs(ms: number, bytes: number): number {
  if (bytes >= GATHER_FULL_BYTES) return ms <= 1 ? 0 : ms / 2;
  if (bytes < GATHER_FEW_BYTES) return ms === 0 ? 1 : Math.min(GATHER_MAX_MS, ms * 2);
  return ms;
}

interface Connected {
  readonly connection: {
    sendCopyFromChunk(chunk: Buffer): void;
    stream: { pause(): void; resume(): void };
  };
}

/**
 * One START_REPLICATION session over our own pg connection (pg-logical-replication's service is not
 * used: its timer confirms everything *received* even with `auto: false` (#174), it confirms lsn+1, never
 * answers keepalive requests and has no flow control without auto-acknowledging; its pgoutput parser is
 * not used either, see decode.ts). Each data message is decoded as it arrives, into the queue.
 *
 * What the server is told is `confirmed`, which only `confirm()` moves, forward only. Keepalive requests are
 * answered at once from the socket handler with that position, and a status update is sent every
 * `statusIntervalMs` anyway, so neither an idle source nor a long target transaction (while the socket is
 * paused and requests sit unread) ends the session. Data and keepalives are queued in arrival order;
 * reading pauses above `highWaterBytes` and resumes below half of it.
 */
export class ReplicationStream {
  /**
   * Items from `head` on are queued. Not Array.shift(): on an array of many thousand items (a backlog
   * fills 16 MB with small messages) every shift moves the whole array, and applying a backlog became
   * quadratic; the consumed front is cut off once it is most of the array instead.
   */
  private queue: StreamItem[] = [];
  /** The message size of each queued item (a keepalive counts 0), for flow control. */
  private sizes: number[] = [];
  private head = 0;
  private queuedBytes = 0;
  private paused = false;
  private failure: unknown;
  private ended = false;
  private wake: (() => void) | undefined;
  private confirmed: Lsn;
  private timer: NodeJS.Timeout | undefined;
  private readonly high: number;
  /** The current gather pause (nextGatherMs), and the bytes received since the stream was last empty. */
  private gatherMs = 1;
  private gathered = 0;
  /** One per session: pgoutput sends each Relation again on a new connection. */
  private readonly decoder = new PgoutputDecoder();

  private constructor(
    private readonly conn: Connection,
    initialConfirmed: Lsn,
    opts: StreamOptions,
  ) {
    this.confirmed = initialConfirmed;
    // Counted in message bytes, but what waits is decoded: a Change takes a few times its message's size.
    // Small on purpose: the socket's kernel buffers hold the walsender's output meanwhile, and what is
    // decoded but not yet applied lives long enough to outgrow V8's young generation (every minor
    // GC copies it, and it is promoted; with 1 MB, garbage collection was a quarter of dts's CPU in a
    // backlog drain).
    this.high = opts.highWaterBytes ?? 256 * 1024;
  }

  /** Check the slot, set output settings and start streaming on a `replication=database` connection. */
  static async open(conn: Connection, opts: StreamOptions): Promise<ReplicationStream> {
    const { client } = conn;
    const { rows } = await client.query(sql.slotInfo(opts.slot));
    const slot = rows[0] as
      | { plugin: string; database: string; confirmed_flush_lsn: string | null; active_pid: string | null }
      | undefined;
    if (!slot)
      throw new DtsError('no-slot', `source: the replication slot ${opts.slot} does not exist`, {
        hint: 'incremental sync continues from the slot the full load created; run the full load (mode: full+incremental) again',
        exitCode: ExitCode.source,
      });
    if (slot.plugin !== 'pgoutput' || slot.database !== conn.database)
      throw new DtsError(
        'wrong-slot',
        `source: the replication slot ${opts.slot} is for ${slot.plugin} in database ${slot.database}, not pgoutput in ${conn.database}`,
        {
          hint: 'drop that slot once nothing uses it and run the full load again',
          exitCode: ExitCode.source,
        },
      );
    // The server starts at max(from, confirmed_flush_lsn); report no less than that (a smaller flush
    // position would only make the server keep more WAL, but it reads as going backwards).
    const confirmedFlush = slot.confirmed_flush_lsn ? parseLsn(slot.confirmed_flush_lsn) : ZERO_LSN;
    for (const statement of sql.OUTPUT_SETTINGS) await client.query(statement);
    const stream = new ReplicationStream(conn, maxLsn(opts.from, confirmedFlush), opts);
    await stream.start(opts);
    return stream;
  }

  private get wire(): Connected['connection'] {
    return (this.conn.client as unknown as Connected).connection;
  }

  private start(opts: StreamOptions): Promise<void> {
    const client = this.conn.client as pg.Client;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      this.takeSocket();
      (client as unknown as { connection: { once(e: string, fn: () => void): void } }).connection.once(
        'replicationStart',
        () => {
          started = true;
          this.timer = setInterval(() => this.send(false), opts.statusIntervalMs ?? 10_000);
          this.timer.unref();
          resolve();
        },
      );
      client.query(sql.startReplication(opts.slot, opts.publication, opts.from)).then(
        () => this.fail(new Error('the source ended replication')),
        (e: unknown) => {
          if (!started) reject(e);
          this.fail(e);
        },
      );
      client.on('end', () => this.fail(new Error('Connection terminated')));
    });
  }

  /**
   * From START_REPLICATION on, the socket's bytes are framed here: each CopyData message is decoded in
   * place, in the socket's chunk (node-postgres' parser made a message object and two events of each,
   * about a tenth of dts's CPU in a backlog drain, bench/README.md), and every other message (the
   * CopyBoth response, an error, the end of the stream) goes to node-postgres' own handler unchanged, in
   * order. Taken while the connection is idle (the last query has returned): node-postgres' parser holds
   * no partial message then.
   */
  private takeSocket(): void {
    const socket = this.wire.stream as unknown as NodeJS.EventEmitter;
    const theirs = socket.listeners('data') as ((chunk: Buffer) => void)[];
    const framer = new MessageFramer((type, buf, start, end) => {
      if (type === COPY_DATA) {
        this.copyData(buf, start, end);
        return;
      }
      const message = buf.subarray(start - 5, end);
      for (const fn of theirs) fn(message);
    });
    socket.removeAllListeners('data');
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk);
      } catch (e) {
        this.fail(e);
        this.wire.stream.pause();
      }
    });
  }

  /** One CopyData message, `buf[start, end)`: XLogData is decoded into the queue, keepalives answered. */
  private copyData(buf: Buffer, start: number, end: number): void {
    if (this.failure !== undefined) return;
    if (buf[start] === XLOG_DATA) {
      // Decoded now, while the chunk is at hand: the Change holds only strings and numbers taken out of it.
      const change = this.decoder.decode(buf, start + XLOG_DATA_HEADER, end);
      if (change) this.push(change, end - start);
      return;
    }
    const msg = parseServerMessage(buf.subarray(start, end));
    if (msg?.type !== 'keepalive') return;
    if (msg.replyRequested) this.send(false);
    this.push({ kind: 'keepalive', walEnd: msg.walEnd }, 0);
  }

  private push(item: StreamItem, bytes: number): void {
    this.gathered += bytes;
    this.queue.push(item);
    this.sizes.push(bytes);
    this.queuedBytes += bytes;
    if (!this.paused && this.queuedBytes > this.high) {
      this.paused = true;
      this.wire.stream.pause();
    }
    this.notify();
  }

  private fail(e: unknown): void {
    if (this.ended) return;
    this.failure ??= e;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The next item if one is already buffered; throws once the session failed and the queue is drained. */
  poll(): StreamItem | undefined {
    if (this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      this.queuedBytes -= this.sizes[this.head]!;
      this.head++;
      if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.sizes = this.sizes.slice(this.head);
        this.head = 0;
      }
      if (this.paused && this.queuedBytes < this.high / 2) {
        this.paused = false;
        this.wire.stream.resume();
      }
      return item;
    }
    if (this.failure !== undefined && !this.ended) throw this.failure;
    return undefined;
  }

  /** Wait for the next item; undefined when `signal` aborts or `timeoutMs` passes first. */
  async next(signal?: AbortSignal, timeoutMs?: number): Promise<StreamItem | undefined> {
    const item = this.poll();
    if (item) return item;
    if (signal?.aborted || this.ended) return undefined;
    this.gatherMs = nextGatherMs(this.gatherMs, this.gathered);
    this.gathered = 0;
    if (this.gatherMs > 0 && !this.paused) {
      // Gather (nextGatherMs): what the walsender sends meanwhile waits in the kernel's socket buffer.
      // Reading is off: a timer, an abort, interrupt() or a failure ends the pause.
      const ms = Math.min(this.gatherMs, timeoutMs ?? this.gatherMs);
      this.wire.stream.pause();
      const woken = await this.sleep(ms, signal);
      if (!this.paused) this.wire.stream.resume();
      if (woken || signal?.aborted || this.ended) return this.poll();
      if (timeoutMs !== undefined) timeoutMs -= ms;
    }
    await this.sleep(timeoutMs, signal);
    return this.poll();
  }

  /** True when woken by notify() (data, a failure, interrupt()), false after `ms` or an abort. */
  private sleep(ms: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        this.wake = undefined;
        resolve(woken);
      };
      const aborted = () => done(false);
      const timer = ms === undefined ? undefined : setTimeout(aborted, ms);
      signal?.addEventListener('abort', aborted, { once: true });
      this.wake = () => done(true);
    });
  }

  /** End a wait in next() now (it returns what is buffered, maybe nothing). */
  interrupt(): void {
    this.notify();
  }

  /** What the slot has been told is durable. */
  get confirmedLsn(): Lsn {
    return this.confirmed;
  }

  /**
   * Tell the server everything up to `lsn` is durable on the target (or, for a heartbeat, that nothing
   * before it is still needed). Callers pass only positions that satisfy that; it never moves backwards.
   */
  confirm(lsn: Lsn): void {
    if (lsn <= this.confirmed) return;
    this.confirmed = lsn;
    this.send(false);
  }

  /** Ask the walsender for a keepalive now (it carries its current position). */
  ping(): void {
    this.send(true);
  }

  private send(replyRequested: boolean): void {
    if (this.ended || this.failure !== undefined || this.confirmed === ZERO_LSN) {
      if (!replyRequested || this.ended || this.failure !== undefined) return;
    }
    try {
      this.wire.sendCopyFromChunk(standbyStatus(this.confirmed, new Date(), replyRequested));
    } catch {
      // A broken socket surfaces as the START_REPLICATION query failing.
    }
  }

  /** Send the final position and close the connection (the server processes the update before the exit). */
  async close(): Promise<void> {
    if (this.ended) return;
    this.send(false);
    this.ended = true;
    clearInterval(this.timer);
    this.notify();
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      this.conn.close().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5_000))),
    ]);
    clearTimeout(timer);
    if (!closed) this.destroy();
  }

  /** Drop the connection without a goodbye, as a crash or a network failure would (for tests). */
  destroy(): void {
    clearInterval(this.timer);
    (
      this.conn.client as unknown as { connection: { stream: { destroy(): void } } }
    ).connection.stream.destroy();
  }

  /** For messages. */
  describe(): string {
    return `confirmed ${formatLsn(this.confirmed)}`;
  }
}

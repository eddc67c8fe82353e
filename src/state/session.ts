import type { Connection } from '../pg/connect.js';
import type { Queryable } from './store.js';

/**
 * The runner's own session on the target for `_dts` reads and writes (status figures, the cutover
 * request, holds) that outlives its connection: when the connection is lost (a target restart, a cut
 * network), the query in flight fails, and the next query opens a new connection first. Callers that poll
 * retry at their next tick; nothing here retries a statement by itself, so nothing runs twice.
 *
 * Queries run one at a time, in the order they were asked (like `serialized`).
 */
export class StateSession implements Queryable {
  private conn: Connection | undefined;
  private opening: Promise<Connection> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly open: () => Promise<Connection>,
    first?: Connection,
  ) {
    if (first) this.adopt(first);
  }

  private adopt(c: Connection): Connection {
    this.conn = c;
    c.client.on('end', () => {
      if (this.conn === c) this.conn = undefined;
    });
    return c;
  }

  private async connection(): Promise<Connection> {
    if (this.closed) throw new Error('the state session is closed');
    if (this.conn) return this.conn;
    this.opening ??= this.open()
      .then((c) => this.adopt(c))
      .finally(() => (this.opening = undefined));
    return this.opening;
  }

  readonly query = ((...args: unknown[]) => {
    const next = this.tail.then(async () => {
      const c = await this.connection();
      try {
        return await (c.client.query as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (e) {
        // A server error leaves the session usable; anything else (the socket is gone) does not.
        if (!(e as { severity?: unknown })?.severity || lost(e)) this.drop(c);
        throw e;
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }) as Queryable['query'];

  private drop(c: Connection): void {
    if (this.conn === c) this.conn = undefined;
    void c.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
    const c = this.conn;
    this.conn = undefined;
    await c?.close();
  }
}

/** A server error that ends the session (admin shutdown, crash recovery, connection failure classes). */
function lost(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P'));
}

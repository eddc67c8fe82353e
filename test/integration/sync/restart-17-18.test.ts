import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncDatabase } from '../../../src/replication/index.js';
import type { Connection } from '../../../src/pg/connect.js';
import type { ReplicationStream } from '../../../src/replication/stream.js';
import { startServer, type TestServer } from '../../harness/pg-server.js';
import { currentLsn, prepare, restartServer, rowsOf, storedPosition } from './helpers.js';
import { SHAPES_DDL, SHAPES_TABLES, shapesWorkload, TYPES_DDL, typesWorkload } from './workloads.js';

let source: TestServer;
let target: TestServer;

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 17 }), startServer({ version: 18 })]);
});
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

/** An insert-only log without unique constraints (a repeated transaction shows as a duplicate row). */
const LOG_DDL = `
CREATE TABLE log (writer int, seq int, note text);
ALTER TABLE log REPLICA IDENTITY FULL;
CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL);
INSERT INTO counters SELECT g, 0 FROM generate_series(1, 10) g;
`;

/** Many small transactions with a few large ones between them. */
async function backlog(database: string, transactions: number): Promise<void> {
  await source.query(
    `DO $$ BEGIN
       FOR i IN 1..${transactions} LOOP
         IF i % 500 = 0 THEN
           INSERT INTO log SELECT -1, i, 'bulk' FROM generate_series(1, 2000);
         ELSE
           INSERT INTO log VALUES (1, i, 'one');
           UPDATE counters SET n = n + i WHERE id = i % 10 + 1;
         END IF;
         COMMIT;
       END LOOP;
     END $$`,
    [],
    database,
  );
}

const random = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

async function expectEqual(database: string, tables: readonly string[]) {
  for (const t of tables)
    expect(await rowsOf(target, database, t), t).toEqual(await rowsOf(source, database, t));
}

describe('incremental sync 17 -> 18', () => {
  it('applies every table shape with partitions published via the root', async () => {
    const { task, start } = await prepare(source, target, 'shapes', SHAPES_DDL, { viaRoot: true });
    await shapesWorkload(source, 'shapes');
    await syncDatabase(task, 'shapes', { fromLsn: start, stopAt: await currentLsn(source, 'shapes') });
    await expectEqual('shapes', SHAPES_TABLES);
  });

  it('carries every data type exactly', async () => {
    const { task, start } = await prepare(source, target, 'types', TYPES_DDL);
    await typesWorkload(source, 'types');
    await syncDatabase(task, 'types', { fromLsn: start, stopAt: await currentLsn(source, 'types') });
    await expectEqual('types', ['types', 'types_full']);
  });

  it('stops cleanly on abort at random points and resumes without skipping or repeating a transaction', async () => {
    const { task, start } = await prepare(source, target, 'aborts', LOG_DDL);
    await backlog('aborts', 3000);
    const stopAt = await currentLsn(source, 'aborts');
    const positions: bigint[] = [];
    for (let i = 0; i < 4; i++) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), random(20, 300));
      const r = await syncDatabase(task, 'aborts', { fromLsn: start, stopAt, signal: ac.signal });
      positions.push(r.appliedLsn);
      expect((await storedPosition(target, 'aborts')) ?? start).toBe(r.appliedLsn);
      if (r.stoppedBy === 'stopAt') break;
    }
    const final = await syncDatabase(task, 'aborts', { fromLsn: start, stopAt });
    expect(final.stoppedBy).toBe('stopAt');
    await expectEqual('aborts', ['log', 'counters']);
    console.log(`aborted at ${positions.length} points, then finished (${positions.join(', ')})`);
  });

  it('survives connections cut without a clean stop (source and target), reconnecting from the stored position', async () => {
    const { task, start } = await prepare(source, target, 'cuts', LOG_DDL);
    await backlog('cuts', 3000);
    const stopAt = await currentLsn(source, 'cuts');
    let cuts = 0;
    const onSession = ({ stream, target: t }: { stream: ReplicationStream; target: Connection }) => {
      if (cuts >= 3) return;
      setTimeout(
        () => {
          cuts++;
          if (cuts % 2 === 1) stream.destroy();
          else
            (
              t.client as unknown as { connection: { stream: { destroy(): void } } }
            ).connection.stream.destroy();
        },
        random(20, 250),
      );
    };
    const r = await syncDatabase(task, 'cuts', { fromLsn: start, stopAt, onSession });
    expect(r.stoppedBy).toBe('stopAt');
    expect(r.reconnects).toBeGreaterThanOrEqual(1);
    await expectEqual('cuts', ['log', 'counters']);
  });

  it('reconnects with backoff when the source crashes and restarts mid-stream', async () => {
    const { task, start } = await prepare(source, target, 'restart', LOG_DDL);
    await backlog('restart', 3000);
    await source.query('CHECKPOINT'); // synchronous_commit is off here: make the backlog crash-safe first
    const stopAt = await currentLsn(source, 'restart');
    let restarted = false;
    let restart: Promise<void> | undefined;
    const r = await syncDatabase(task, 'restart', {
      fromLsn: start,
      stopAt,
      onSession: () => {
        if (restarted) return;
        restarted = true;
        restart = restartServer(source, 'immediate');
      },
    });
    await restart;
    expect(r.reconnects).toBeGreaterThanOrEqual(1);
    await expectEqual('restart', ['log', 'counters']);
  });
});

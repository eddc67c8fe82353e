import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFullLoad, type FullLoadEvent } from '../../../src/copy/index.js';
import { DtsError } from '../../../src/errors.js';
import { TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';
import { digest, fullTask } from './helpers.js';

let source: TestServer;
let target: TestServer;

beforeAll(async () => {
  process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await source.query('CREATE DATABASE gap');
  await source.query(
    `CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 5000) g`,
    [],
    'gap',
  );
  await target.query('CREATE DATABASE gapped');
  await target.query('CREATE DATABASE moving');
});

afterAll(async () => {
  await Promise.all([source, target].filter(Boolean).map((s) => s.stop()));
});

const published = async () =>
  (
    await source.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_publication_tables ORDER BY 1`,
      [],
      'gap',
    )
  ).rows.map((r) => r.t);

describe('full+incremental: the tables copied are the tables published, both as of the snapshot', () => {
  it('a table created between the publication and the slot: the snapshot is taken again, and the table is in both', async () => {
    const task = {
      ...fullTask(source, 'gap', target, 'gapped', {}, 'gap'),
      mode: 'full+incremental' as const,
    };
    const events: FullLoadEvent[] = [];
    let calls = 0;
    const report = await runFullLoad(task, {
      keepSlot: true,
      onEvent: (e) => events.push(e),
      afterPublication: async () => {
        if (calls++ > 0) return;
        // On the target too: a table the schema stage did not see is another matter (the copy needs it there).
        await target.query(`CREATE TABLE b (id int PRIMARY KEY, v text)`, [], 'gapped');
        await source.query(
          `CREATE TABLE b (id int PRIMARY KEY, v text); INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, 300) g`,
          [],
          'gap',
        );
      },
    });
    expect(report.ok).toBe(true);
    expect(calls).toBe(2);
    expect(events).toContainEqual({
      type: 'step',
      text: 'tables were created or dropped in gap while the snapshot was taken (public.b (new)); taking it again',
    });
    const copied = report.databases[0]!.tables.map((t) => `${t.schema}.${t.name}`).sort();
    expect(copied).toEqual(['public.a', 'public.b']);
    expect(await published()).toEqual(copied);
    for (const t of copied) expect(await digest(target, 'gapped', t), t).toBe(await digest(source, 'gap', t));
    // One slot: the first attempt's was dropped before the second was made.
    const slots = await source.query(`SELECT slot_name, temporary FROM pg_replication_slots`);
    expect(slots.rows).toEqual([{ slot_name: report.databases[0]!.slot, temporary: false }]);
    await source.query(`SELECT pg_drop_replication_slot($1)`, [report.databases[0]!.slot]);
  });

  it('tables that keep changing: it gives up after three snapshots with a clear error (exit 3) and no slot left', async () => {
    const task = {
      ...fullTask(source, 'gap', target, 'moving', {}, 'moving'),
      mode: 'full+incremental' as const,
    };
    let n = 0;
    const failure = await runFullLoad(task, {
      keepSlot: true,
      afterPublication: async () => {
        n++;
        await source.query(`CREATE TABLE moving_${n} (id int PRIMARY KEY)`, [], 'gap');
      },
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DtsError);
    const e = failure as DtsError;
    expect(e.message).toBe('source: the selected tables of gap kept changing while the snapshot was taken');
    expect(e.exitCode).toBe(3);
    expect(e.details, JSON.stringify(e.details)).toEqual(['changed: public.moving_3 (new)']);
    expect(n).toBe(3);
    expect((await source.query(`SELECT slot_name FROM pg_replication_slots`)).rows).toEqual([]);
  });
});

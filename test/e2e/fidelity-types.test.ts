import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { compareDatabases } from '../harness/compare.js';
import { openSession, startServer, type TestServer } from '../harness/pg-server.js';
import {
  BUILTIN,
  CUSTOM,
  CUSTOM_DDL,
  matrixInsert,
  matrixTable,
  TOAST_DDL,
  toastedInsert,
} from '../integration/fidelity/matrix.js';
import { env, startRun, statusUntil, taskFile } from '../integration/state/helpers.js';

let source: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-fidelity-e2e-'));
const DB = 'matrix';
/**
 * `scalar` has no array columns, box or composites: its batched updates and deletes go to the target as
 * one array per column (apply/sql.ts), the other keyed tables' as VALUES lists.
 */
const SCALAR = [...BUILTIN, ...CUSTOM].filter((c) => !['bx', 'pair', 'nest'].includes(c.col));
const MATRIX = [
  { table: 'custom', cases: CUSTOM, full: false, arrays: true },
  { table: 'custom_full', cases: CUSTOM, full: true, arrays: true },
  { table: 'builtin', cases: BUILTIN, full: false, arrays: true },
  { table: 'builtin_full', cases: BUILTIN, full: true, arrays: true },
  { table: 'scalar', cases: SCALAR, full: false, arrays: false },
];

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await source.query(`CREATE DATABASE ${DB}`);
  await source.query(
    [CUSTOM_DDL, ...MATRIX.map((m) => matrixTable(m.table, m.cases, m.full, m.arrays)), TOAST_DDL].join('\n'),
    [],
    DB,
  );
  for (const m of MATRIX)
    await source.query(matrixInsert(m.table, m.cases, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], m.arrays), [], DB);
  for (const t of ['toasted', 'toasted_full'])
    for (const id of [1, 2, 3]) await source.query(toastedInsert(t, id, 256, `${t}${id}`), [], DB);
  await source.query('ANALYZE', [], DB);
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

/** Inserts, updates (every column, and only the note or counter) and deletes on every matrix table. */
async function changes(): Promise<void> {
  const session = await openSession(source, DB);
  try {
    for (const m of MATRIX) {
      const cols = ['note', ...m.cases.flatMap((c) => (m.arrays ? [c.col, `${c.col}_a`] : [c.col]))];
      await session.query(
        matrixInsert(m.table, m.cases, [100, 101, 102, 103, 104, 105, 106, 107, 108, 109], m.arrays),
      );
      // Every value moves to another row: old rows are matched (FULL: by every column) and replaced.
      await session.query(
        `UPDATE ${m.table} d SET ${cols.map((c) => `${c} = s.${c}`).join(', ')}
       FROM ${m.table} s WHERE d.id BETWEEN 1 AND 9 AND s.id = d.id % 9 + 1`,
      );
      await session.query(`UPDATE ${m.table} SET note = 'only the note' WHERE id IN (0, 2, 103)`);
      await session.query(`DELETE FROM ${m.table} WHERE id IN (5, 100, 107)`);
      await session.query(matrixInsert(m.table, m.cases, [205, 300], m.arrays));
    }
    for (const t of ['toasted', 'toasted_full']) {
      // pgoutput leaves unchanged out-of-line values out of the new row: they must be kept, not nulled.
      await session.query(`UPDATE ${t} SET counter = counter + 1`);
      await session.query(`UPDATE ${t} SET t = t || 'x' WHERE id = 2`);
      await session.query(
        `BEGIN; UPDATE ${t} SET counter = counter + 10 WHERE id = 1; UPDATE ${t} SET j = j || '{"new": 1}' WHERE id = 1; COMMIT`,
      );
      await session.query(`DELETE FROM ${t} WHERE id = 3`);
      await session.query(toastedInsert(t, 4, 256, `${t}4`));
      await session.query(`UPDATE ${t} SET counter = counter + 100 WHERE id = 4`);
    }
  } finally {
    await session.end();
  }
}

describe('fidelity: every type through the full copy and incremental sync (14 -> 17)', () => {
  it('copies and syncs every built-in type, arrays, enum, domain, composite, range, multirange and out-of-line values exactly', async () => {
    const file = taskFile(dir, source, target, 'matrix', DB, DB, 'full+incremental');
    const run = startRun([file], { ...env, DTS_SYNC_PROGRESS_MS: '1000' });
    try {
      await statusUntil(file, (x) => x.condition === 'running' && x.phase === 'syncing', 120_000);
      // The full copy alone: the target equals the source as of the snapshot.
      const copied = await compareDatabases(source, DB, target, DB);
      expect(copied.differences).toEqual([]);
      expect(copied.tables).toHaveLength(7);
      expect(copied.rows).toBe(5 * 11 + 2 * 3);

      await changes();
      const c = await runDts(['complete', file], { env });
      expect(run.stderr()).not.toMatch(/^error:/m);
      expect(c.stderr).not.toMatch(/^error:/m);
      expect(c.code).toBe(0);
      const ended = await run.exited;
      expect(ended.stderr).not.toMatch(/^error:/m);
      expect(ended.code).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
    const synced = await compareDatabases(source, DB, target, DB);
    expect(synced.differences).toEqual([]);
    expect(synced.rows).toBe(5 * (11 + 10 - 3 + 2) + 2 * 3);
    // The large values really are out of line on the source (else this proves nothing about TOAST).
    const toast = await source.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM toasted WHERE pg_column_size(t) > 8000 AND pg_column_size(b) > 8000 AND pg_column_size(j) > 8000`,
      [],
      DB,
    );
    expect(toast.rows[0]!.n).toBe(3);
  });
});

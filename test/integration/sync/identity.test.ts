import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtsError } from '../../../src/errors.js';
import { syncDatabase } from '../../../src/replication/index.js';
import { startServer, type TestServer } from '../../harness/pg-server.js';
import { currentLsn, prepare, rowsOf } from './helpers.js';

let source: TestServer;
let target: TestServer;

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
});
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

/** Identity columns the target refuses explicit values for (GENERATED ALWAYS), keyed and not. */
const IDENTITY_DDL = `
CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE audit (seq int GENERATED ALWAYS AS IDENTITY, note text);
ALTER TABLE audit REPLICA IDENTITY FULL;
`;

describe('incremental sync of GENERATED ALWAYS identity columns (14 -> 17)', () => {
  it('inserts with the source values, updates other columns, deletes', async () => {
    const { task, start } = await prepare(source, target, 'ident', IDENTITY_DDL);
    await source.query(
      `INSERT INTO accounts (name) SELECT 'a' || g FROM generate_series(1, 20) g;
       INSERT INTO audit (note) SELECT 'n' || g FROM generate_series(1, 5) g;
       UPDATE accounts SET name = name || '!' WHERE id % 3 = 0;
       UPDATE audit SET note = note || '?' WHERE seq = 2;
       DELETE FROM accounts WHERE id = 7;
       DELETE FROM audit WHERE seq = 4;`,
      [],
      'ident',
    );
    const r = await syncDatabase(task, 'ident', {
      fromLsn: start,
      stopAt: await currentLsn(source, 'ident'),
    });
    expect(r.stoppedBy).toBe('stopAt');
    for (const t of ['accounts', 'audit']) {
      expect(await rowsOf(target, 'ident', t)).toEqual(await rowsOf(source, 'ident', t));
    }
    // The target's identity keeps generating after the copied values are in.
    expect((await rowsOf(target, 'ident', 'accounts')).length).toBe(19);
  });

  it('stops with a clear error when the source changes an ALWAYS identity value', async () => {
    const { task, start } = await prepare(source, target, 'ident2', IDENTITY_DDL);
    await source.query(
      `INSERT INTO audit (note) VALUES ('x'); UPDATE audit SET seq = DEFAULT WHERE note = 'x';`,
      [],
      'ident2',
    );
    const e = await syncDatabase(task, 'ident2', {
      fromLsn: start,
      stopAt: await currentLsn(source, 'ident2'),
    }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DtsError);
    expect((e as DtsError).message).toBe(
      'source: an UPDATE of public.audit changed its GENERATED ALWAYS identity column seq, which the target cannot take',
    );
  });
});

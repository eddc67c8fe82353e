import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../../../src/checks/validate.js';
import { TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';
import { problems, testTask } from './helpers.js';

let source: TestServer;
let target: TestServer;

beforeAll(async () => {
  process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;
  [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
  await source.query('CREATE DATABASE shop');
  await source.query(
    `CREATE TABLE public."Order Items" (id bigserial PRIMARY KEY, note text);
     INSERT INTO public."Order Items" (note) SELECT 'n' || g FROM generate_series(1, 100) g`,
    [],
    'shop',
  );
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('validate on a ready pair', () => {
  it('full+incremental 14 -> 17: ok, only the expected notes', async () => {
    const report = await validate(testTask({ source, target, sourceDb: 'shop' }));
    expect(problems(report)).toEqual([
      'info connection.tls source: the session is not encrypted (sslmode: disable)',
      'info connection.tls target: the session is not encrypted (sslmode: disable)',
      'info source.max_slot_wal_keep_size source: max_slot_wal_keep_size is -1 (unlimited): if the migration stops or lags, the slot keeps WAL until the source disk fills',
      'info objects.sequences shop: 1 sequence will be set at cutover (logical replication does not carry them)',
      'info objects.size shop: 1 table, 32 kB with indexes and TOAST',
    ]);
    expect(report.summary.fail + report.summary.error + report.summary.warn).toBe(0);
    expect(report.ok).toBe(true);
  });
});

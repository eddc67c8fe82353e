import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../../../src/checks/validate.js';
import { makeCa } from '../../harness/certs.js';
import { TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';
import { expectFinding, findings, problems, testTask } from './helpers.js';

/**
 * Server-level findings: versions, wal_level, slot and sender capacity, timeouts, TLS, and standbys.
 * `tight` (17) has TLS and too little room for two databases; `replica` (14) has wal_level = replica;
 * `newest` (18) is plain. At the end `replica` and `newest` are restarted as standbys.
 */
let tight: TestServer;
let replica: TestServer;
let newest: TestServer;

beforeAll(async () => {
  process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;
  const ca = makeCa();
  [tight, replica, newest] = await Promise.all([
    startServer({
      version: 17,
      tls: { cert: ca.serverCert, key: ca.serverKey },
      settings: {
        wal_sender_timeout: "'5s'",
        max_slot_wal_keep_size: "'1GB'",
        max_replication_slots: '1',
        max_wal_senders: '1',
      },
    }),
    startServer({ version: 14, settings: { wal_level: 'replica' } }),
    startServer({ version: 18 }),
  ]);
  for (const s of [tight, replica, newest]) {
    await s.query('CREATE DATABASE a');
    await s.query('CREATE DATABASE b');
    for (const db of ['a', 'b']) await s.query('CREATE TABLE public.t (id int PRIMARY KEY)', [], db);
  }
});

afterAll(async () => {
  await Promise.all([tight?.stop(), replica?.stop(), newest?.stop()]);
});

const twoDatabases = {
  databases: [
    { name: 'a', include: [], exclude: [] },
    { name: 'b', include: [], exclude: [] },
  ],
};

describe('validate: server configuration', () => {
  it('17 -> 14 fails the version; tight settings fail slots and senders, warn timeouts; TLS is reported', async () => {
    const report = await validate(
      testTask({
        source: tight,
        target: replica,
        sourceDb: 'a',
        objects: twoDatabases,
        sourceOverrides: { sslmode: 'require' },
        targetOverrides: { sslmode: 'prefer' },
      }),
    );
    expectFinding(report, 'target.version', 'fail', 'the target runs PostgreSQL 14.', 'target');
    expectFinding(
      report,
      'source.replication_slots',
      'fail',
      '1 of max_replication_slots = 1 free, but dts needs 2 (one per database)',
      'source',
    );
    expectFinding(
      report,
      'source.wal_senders',
      'fail',
      '1 of max_wal_senders = 1 free, but dts needs 2 (one per database)',
      'source',
    );
    expectFinding(report, 'source.wal_sender_timeout', 'warn', 'wal_sender_timeout is 5000 ms', 'source');
    const keep = expectFinding(
      report,
      'source.max_slot_wal_keep_size',
      'warn',
      'max_slot_wal_keep_size is 1024 MB',
      'source',
    );
    expect(keep.fix).toContain('raise max_slot_wal_keep_size');
    expectFinding(report, 'connection.tls', 'pass', 'the session is encrypted (TLSv1.3)', 'source');
    expectFinding(
      report,
      'connection.tls',
      'warn',
      'the session is not encrypted: the server did not offer TLS and sslmode is prefer',
      'target',
    );
    expect(report.ok).toBe(false);
  });

  it('wal_level = replica fails in full+incremental and full, and is not checked for structure (14 -> 18)', async () => {
    for (const mode of ['full+incremental', 'full'] as const) {
      const report = await validate(testTask({ source: replica, target: newest, sourceDb: 'a', mode }));
      const f = expectFinding(report, 'source.wal_level', 'fail', 'wal_level is replica', 'source');
      expect(f.fix).toBe('set wal_level = logical in postgresql.conf and restart the source');
      expect(findings(report, 'target.version')[0]!.severity).toBe('pass');
    }
    const structure = await validate(
      testTask({ source: replica, target: newest, sourceDb: 'a', mode: 'structure' }),
    );
    expect(structure.results.map((r) => r.id)).not.toContain('source.wal_level');
    // The only failure left: the target already has a.public.t (every server here got the same tables).
    expect(problems(structure).filter((p) => p.startsWith('fail') || p.startsWith('error'))).toEqual([
      'fail target.existing_objects a.public.t: a table with this name already exists in the target database',
    ]);
  });

  it('a standby source fails before 16, and from 16 on without hot_standby_feedback', async () => {
    await replica.restart('fast', { standby: true });
    await newest.restart('fast', { standby: true });
    const old = await validate(testTask({ source: replica, target: tight, sourceDb: 'a' }));
    expectFinding(
      old,
      'source.recovery',
      'fail',
      'the source is a standby (in recovery) on PostgreSQL 14.',
      'source',
    );
    const recent = await validate(
      testTask({ source: newest, target: tight, sourceDb: 'a', targetOverrides: { sslmode: 'require' } }),
    );
    expectFinding(
      recent,
      'source.recovery',
      'fail',
      'the source is a standby with hot_standby_feedback = off: vacuum on the primary can remove catalog rows',
      'source',
    );
  });
});

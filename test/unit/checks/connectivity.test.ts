import { describe, expect, it } from 'vitest';
import { fact, noFact } from '../../../src/catalog/types.js';
import { sourceConnect, targetVersion, tls, replicationConnect } from '../../../src/checks/connectivity.js';
import { assess } from '../../../src/checks/run.js';
import { CHECKS } from '../../../src/checks/registry.js';
import { judge } from './assess.js';
import { facts, server, task } from './fixtures.js';

describe('connectivity', () => {
  it('a failed connection is a FAIL with the hint as fix', () => {
    const f = facts({
      sourceConnection: {
        ok: false,
        failure: { message: 'connection refused at db:5432', hint: 'check that the server is running' },
      },
    });
    expect(judge(sourceConnect, f, task())).toEqual([
      {
        severity: 'fail',
        object: 'source',
        message: 'connection refused at db:5432',
        fix: 'check that the server is running',
      },
    ]);
    expect(
      judge(
        replicationConnect,
        { ...f, replication: { ok: false, failure: { message: 'no pg_hba entry', hint: 'add a line' } } },
        task(),
      )[0],
    ).toMatchObject({
      severity: 'fail',
      message: 'no pg_hba entry',
    });
  });

  it.each([
    [140000, 170000, 'pass'],
    [170000, 170000, 'pass'],
    [170004, 140011, 'fail'],
  ])('source %i -> target %i: %s', (s, t, severity) => {
    const f = facts({ source: fact(server({ versionNum: s })), target: fact(server({ versionNum: t })) });
    expect(judge(targetVersion, f, task())[0]!.severity).toBe(severity);
  });

  it.each([
    [true, 'disable', 'pass', 'the session is encrypted (TLSv1.3)'],
    [false, 'disable', 'info', 'the session is not encrypted (sslmode: disable)'],
    [
      false,
      'prefer',
      'warn',
      'the session is not encrypted: the server did not offer TLS and sslmode is prefer',
    ],
  ] as const)('encrypted %s, sslmode %s: %s', (encrypted, sslmode, severity, message) => {
    const t = task();
    const f = facts({ source: fact(server({ encrypted, tlsVersion: encrypted ? 'TLSv1.3' : undefined })) });
    expect(judge(tls, f, { ...t, source: { ...t.source, sslmode } })[0]).toMatchObject({
      severity,
      message,
      object: 'source',
    });
  });
});

describe('the report', () => {
  it('a healthy pair is ok; a source that cannot be reached makes its checks error, never pass', () => {
    expect(assess(CHECKS, facts(), task()).ok).toBe(true);
    const down = facts({
      sourceConnection: { ok: false, failure: { message: 'refused', hint: undefined } },
      source: noFact('cannot connect to the source'),
      sourceSettings: noFact('cannot connect to the source'),
      sourceSlots: noFact('cannot connect to the source'),
      sourceActivity: noFact('cannot connect to the source'),
      sourceDatabases: noFact('cannot connect to the source'),
      selection: noFact('cannot connect to the source'),
    });
    const report = assess(CHECKS, down, task());
    expect(report.ok).toBe(false);
    expect(report.results.find((r) => r.id === 'source.connect')!.severity).toBe('fail');
    expect(report.results.find((r) => r.id === 'objects.replica_identity')!.findings).toEqual([
      {
        check: 'objects.replica_identity',
        severity: 'error',
        message: 'not run: cannot connect to the source',
      },
    ]);
    expect(report.summary.fail).toBe(1);
    expect(report.summary.pass).toBeGreaterThan(0); // target-only checks still judge the target
  });

  it('structure mode leaves out replication-only checks', () => {
    const ids = assess(CHECKS, facts(), task('structure')).results.map((r) => r.id);
    expect(ids).not.toContain('source.wal_level');
    expect(ids).not.toContain('source.privilege.publication');
    expect(ids).toContain('compat.extensions');
  });
});

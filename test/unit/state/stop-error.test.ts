import { describe, expect, it } from 'vitest';
import { describeStop } from '../../../src/cutover/sync.js';
import { DtsError, ExitCode } from '../../../src/errors.js';
import { diskFull, retryMessage, transient } from '../../../src/replication/sync.js';

/** A server error as node-postgres gives it. */
const serverError = (code: string, message: string) =>
  Object.assign(new Error(message), { code, severity: 'ERROR' });

const refused = (cause: Error & { code: string }) =>
  new DtsError(
    'apply-refused',
    `target: applying a change failed: ${cause.message} (SQLSTATE ${cause.code})`,
    {
      hint: 'fix the cause on the target, then run dts again',
      exitCode: ExitCode.target,
      cause,
    },
  );

describe('the error that stops a runner, for status', () => {
  it('keeps the message without its SQLSTATE suffix, the SQLSTATE from the cause, and the hint', () => {
    const e = refused(serverError('42501', 'permission denied for table items'));
    expect(describeStop(e)).toEqual({
      message: 'target: applying a change failed: permission denied for table items',
      sqlstate: '42501',
      hint: 'fix the cause on the target, then run dts again',
    });
  });

  it('an error without a server cause has no SQLSTATE', () => {
    const e = new DtsError('source-schema-changed', 'the source table changed', { hint: 'run the DDL' });
    expect(describeStop(e)).toEqual({
      message: 'the source table changed',
      sqlstate: undefined,
      hint: 'run the DDL',
    });
  });
});

describe('a full target disk', () => {
  const full = serverError('53100', 'could not extend file "base/5/16390": No space left on device');

  it('is retried like a lost connection, refused or at COMMIT', () => {
    expect(diskFull(refused(full))).toBe(true);
    expect(transient(refused(full))).toBe(true);
    expect(transient(full)).toBe(true);
    expect(transient(refused(serverError('42501', 'permission denied')))).toBe(false);
  });

  it('says so in status while sync retries', () => {
    expect(retryMessage(refused(full))).toBe(
      'target disk full: could not extend file "base/5/16390": No space left on device (SQLSTATE 53100); free space on the target (or move the table to another tablespace): sync retries and goes on',
    );
    expect(retryMessage(new Error('Connection terminated unexpectedly'))).toBe(
      'Connection terminated unexpectedly',
    );
  });
});

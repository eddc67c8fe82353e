import { describe, expect, it } from 'vitest';
import { DtsError } from '../../../src/errors.js';
import { passwordChoice, taskFromFlags, type CreateFlags } from '../../../src/cli/wizard/flags.js';
import { parseTask } from '../../../src/task/parse.js';
import { renderTaskFile } from '../../../src/task/write.js';

const base: CreateFlags = {
  name: 'shop',
  mode: 'full+incremental',
  source: 'postgresql://app@db1.internal:5432/shop?sslmode=require',
  target: 'postgresql://admin@shop.cloud.example/shop',
};

function problems(flags: CreateFlags): string[] {
  try {
    taskFromFlags(flags, {});
  } catch (e) {
    expect(e).toBeInstanceOf(DtsError);
    const err = e as DtsError;
    expect(err.exitCode).toBe(2);
    expect(err.hint).toBe(
      'pass them as flags (see dts create --help), or run dts create in a terminal to be asked',
    );
    return [err.message, ...err.details];
  }
  throw new Error('expected the flags to be rejected');
}

describe('taskFromFlags', () => {
  it('maps flags to a task file', () => {
    expect(
      taskFromFlags(
        {
          ...base,
          schedule: '2099-12-01T02:00:00+01:00',
          database: ['shop', 'billing'],
          include: ['public.*'],
          exclude: ['public.tmp_*', 'audit.*'],
        },
        {},
      ),
    ).toEqual({
      name: 'shop',
      schedule: '2099-12-01T02:00:00+01:00',
      mode: 'full+incremental',
      source: { url: 'postgresql://app@db1.internal:5432/shop?sslmode=require' },
      target: { url: 'postgresql://admin@shop.cloud.example/shop' },
      objects: {
        databases: ['shop', 'billing'],
        include: ['public.*'],
        exclude: ['public.tmp_*', 'audit.*'],
      },
    });
  });

  it('writes no objects section when nothing is selected, and databases: all on request', () => {
    expect(taskFromFlags(base, {}).objects).toBeUndefined();
    expect(taskFromFlags({ ...base, allDatabases: true }, {}).objects).toEqual({ databases: 'all' });
  });

  it('turns a password in a URL into a variable reference', () => {
    const task = taskFromFlags(
      {
        ...base,
        source: 'postgresql://app:s%40cret-1@db1:5432/shop?sslmode=require',
        target: 'postgresql://admin:other-2@t/shop',
        targetPasswordEnv: 'CLOUD_PW',
      },
      {},
    );
    expect(task.source).toEqual({
      url: 'postgresql://app@db1:5432/shop?sslmode=require',
      password: '${DTS_SOURCE_PASSWORD}',
    });
    expect(task.target).toEqual({ url: 'postgresql://admin@t/shop', password: '${CLOUD_PW}' });
    expect(JSON.stringify(task)).not.toMatch(/s%40cret|s@cret|other-2/);
  });

  it('writes the password only with --plaintext-passwords', () => {
    const task = taskFromFlags(
      { ...base, source: 'postgresql://app:s%40cret-1@db1/shop', plaintextPasswords: true },
      {},
    );
    expect(task.source).toEqual({ url: 'postgresql://app@db1/shop', password: 's@cret-1' });
  });

  it('the written file loads into the intended task', () => {
    const file = taskFromFlags(
      { ...base, source: 'postgresql://app:pw@db1:5433/shop', include: ['public.*'] },
      {},
    );
    const task = parseTask(renderTaskFile(file, 'shop.yaml'), { file: '/t/shop.yaml', env: {} });
    expect(task.source).toMatchObject({
      host: 'db1',
      port: 5433,
      user: 'app',
      database: 'shop',
      password: { kind: 'env', variable: 'DTS_SOURCE_PASSWORD' },
    });
    expect(task.objects).toEqual({
      databases: [{ name: 'shop', include: [], exclude: [] }],
      include: ['public.*'],
      exclude: [],
    });
  });

  it("writes a standby source's primary under source, its URL password as a reference", () => {
    const task = taskFromFlags(
      {
        ...base,
        source: 'postgresql://app@replica1:5432/shop',
        sourcePrimary: 'postgresql://app:s%40cret-1@db0:5432/shop?sslmode=require',
      },
      {},
    );
    expect(task.source).toEqual({
      url: 'postgresql://app@replica1:5432/shop',
      primary: {
        url: 'postgresql://app@db0:5432/shop?sslmode=require',
        password: '${DTS_PRIMARY_PASSWORD}',
      },
    });
    expect(JSON.stringify(task)).not.toMatch(/s%40cret|s@cret/);
    const parsed = parseTask(renderTaskFile(task, 'shop.yaml'), { file: '/t/shop.yaml', env: {} });
    expect(parsed.sourcePrimary).toMatchObject({
      host: 'db0',
      port: 5432,
      user: 'app',
      database: 'shop',
      sslmode: 'require',
      password: { kind: 'env', variable: 'DTS_PRIMARY_PASSWORD' },
    });
  });

  it("the primary takes its own variable, else the source's password entry (a standby has its roles)", () => {
    const named = taskFromFlags(
      {
        ...base,
        source: 'postgresql://app:pw@replica1/shop',
        sourcePrimary: 'postgresql://app@db0/shop',
        sourcePrimaryPasswordEnv: 'PRIMARY_PW',
      },
      {},
    );
    expect(named.source.primary).toEqual({ url: 'postgresql://app@db0/shop', password: '${PRIMARY_PW}' });
    const same = taskFromFlags(
      { ...base, source: 'postgresql://app:pw@replica1/shop', sourcePrimary: 'postgresql://app@db0/shop' },
      {},
    );
    expect(same.source.primary).toEqual({
      url: 'postgresql://app@db0/shop',
      password: '${DTS_SOURCE_PASSWORD}',
    });
    const exported = taskFromFlags(
      { ...base, source: 'postgresql://app:pw@replica1/shop', sourcePrimary: 'postgresql://app@db0/shop' },
      { DTS_PRIMARY_PASSWORD: 'x' },
    );
    expect(exported.source.primary?.password).toBe('${DTS_PRIMARY_PASSWORD}');
    const plain = taskFromFlags(
      { ...base, sourcePrimary: 'postgresql://app:pw-0@db0/shop', plaintextPasswords: true },
      {},
    );
    expect(plain.source.primary).toEqual({ url: 'postgresql://app@db0/shop', password: 'pw-0' });
    expect(taskFromFlags({ ...base, sourcePrimary: 'postgresql://app@db0/shop' }, {}).source.primary).toEqual(
      {
        url: 'postgresql://app@db0/shop',
      },
    );
  });

  it('rejects a bad primary URL or variable, never quoting the URL', () => {
    expect(
      problems({ ...base, sourcePrimary: 'mysql://u:hunter2@h/db', sourcePrimaryPasswordEnv: '1PW' }),
    ).toEqual([
      'dts create: 2 options missing or invalid',
      '--source-primary: expected a postgresql:// URL',
      '--source-primary-password-env: expected a variable name (letters, digits and _)',
    ]);
    expect(problems({ ...base, sourcePrimary: '' })).toEqual([
      'dts create: 1 option missing or invalid',
      '--source-primary: must not be empty',
    ]);
    expect(problems({ ...base, sourcePrimaryPasswordEnv: 'PRIMARY_PW' })).toEqual([
      'dts create: 1 option missing or invalid',
      '--source-primary-password-env: give --source-primary too',
    ]);
  });

  it('lists everything missing at once', () => {
    expect(problems({})).toEqual([
      'dts create: 4 options missing or invalid',
      '--name: required (letters, digits, _ . -; e.g. --name shop)',
      '--mode: required (structure, full or full+incremental)',
      '--source: required (postgresql://user@host:port/database)',
      '--target: required (postgresql://user@host:port/database)',
    ]);
  });

  it('reports invalid values with the missing ones, never quoting a URL', () => {
    expect(
      problems({
        name: 'my shop',
        mode: 'fast',
        schedule: 'tomorrow',
        source: 'mysql://u:hunter2@h/db',
        sourcePasswordEnv: '1PW',
        database: ['a'],
        allDatabases: true,
        include: [''],
      }),
    ).toEqual([
      'dts create: 8 options missing or invalid',
      '--target: required (postgresql://user@host:port/database)',
      '--name: expected letters, digits, _ . - (at most 63), starting with a letter or digit',
      '--mode: expected one of: structure, full, full+incremental',
      '--schedule: expected an ISO-8601 time with an offset, e.g. 2026-12-01T02:00:00+01:00',
      '--source: expected a postgresql:// URL',
      '--source-password-env: expected a variable name (letters, digits and _)',
      '--all-databases: give --database or --all-databases, not both',
      '--include: must not be empty',
    ]);
  });

  it('rejects a schedule in the past (a typo, not a wish to start now)', () => {
    expect(problems({ ...base, schedule: '2020-01-01T00:00:00+00:00' })).toEqual([
      'dts create: 1 option missing or invalid',
      '--schedule: the time is in the past; leave --schedule out to start at once',
    ]);
  });

  it('rejects a schedule that has the right shape but is no date', () => {
    expect(problems({ ...base, schedule: '2026-13-45T02:00:00+01:00' })).toEqual([
      'dts create: 1 option missing or invalid',
      '--schedule: not a valid date and time',
    ]);
  });
});

describe('passwordChoice', () => {
  it('refers to the default variable when it is set, so export-then-create works', () => {
    expect(passwordChoice(undefined, undefined, false, 'source', { DTS_SOURCE_PASSWORD: 'x' })).toEqual({
      kind: 'env',
      variable: 'DTS_SOURCE_PASSWORD',
    });
    expect(passwordChoice(undefined, undefined, false, 'target', {})).toEqual({ kind: 'none' });
    expect(passwordChoice(undefined, 'PW', false, 'target', {})).toEqual({ kind: 'env', variable: 'PW' });
    expect(passwordChoice('p', undefined, false, 'target', {})).toEqual({
      kind: 'env',
      variable: 'DTS_TARGET_PASSWORD',
    });
    expect(passwordChoice('p', 'PW', true, 'target', {})).toEqual({ kind: 'plaintext', value: 'p' });
    expect(passwordChoice('p', undefined, false, 'primary', {})).toEqual({
      kind: 'env',
      variable: 'DTS_PRIMARY_PASSWORD',
    });
  });
});

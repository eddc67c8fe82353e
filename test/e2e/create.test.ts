import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTask } from '../../src/task/load.js';
import { runDts } from '../harness/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'dts-create-'));
const SOURCE = 'postgresql://app@db1.internal:5432/shop?sslmode=require';
const TARGET = 'postgresql://admin@shop.cloud.example:5432/shop';
const PASSWORD = 'Url-Secret-9d2%';

describe('dts create with flags (the built CLI)', () => {
  it('writes a task file that loads into the intended task', async () => {
    const r = await runDts(
      [
        'create',
        '--name',
        'shop',
        '--mode',
        'full+incremental',
        '--schedule',
        '2099-12-01T02:00:00+01:00',
        '--source',
        SOURCE,
        '--target',
        TARGET,
        '--database',
        'shop',
        '--database',
        'billing',
        '--include',
        'public.*',
        '--exclude',
        'public.tmp_*',
        '--target-password-env',
        'CLOUD_PW',
        '-o',
        'shop.yaml',
      ],
      { cwd: dir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Wrote shop.yaml\n' +
        'The file refers to passwords by variable; set them before dts validate and dts run:\n' +
        '  export CLOUD_PW=...\n' +
        'Next: dts validate shop.yaml\n',
    );
    const task = await loadTask(join(dir, 'shop.yaml'), {});
    expect(task).toMatchObject({
      name: 'shop',
      file: join(dir, 'shop.yaml'),
      mode: 'full+incremental',
      schedule: new Date('2099-12-01T01:00:00Z'),
      source: {
        host: 'db1.internal',
        port: 5432,
        user: 'app',
        database: 'shop',
        sslmode: 'require',
        password: { kind: 'default' },
      },
      target: {
        host: 'shop.cloud.example',
        port: 5432,
        user: 'admin',
        database: 'shop',
        password: { kind: 'env', variable: 'CLOUD_PW' },
      },
      objects: {
        databases: [
          { name: 'shop', include: [], exclude: [] },
          { name: 'billing', include: [], exclude: [] },
        ],
        include: ['public.*'],
        exclude: ['public.tmp_*'],
      },
    });
    expect(readFileSync(join(dir, 'shop.yaml'), 'utf8')).toMatch(/^# dts migration task "shop"/);
  });

  it("writes a standby source's primary, its URL password kept out as a reference", async () => {
    const r = await runDts(
      [
        'create',
        '--name',
        'replica',
        '--mode',
        'full+incremental',
        '--source',
        `postgresql://app:${encodeURIComponent(PASSWORD)}@replica1.internal:5432/shop`,
        '--source-primary',
        `postgresql://app:${encodeURIComponent(PASSWORD)}@db0.internal:5432/shop?sslmode=require`,
        '--source-primary-password-env',
        'PRIMARY_PW',
        '--target',
        TARGET,
      ],
      { cwd: dir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Wrote replica.yaml\n' +
        'The file refers to passwords by variable; set them before dts validate and dts run:\n' +
        '  export DTS_SOURCE_PASSWORD=...\n' +
        '  export PRIMARY_PW=...\n' +
        'Next: dts validate replica.yaml\n',
    );
    expect(readFileSync(join(dir, 'replica.yaml'), 'utf8')).toBe(
      `# dts migration task "replica", written by dts create.
# Check it:  dts validate replica.yaml
# Run it:    dts run replica.yaml
# Passwords are read from the environment when dts connects: export DTS_SOURCE_PASSWORD and PRIMARY_PW first.
# Every key is described in schema/task.schema.json.

name: replica
mode: full+incremental

source:
  url: postgresql://app@replica1.internal:5432/shop
  password: \${DTS_SOURCE_PASSWORD}
  primary:
    url: postgresql://app@db0.internal:5432/shop?sslmode=require
    password: \${PRIMARY_PW}

target:
  url: ${TARGET}
`,
    );
    expect(readFileSync(join(dir, 'replica.yaml'), 'utf8')).not.toContain(PASSWORD);
    const task = await loadTask(join(dir, 'replica.yaml'), {});
    expect(task.sourcePrimary).toMatchObject({
      host: 'db0.internal',
      port: 5432,
      user: 'app',
      database: 'shop',
      sslmode: 'require',
      password: { kind: 'env', variable: 'PRIMARY_PW' },
    });
  });

  it('off a terminal, lists every missing option at once: exit 2, no stack', async () => {
    const r = await runDts(['create', '--mode', 'full'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'error: dts create: 3 options missing or invalid\n' +
        '  --name: required (letters, digits, _ . -; e.g. --name shop)\n' +
        '  --source: required (postgresql://user@host:port/database)\n' +
        '  --target: required (postgresql://user@host:port/database)\n' +
        'hint: pass them as flags (see dts create --help), or run dts create in a terminal to be asked\n',
    );
  });

  it('never prompts without a terminal, even with no flags at all', async () => {
    const r = await runDts(['create'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: dts create: 4 options missing or invalid\n');
  });

  it('refuses to overwrite a file without --force', async () => {
    const file = join(dir, 'taken.yaml');
    writeFileSync(file, 'keep me\n');
    const args = ['create', '--name', 'taken', '--mode', 'full', '--source', SOURCE, '--target', TARGET];
    const r = await runDts(args, { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'error: taken.yaml already exists; dts create does not overwrite it\n' +
        'hint: pass --force to replace it, or -o to write the task somewhere else\n',
    );
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');
    const forced = await runDts([...args, '--force'], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('name: taken\n');
  });

  it('keeps a password given in a URL out of the file and the output', async () => {
    const encoded = encodeURIComponent(PASSWORD);
    const r = await runDts(
      [
        'create',
        '--name',
        'leak',
        '--mode',
        'full',
        '--source',
        `postgresql://app:${encoded}@db1.internal:5432/shop`,
        '--target',
        `postgresql://admin@shop.cloud.example/shop?password=${encoded}`,
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(0);
    const text = readFileSync(join(dir, 'leak.yaml'), 'utf8');
    for (const out of [text, r.stdout, r.stderr]) {
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain(encoded);
    }
    expect(r.stdout).toContain('  export DTS_SOURCE_PASSWORD=...\n  export DTS_TARGET_PASSWORD=...\n');
    const task = await loadTask(join(dir, 'leak.yaml'), {});
    expect(task.source.password).toEqual({ kind: 'env', variable: 'DTS_SOURCE_PASSWORD' });
    expect(task.target.password).toEqual({ kind: 'env', variable: 'DTS_TARGET_PASSWORD' });
  });

  it('writes a URL password only with --plaintext-passwords, warns, and keeps the file private', async () => {
    const r = await runDts(
      [
        'create',
        '--name',
        'plain',
        '--mode',
        'structure',
        '--source',
        `postgresql://app:${encodeURIComponent(PASSWORD)}@db1/shop`,
        '--target',
        TARGET,
        '--plaintext-passwords',
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(PASSWORD);
    expect(r.stderr).toBe(
      'warning: plain.yaml holds the source password in plain text; dts validate will warn about it ' +
        '(use a ${VAR} reference instead)\n',
    );
    expect(statSync(join(dir, 'plain.yaml')).mode & 0o777).toBe(0o600);
    const task = await loadTask(join(dir, 'plain.yaml'), {});
    expect(task.source.password.kind === 'inline' && task.source.password.value.reveal()).toBe(PASSWORD);
  });

  it('prints the file, the task without secrets and the exports under --json', async () => {
    const r = await runDts(
      [
        'create',
        '--json',
        '--name',
        'json',
        '--mode',
        'full',
        '--all-databases',
        '--source',
        `postgresql://app:${encodeURIComponent(PASSWORD)}@db1/postgres`,
        '--target',
        TARGET,
        '-o',
        join(dir, 'json-task.yaml'),
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      file: join(dir, 'json-task.yaml'),
      task: {
        name: 'json',
        mode: 'full',
        source: { url: 'postgresql://app@db1/postgres', password: '${DTS_SOURCE_PASSWORD}' },
        target: { url: TARGET },
        objects: { databases: 'all' },
      },
      exports: ['DTS_SOURCE_PASSWORD'],
    });
  });

  it('reports errors as JSON under --json', async () => {
    const r = await runDts(['create', '--json', '--name', 'x'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.details).toEqual([
      '--mode: required (structure, full or full+incremental)',
      '--source: required (postgresql://user@host:port/database)',
      '--target: required (postgresql://user@host:port/database)',
    ]);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { startServer, SUPERUSER_PASSWORD } from '../harness/pg-server.js';

const dir = mkdtempSync(join(tmpdir(), 'dts-cli-'));
const task = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('dts (the built CLI)', () => {
  it('prints help with the exit codes and exits 0', async () => {
    const r = await runDts(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: dts [options] [command]');
    for (const c of ['create', 'validate', 'run', 'status', 'cancel', 'complete'])
      expect(r.stdout).toContain(`  ${c}`);
    expect(r.stdout).toContain('Exit codes: 0 ok, 1 checks failed, 2 bad usage or task file');
  });

  it('exits 2 on an unknown command, with a suggestion', async () => {
    const r = await runDts(['valdate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown command 'valdate'");
    expect(r.stderr).toContain('(Did you mean validate?)');
  });

  it('dts complete of a task that never ran: exit 5, one line and a hint, no stack', async () => {
    const server = await startServer({ version: 17 });
    try {
      const f = task(
        'never.yaml',
        `name: never\nmode: full+incremental\nsource:\n  url: ${server.url('postgres')}\n  password: \${PW}\n  sslmode: disable\ntarget:\n  url: ${server.url('never_db')}\n  password: \${PW}\n  sslmode: disable\n`,
      );
      const r = await runDts(['complete', f], { env: { PW: SUPERUSER_PASSWORD } });
      expect(r.code).toBe(5);
      expect(r.stderr).toBe(
        'error: task never is not syncing (it has not run on this target); nothing to complete\n' +
          `hint: dts complete needs \`dts run ${f}\` running in phase syncing (mode: full+incremental); \`dts status ${f}\` shows where the task is\n`,
      );
    } finally {
      await server.stop();
    }
  });

  it('words a bad number the same way in every command: exit 2 before reading the task', async () => {
    const cases: [string[], string][] = [
      [
        ['complete', 'any.yaml', '--sequence-gap', '-3'],
        "error: option '--sequence-gap <n>' argument '-3' is invalid. expected a whole number, 0 or more\n",
      ],
      [
        ['complete', 'any.yaml', '--wait-for-lag', 'soon'],
        "error: option '--wait-for-lag <seconds>' argument 'soon' is invalid. expected a number of seconds, 0 or more\n",
      ],
      [
        ['complete', 'any.yaml', '--lag-timeout', '0'],
        "error: option '--lag-timeout <seconds>' argument '0' is invalid. expected a number of seconds above 0\n",
      ],
      [
        ['complete', 'any.yaml', '--timeout', ' '],
        "error: option '--timeout <seconds>' argument ' ' is invalid. expected a number of seconds above 0\n",
      ],
      [
        ['status', 'any.yaml', '--watch', '0'],
        "error: option '--watch [seconds]' argument '0' is invalid. expected a number of seconds above 0\n",
      ],
      [
        ['verify', 'any.yaml', '--examples', '1.5'],
        "error: option '--examples <n>' argument '1.5' is invalid. expected a whole number, 0 or more\n",
      ],
    ];
    for (const [args, stderr] of cases) {
      const r = await runDts(args, { cwd: dir });
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        args,
        code: 2,
        stdout: '',
        stderr,
      });
    }
  });

  it('reports a malformed task file with lines, exit 2, no stack trace', async () => {
    const f = task(
      'bad.yaml',
      'name: shop\nmode: full\nsource:\n  host: a\n  prot: 5432\ntarget: {host: b}\n',
    );
    const r = await runDts(['validate', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error: ${f}: the task file is not valid (1 problem)\n` +
        '  source.prot (line 5): unknown key; did you mean "port"?\n' +
        'hint: fix the lines above; `dts create` writes a valid task and schema/task.schema.json helps editors\n',
    );
  });

  it('reports broken YAML syntax with its line', async () => {
    const f = task('broken.yaml', 'name: shop\nmode: full\nsource: {host: a\ntarget: {host: b}\n');
    const r = await runDts(['validate', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: .*broken\.yaml: the task file is not valid YAML \(\d problems?\)\n {2}\(file\) \(line \d\): /,
    );
    expect(r.stderr).not.toContain('    at ');
  });

  it('prints errors as JSON under --json', async () => {
    const r = await runDts(['validate', '--json', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'task-unreadable',
        message: `task file not found: ${join(dir, 'nope.yaml')}`,
        hint: 'check the path; `dts create` writes a new task file',
        details: [],
      },
    });
  });

  it('uses no colour when NO_COLOR is set, even when forced', async () => {
    const r = await runDts(['validate', join(dir, 'nope.yaml')], {
      env: { NO_COLOR: '1', FORCE_COLOR: '1' },
    });
    expect(r.stderr).not.toContain('\u001b[');
    const colored = await runDts(['validate', join(dir, 'nope.yaml')], { env: { FORCE_COLOR: '1' } });
    expect(colored.stderr).toContain('\u001b[');
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../harness/pg-server.js';

let source: TestServer;
let replicaOnly: TestServer;
let target: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-validate-e2e-'));
const env = { DTS_SOURCE_PASSWORD: SUPERUSER_PASSWORD, DTS_TARGET_PASSWORD: SUPERUSER_PASSWORD };

beforeAll(async () => {
  [source, replicaOnly, target] = await Promise.all([
    startServer({ version: 14 }),
    startServer({ version: 14, settings: { wal_level: 'replica' } }),
    startServer({ version: 17 }),
  ]);
  for (const s of [source, replicaOnly]) {
    await s.query('CREATE DATABASE shop');
    await s.query(
      'CREATE TABLE public.orders (id bigint PRIMARY KEY, note text); INSERT INTO public.orders VALUES (1, $$a$$)',
      [],
      'shop',
    );
  }
});

afterAll(async () => {
  await Promise.all([source?.stop(), replicaOnly?.stop(), target?.stop()]);
});

function taskFile(name: string, src: TestServer, extra = ''): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(
    f,
    `name: ${name}
mode: full+incremental
source:
  url: ${src.url('shop')}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
target:
  url: ${target.url('shop')}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
${extra}`,
  );
  return f;
}

const allOutput = (r: { stdout: string; stderr: string }) => r.stdout + r.stderr;

describe('dts validate against real servers', () => {
  it('passes a ready source and target: exit 0, table of findings, no secret in the output', async () => {
    const r = await runDts(['validate', taskFile('ready', source)], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ready \(full\+incremental\)\n/);
    expect(r.stdout).toMatch(/ PASS {2}source\.wal_level/);
    expect(r.stdout).toMatch(/0 failed, \d+ notes, 0 could not run: ready to run\n$/);
    expect(allOutput(r)).not.toContain(SUPERUSER_PASSWORD);
  });

  it('fails a source with wal_level=replica: exit 1 and the fix', async () => {
    const r = await runDts(['validate', taskFile('walreplica', replicaOnly)], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ FAIL {2}source\.wal_level +.*wal_level is replica/);
    expect(r.stdout).toContain('set wal_level = logical in postgresql.conf and restart the source');
    expect(r.stdout).toMatch(/not ready: fix the FAIL lines above\n$/);
  });

  it('prints the same report as JSON', async () => {
    const r = await runDts(['validate', '--json', taskFile('walreplica-json', replicaOnly)], { env });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      mode: string;
      results: { id: string; severity: string }[];
    };
    expect(report.ok).toBe(false);
    expect(report.mode).toBe('full+incremental');
    expect(report.results.find((c) => c.id === 'source.wal_level')?.severity).toBe('fail');
    expect(allOutput(r)).not.toContain(SUPERUSER_PASSWORD);
  });

  it('turns a wrong password into a FAIL finding, not a crash, and never prints it', async () => {
    const r = await runDts(['validate', taskFile('badpw', source)], {
      env: { ...env, DTS_SOURCE_PASSWORD: 'not-the-Password-42' },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `password authentication failed for user "postgres" at 127.0.0.1:${source.port}`,
    );
    expect(allOutput(r)).not.toContain('not-the-Password-42');
    expect(allOutput(r)).not.toContain('    at ');
  });

  it('warns about a password written in the task file, and never prints it', async () => {
    const f = taskFile('inline', source).replace('.yaml', '-inline.yaml');
    const text = readFileSync(taskFile('inline', source), 'utf8').replace(
      /password: \$\{DTS_SOURCE_PASSWORD\}/,
      `password: '${SUPERUSER_PASSWORD}'`,
    );
    writeFileSync(f, text);
    const r = await runDts(['validate', f], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      / WARN {2}task\.secrets +source: the password is written in the task file \(in password: or inside the url\)\n/,
    );
    expect(allOutput(r)).not.toContain(SUPERUSER_PASSWORD);
  });

  it('validates several task files in one call; exit 1 when any fails', async () => {
    const r = await runDts(['validate', taskFile('one', source), taskFile('two', replicaOnly)], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^one \(full\+incremental\)\n/);
    expect(r.stdout).toContain('\ntwo (full+incremental)\n');
  });
});

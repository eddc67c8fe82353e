import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DTS_BIN } from '../../harness/cli.js';
import { SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';

/** The passwords the task files below refer to. */
export const env = { DTS_SOURCE_PASSWORD: SUPERUSER_PASSWORD, DTS_TARGET_PASSWORD: SUPERUSER_PASSWORD };

/** A `dts run` in the background, with its output collected. */
export interface Background {
  readonly child: ChildProcess;
  /** What it printed on stderr so far. */
  stderr(): string;
  readonly exited: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
    stdout: string;
  }>;
}

export function startRun(args: readonly string[], runEnv: NodeJS.ProcessEnv): Background {
  const child = spawn(process.execPath, [DTS_BIN, 'run', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...runEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
    stdout: string;
  }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr, stdout })));
  return { child, exited, stderr: () => stderr };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * `dts status --json --watch` until `ok` holds for a snapshot (or fail after `ms`). One watching process
 * reads the status every 300 ms, rather than a new process per read; when it stops (the task settled, or
 * status failed, e.g. before `_dts` exists) a new one is started.
 */
export async function statusUntil(file: string, ok: (s: Json) => boolean, ms = 60_000): Promise<Json> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    const found = await new Promise<{ match: Json } | undefined>((resolve) => {
      const child = spawn(process.execPath, [DTS_BIN, 'status', file, '--json', '--watch', '0.3'], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let pending = '';
      let other = '';
      let stderr = '';
      let match: { match: Json } | undefined;
      const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, deadline - Date.now()));
      child.stdout!.on('data', (d: Buffer) => {
        pending += d.toString();
        let nl: number;
        while (match === undefined && (nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          // One snapshot a line; an error (status failed) comes as an indented JSON document instead.
          if (!line.startsWith('{"')) {
            other += line + '\n';
            continue;
          }
          last = JSON.parse(line);
          if (ok(last)) {
            match = { match: last };
            child.kill('SIGKILL');
          }
        }
      });
      child.stderr!.on('data', (d) => (stderr += d));
      child.on('close', () => {
        clearTimeout(timer);
        if (match === undefined && stderr + other + pending !== '') last = stderr + other + pending;
        resolve(match);
      });
    });
    if (found) return found.match;
    await new Promise((res) => setTimeout(res, 300));
  }
  throw new Error(`status never matched; last: ${JSON.stringify(last)}`);
}

export async function loadBig(server: TestServer, database: string): Promise<void> {
  await server.query(`CREATE DATABASE ${database}`);
  await server.query(
    `CREATE TABLE items (id int PRIMARY KEY, v text);
     INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 200000) g;
     CREATE TABLE log (n int, v text);
     INSERT INTO log SELECT g % 1000, md5(g::text) FROM generate_series(1, 50000) g;
     ANALYZE`,
    [],
    database,
  );
}

export function taskFile(
  d: string,
  src: TestServer,
  dst: TestServer,
  name: string,
  sourceDb: string,
  targetDb: string,
  mode: 'full' | 'full+incremental' = 'full',
): string {
  const f = join(d, `${name}.yaml`);
  writeFileSync(
    f,
    `name: ${name}
mode: ${mode}
source:
  url: ${src.url(sourceDb)}
  password: \${DTS_SOURCE_PASSWORD}
  sslmode: disable
target:
  url: ${dst.url(targetDb)}
  password: \${DTS_TARGET_PASSWORD}
  sslmode: disable
options:
  parallel: 2
  splitTableBytes: 256kB
`,
  );
  return f;
}

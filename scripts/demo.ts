// `npm run demo`: two throwaway PostgreSQL servers (source 14, target 17) from npm's binaries, a sample
// database of dts's own fixtures in the source, and dts run against them the way a user would.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, SUPERUSER_PASSWORD } from '../test/harness/pg-server.js';

const root = new URL('..', import.meta.url).pathname;
/** The most this release can do end to end. */
const MODE = 'full';
const dts = (args: string[], env: NodeJS.ProcessEnv) => {
  console.log(`\n$ dts ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [join(root, 'bin/dts'), ...args], { stdio: 'inherit', env });
  return r.status ?? 1;
};

console.log('starting PostgreSQL 14 (source) and 17 (target) ...');
const [source, target] = await Promise.all([startServer({ version: 14 }), startServer({ version: 17 })]);
try {
  await source.query('CREATE DATABASE shop');
  for (const file of ['source-schema.sql', 'source-data.sql']) {
    await source.query(readFileSync(join(root, 'fixtures', file), 'utf8'), [], 'shop');
  }
  // Roles are global objects dts does not create yet: a DBA creates them on the target first.
  await target.query('CREATE ROLE dts_fixture_owner; CREATE ROLE dts_fixture_reader');
  console.log(`source: ${source.url('shop')}  target: ${target.url('shop')}`);
  const dir = mkdtempSync(join(tmpdir(), 'dts-demo-'));
  const task = join(dir, 'shop.yaml');
  const env = {
    ...process.env,
    DTS_SOURCE_PASSWORD: SUPERUSER_PASSWORD,
    DTS_TARGET_PASSWORD: SUPERUSER_PASSWORD,
  };
  let code = dts(
    [
      'create',
      '--name',
      'shop',
      '--mode',
      MODE,
      '--source',
      source.url('shop'),
      '--target',
      target.url('shop'),
      '--exclude',
      'nokey.*',
      '-o',
      task,
    ],
    env,
  );
  if (code === 0) {
    console.log(`\n${task}:\n${readFileSync(task, 'utf8')}`);
    code = dts(['validate', task], env);
  }
  if (code === 0) code = dts(['run', task], env);
  process.exitCode = code;
} finally {
  await Promise.all([source.stop(), target.stop()]);
}

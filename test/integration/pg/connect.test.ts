import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtsError, ExitCode } from '../../../src/errors.js';
import { connect, withConnection } from '../../../src/pg/connect.js';
import { Secret } from '../../../src/task/secret.js';
import { makeCa, type TestCa } from '../../harness/certs.js';
import { endpointFor, TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';
import { startBastion, type Bastion } from '../../harness/ssh-bastion.js';

let plain: TestServer;
let tls: TestServer;
let ca: TestCa;
let bastion: Bastion;
const dir = mkdtempSync(join(tmpdir(), 'dts-connect-'));

beforeAll(async () => {
  process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;
  ca = makeCa();
  [plain, tls, bastion] = await Promise.all([
    startServer({ version: 14 }),
    startServer({ version: 17, tls: { cert: ca.serverCert, key: ca.serverKey } }),
    startBastion(),
  ]);
});

afterAll(async () => {
  await Promise.all([plain?.stop(), tls?.stop(), bastion?.stop()]);
});

async function failure(p: Promise<unknown>): Promise<DtsError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DtsError);
  const err = e as DtsError;
  expect(`${err.message} ${err.hint}`).not.toContain(SUPERUSER_PASSWORD);
  return err;
}

const version = (c: { client: { query: (s: string) => Promise<{ rows: { v: string }[] }> } }) =>
  c.client.query("SELECT current_setting('server_version_num') AS v").then((r) => r.rows[0]!.v);

describe('connect', () => {
  it('logs in with a password from an environment reference', async () => {
    const v = await withConnection(endpointFor(plain), { side: 'source' }, version);
    expect(v).toMatch(/^14\d{4}$/);
  });

  it('logs in with an inline password and with a password file', async () => {
    const inline = endpointFor(plain, {
      password: { kind: 'inline', value: new Secret(SUPERUSER_PASSWORD) },
    });
    expect(await withConnection(inline, { side: 'source' }, version)).toMatch(/^14/);
    const file = join(dir, 'pw');
    writeFileSync(file, SUPERUSER_PASSWORD + '\n');
    expect(
      await withConnection(
        endpointFor(plain, { password: { kind: 'file', path: file } }),
        { side: 'source' },
        version,
      ),
    ).toMatch(/^14/);
  });

  it('reports a wrong password on one line with a hint, never the password', async () => {
    const e = await failure(
      connect(endpointFor(plain, { password: { kind: 'inline', value: new Secret('wrong-pw') } }), {
        side: 'target',
      }),
    );
    expect(e.message).toBe(
      `target: password authentication failed for user "postgres" at 127.0.0.1:${plain.port}`,
    );
    expect(e.exitCode).toBe(ExitCode.target);
    expect(e.message).not.toContain('wrong-pw');
  });

  it('names a missing environment variable', async () => {
    const e = await failure(
      connect(endpointFor(plain, { password: { kind: 'env', variable: 'DTS_NOT_SET_X' } }), {
        side: 'source',
      }),
    );
    expect(e.message).toBe('source: the environment variable DTS_NOT_SET_X is not set');
    expect(e.exitCode).toBe(ExitCode.source);
  });

  it('prompts once when the server wants a password and none is configured', async () => {
    const questions: string[] = [];
    const conn = await connect(endpointFor(plain, { password: { kind: 'default' } }), {
      side: 'source',
      prompt: async (q) => {
        questions.push(q);
        return SUPERUSER_PASSWORD;
      },
    });
    await conn.close();
    expect(questions).toEqual([`Password for postgres@127.0.0.1:${plain.port} (source)`]);
  });

  it('says when nobody can be asked for a missing password', async () => {
    const saved = process.env.PGPASSWORD;
    delete process.env.PGPASSWORD;
    const e = await failure(
      connect(endpointFor(plain, { password: { kind: 'default' } }), { side: 'source' }).finally(() => {
        if (saved !== undefined) process.env.PGPASSWORD = saved;
      }),
    );
    expect(e.message).toBe(
      `source: the server at 127.0.0.1:${plain.port} asks for a password and none was given`,
    );
  });

  it('reports a refused connection and an unknown host', async () => {
    const refused = await failure(connect(endpointFor(plain, { port: 1 }), { side: 'source' }));
    expect(refused.message).toBe('source: connection refused at 127.0.0.1:1');
    expect(refused.hint).toContain('listen_addresses');
    const dns = await failure(
      connect(endpointFor(plain, { host: 'no-such-host.invalid' }), { side: 'target' }),
    );
    expect(dns.message).toBe('target: cannot resolve host "no-such-host.invalid"');
  });

  it('reports a database that does not exist', async () => {
    const e = await failure(connect(endpointFor(plain), { side: 'source', database: 'nope' }));
    expect(e.message).toBe(`source: database "nope" does not exist at 127.0.0.1:${plain.port}`);
  });

  it('opens a replication connection', async () => {
    const conn = await connect(endpointFor(plain), { side: 'source', replication: true });
    try {
      const r = await conn.client.query('IDENTIFY_SYSTEM');
      expect(r.rows[0]).toHaveProperty('xlogpos');
    } finally {
      await conn.close();
    }
  });
});

describe('TLS', () => {
  const caFile = () => {
    const f = join(dir, 'ca.crt');
    writeFileSync(f, ca.caCert);
    return f;
  };

  it('verify-full against the right CA is encrypted, and to an IP address Node warns of nothing', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const ep = endpointFor(tls, { sslmode: 'verify-full', sslrootcert: caFile() });
      expect(ep.host).toBe('127.0.0.1');
      const ssl = await withConnection(ep, { side: 'target' }, (c) =>
        c.client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()').then((r) => r.rows[0].ssl),
      );
      expect(ssl).toBe(true);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const other = makeCa('another CA');
    const f = join(dir, 'other.crt');
    writeFileSync(f, other.caCert);
    const e = await failure(
      connect(endpointFor(tls, { sslmode: 'verify-full', sslrootcert: f }), { side: 'target' }),
    );
    expect(e.code).toBe('tls-failed');
    expect(e.message).toMatch(/^target: TLS to 127\.0\.0\.1:\d+ failed: /);
  });

  it('require on a server without TLS says so; prefer falls back to plain', async () => {
    const e = await failure(connect(endpointFor(plain, { sslmode: 'require' }), { side: 'source' }));
    expect(e.message).toBe(`source: the server at 127.0.0.1:${plain.port} does not accept TLS connections`);
    expect(
      await withConnection(endpointFor(plain, { sslmode: 'prefer' }), { side: 'source' }, version),
    ).toMatch(/^14/);
  });
});

describe('ssh tunnel', () => {
  it('reaches the server through a bastion, host key pinned', async () => {
    const key = join(dir, 'id_ed25519');
    const known = join(dir, 'known_hosts');
    writeFileSync(key, bastion.clientPrivateKey, { mode: 0o600 });
    writeFileSync(known, bastion.knownHostsLine + '\n');
    const before = bastion.forwarded();
    const ep = endpointFor(plain, {
      ssh: { host: '127.0.0.1', port: bastion.port, user: bastion.user, privateKey: key, knownHosts: known },
    });
    expect(await withConnection(ep, { side: 'source' }, version)).toMatch(/^14/);
    expect(bastion.forwarded()).toBe(before + 1);
  });

  it('refuses a bastion whose host key does not match known_hosts', async () => {
    const key = join(dir, 'id_ed25519');
    writeFileSync(key, bastion.clientPrivateKey, { mode: 0o600 });
    const known = join(dir, 'known_hosts_wrong');
    const other = await startBastion();
    writeFileSync(known, other.knownHostsLine.replace(`:${other.port}]`, `:${bastion.port}]`) + '\n');
    await other.stop();
    const ep = endpointFor(plain, {
      ssh: { host: '127.0.0.1', port: bastion.port, user: bastion.user, privateKey: key, knownHosts: known },
    });
    const e = await failure(connect(ep, { side: 'source' }));
    expect(e.code).toBe('ssh-failed');
    expect(e.message).toMatch(new RegExp(`^source: ssh to jump@127\\.0\\.0\\.1:${bastion.port} failed: `));
  });
});

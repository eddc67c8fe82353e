import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDatabases, listSchemas, listTables } from '../../src/catalog/browse.js';
import { loadTask } from '../../src/task/load.js';
import { DTS_BIN } from '../harness/cli.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../harness/pg-server.js';

const KEY = { enter: '\r', down: '\u001b[B', space: ' ', ctrlC: '\u0003' };

/**
 * A person at a terminal: `script` (util-linux) runs the CLI on a pseudo-terminal, so stdin is a TTY and
 * inquirer reads raw keys, exactly as in a shell. We wait for each question to be drawn before typing,
 * because keys sent before the prompt switches the terminal to raw mode would be echoed by the tty.
 */
class Terminal {
  private readonly child: ChildProcessWithoutNullStreams;
  private raw = '';
  private seen = 0;
  readonly exited: Promise<number | null>;

  constructor(args: readonly string[], cwd: string) {
    const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    // A wide terminal, so no answer wraps across lines; no CI variable, or dts would not ask.
    const command = `stty cols 200 rows 50; exec ${[process.execPath, DTS_BIN, ...args].map(quote).join(' ')}`;
    this.child = spawn('script', ['-qefc', command, '/dev/null'], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color' },
    });
    this.child.stdout.on('data', (d: Buffer) => (this.raw += d.toString()));
    this.child.stderr.on('data', (d: Buffer) => (this.raw += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', resolve));
  }

  /** Everything the terminal showed, raw (escape sequences and all). */
  get output(): string {
    return this.raw;
  }

  /** The text drawn so far, without escape sequences. */
  get text(): string {
    return stripVTControlCharacters(this.raw).replaceAll('\r', '');
  }

  /** Wait until `text` is drawn after the last thing waited for. */
  async waitFor(text: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.text.indexOf(text, this.seen);
      if (at >= 0) {
        this.seen = at + text.length;
        await new Promise((r) => setTimeout(r, 80)); // let the prompt finish drawing and take raw mode
        return;
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for "${text}"; screen:\n${this.text.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  /** Answer the question that shows `question`: type the keys once it is drawn. */
  async answer(question: string, ...keys: string[]): Promise<void> {
    await this.waitFor(question);
    for (const k of keys) {
      this.child.stdin.write(k);
      await new Promise((r) => setTimeout(r, 40));
    }
  }

  kill(): void {
    this.child.kill();
  }
}

let server: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'dts-wizard-'));

beforeAll(async () => {
  server = await startServer({ version: 14 });
  await server.query('CREATE DATABASE shop');
  await server.query('CREATE DATABASE billing');
  await server.query('CREATE DATABASE _dts');
  await server.query(
    `CREATE TABLE public.orders (id int PRIMARY KEY);
     CREATE TABLE public.customers (id int PRIMARY KEY);
     CREATE TABLE public."Order Items" (id int);
     CREATE SCHEMA sales;
     CREATE TABLE sales.leads (id int, at date) PARTITION BY RANGE (at);
     CREATE TABLE sales.leads_2026 PARTITION OF sales.leads FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
     CREATE SCHEMA _dts;
     CREATE TABLE _dts.progress (id int);`,
    [],
    'shop',
  );
  await server.query('CREATE TABLE public.invoices (id int PRIMARY KEY)', [], 'billing');
});

afterAll(async () => {
  await server?.stop();
});

describe('dts create wizard, on a pseudo-terminal against PostgreSQL 14', () => {
  it('asks everything, lists the real databases and tables, writes a task without the password', async () => {
    const t = new Terminal(['create'], dir);
    try {
      await t.answer('Task name', 'my shop', KEY.enter);
      await t.waitFor('expected letters, digits, _ . -');
      await t.answer('Task name', '\u0015', 'shop', KEY.enter); // ctrl-u clears the rejected answer
      await t.answer('Start at', 'tomorrow', KEY.enter);
      await t.waitFor('expected an ISO-8601 time with an offset');
      await t.answer('Start at', '\u0015', '2026-12-01T02:00:00+01:00', KEY.enter);
      await t.answer('Mode', KEY.enter); // the default: full+incremental
      await t.answer('How do you reach the source server?', KEY.enter); // a URL
      await t.answer('source URL', server.url('shop'), KEY.enter);
      await t.answer('source password', SUPERUSER_PASSWORD, KEY.enter);
      await t.answer('How should the task file get this password?', KEY.enter); // a variable
      await t.answer('Variable name', KEY.enter); // the suggested DTS_SOURCE_PASSWORD
      await t.waitFor('Connected to the source: 3 database(s).'); // not templates, not _dts
      await t.answer('Which databases?', KEY.enter); // pick
      // billing, postgres, shop (ticked: the URL's database); tick billing too.
      await t.answer('Databases (space ticks', KEY.space, KEY.enter);
      await t.answer('What to move from billing?', KEY.enter); // everything
      await t.answer('What to move from shop?', KEY.down, KEY.enter); // pick
      // public.*, public.Order Items, public.customers, public.orders, sales.*, ... (no partitions, no _dts)
      await t.waitFor('public.*  (the whole schema, 3 tables)');
      await t.waitFor('sales.*  (the whole schema, 1 table)');
      await t.answer('', KEY.down, KEY.space, KEY.down, KEY.down, KEY.down, KEY.space, KEY.enter);
      await t.answer('Leave out', 'sales.tmp_*, public.scratch', KEY.enter);
      await t.answer('How do you reach the target server?', KEY.down, KEY.enter); // field by field
      await t.answer('target host', server.host, KEY.enter);
      await t.answer('target port', String(server.port), KEY.enter);
      await t.answer('target user', KEY.enter); // postgres
      await t.answer('target database', 'shop_copy', KEY.enter);
      await t.answer('target password', SUPERUSER_PASSWORD, KEY.enter);
      await t.answer('How should the task file get this password?', KEY.enter);
      await t.answer('Variable name', '\u0015', 'CLOUD_PW', KEY.enter);
      await t.answer('Write the task file to', KEY.enter); // shop.yaml
      await t.waitFor('Wrote shop.yaml');
      await t.answer('Run dts validate shop.yaml now?', 'y', KEY.enter);
      await t.waitFor(' passed, ', 60_000); // the report's summary line
      // The target is the source server itself, so validate finds the tables there already: exit 1,
      // as dts validate would, after the file was written.
      expect(await t.exited).toBe(1);
    } finally {
      t.kill();
    }

    // Typing shows "[input is masked]", never one character per key: the length stays secret too.
    expect(t.text).toContain('source password (hidden; empty: none, dts then uses PGPASSWORD or ~/.pgpass)');
    expect(t.text).toContain('[input is masked]');
    expect(t.text).not.toContain('*'.repeat(SUPERUSER_PASSWORD.length));
    expect(t.text).toContain('  export DTS_SOURCE_PASSWORD=...\n');
    expect(t.text).toContain('  export CLOUD_PW=...\n');
    const file = join(dir, 'shop.yaml');
    const text = readFileSync(file, 'utf8');
    for (const out of [text, t.output, t.text]) expect(out).not.toContain(SUPERUSER_PASSWORD);

    const task = await loadTask(file, {});
    expect(task).toMatchObject({
      name: 'shop',
      schedule: new Date('2026-12-01T01:00:00Z'),
      mode: 'full+incremental',
      source: {
        host: '127.0.0.1',
        port: server.port,
        user: 'postgres',
        database: 'shop',
        password: { kind: 'env', variable: 'DTS_SOURCE_PASSWORD' },
      },
      target: {
        host: '127.0.0.1',
        port: server.port,
        user: 'postgres',
        database: 'shop_copy',
        password: { kind: 'env', variable: 'CLOUD_PW' },
      },
      objects: {
        databases: [
          { name: 'billing', include: [], exclude: [] },
          { name: 'shop', include: ['public.Order Items', 'sales.*'], exclude: [] },
        ],
        include: [],
        exclude: ['sales.tmp_*', 'public.scratch'],
      },
    });
  });

  it('refuses an existing -o file before the first question', async () => {
    writeFileSync(join(dir, 'taken.yaml'), 'keep me\n');
    const t = new Terminal(['create', '-o', 'taken.yaml'], dir);
    expect(await t.exited).toBe(2);
    expect(t.text).toBe(
      'error: taken.yaml already exists; dts create does not overwrite it\n' +
        'hint: pass --force to replace it, or -o to write the task somewhere else\n',
    );
  });

  it('writes nothing when the person presses ctrl-c', async () => {
    const t = new Terminal(['create', '-o', 'never.yaml'], dir);
    await t.answer('Task name', 'never', KEY.enter);
    await t.answer('Start at', KEY.ctrlC);
    expect(await t.exited).toBe(2);
    expect(t.text).toContain('error: dts create was cancelled; nothing was written\n');
    expect(existsSync(join(dir, 'never.yaml'))).toBe(false);
  });
});

describe('catalog browse queries', () => {
  it('offer user databases, schemas and top-level tables only', async () => {
    const client = new pg.Client({
      host: server.host,
      port: server.port,
      user: 'postgres',
      password: SUPERUSER_PASSWORD,
      database: 'shop',
    });
    await client.connect();
    try {
      expect((await listDatabases(client)).map((d) => d.name)).toEqual(['billing', 'postgres', 'shop']);
      expect((await listDatabases(client)).every((d) => (d.sizeBytes ?? 0) > 0)).toBe(true);
      expect(await listSchemas(client)).toEqual(['public', 'sales']);
      expect((await listTables(client)).map((t) => `${t.schema}.${t.name}`)).toEqual([
        'public.Order Items',
        'public.customers',
        'public.orders',
        'sales.leads',
      ]);
    } finally {
      await client.end();
    }
  });
});

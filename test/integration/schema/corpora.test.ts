import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateSchema } from '../../../src/schema/index.js';
import type { SchemaReport } from '../../../src/schema/report.js';
import type { Task } from '../../../src/task/types.js';
import { CORPORA, loadCorpora, type Corpus } from '../../harness/corpora.js';
import { endpointFor, TEST_PASSWORD_ENV } from '../../harness/endpoint.js';
import { startServer, SUPERUSER_PASSWORD, type TestServer } from '../../harness/pg-server.js';
import { countByKind, schemaFingerprint } from '../../harness/schema-fingerprint.js';

/** What each corpus must hold at least (from its README): a kind that went missing fails here. */
const EXPECTED_KINDS: Record<Corpus, readonly string[]> = {
  pagila: [
    'tables',
    'partitioned tables',
    'views',
    'materialized views',
    'enums',
    'domains',
    'sequences',
    'functions',
    'aggregates',
    'triggers',
    'primary keys',
    'foreign keys',
    'indexes',
  ],
  sakila: ['tables', 'views', 'enums', 'domains', 'rules', 'triggers', 'check constraints', 'foreign keys'],
  chinook: ['tables', 'primary keys', 'foreign keys', 'indexes'],
  northwind: ['tables', 'primary keys', 'foreign keys'],
};

let source: TestServer;
let target17: TestServer;
let target18: TestServer;
let report17: SchemaReport;

const task = (target: TestServer, databases: Task['objects']['databases']): Task => ({
  name: 'corpora',
  file: '/nowhere/corpora.yaml',
  schedule: undefined,
  mode: 'structure',
  source: endpointFor(source),
  target: endpointFor(target),
  objects: { databases, include: [], exclude: [] },
  options: { parallel: 1, namePrefix: 'dts', splitTableBytes: 1 << 30, missingRoles: 'error', roleMap: {} },
});

describe('schema migration of the public sample databases', () => {
  beforeAll(async () => {
    process.env[TEST_PASSWORD_ENV] = SUPERUSER_PASSWORD;
    [source, target17, target18] = await Promise.all([
      startServer({ version: 14 }),
      startServer({ version: 17 }),
      startServer({ version: 18 }),
    ]);
    await loadCorpora(source, CORPORA);
    // Several databases: each goes into a database of the same name, created on the target.
    report17 = await migrateSchema(
      task(
        target17,
        CORPORA.map((name) => ({ name, include: [], exclude: [] })),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all([source, target17, target18].filter(Boolean).map((s) => s.stop()));
  });

  it.each(CORPORA)('%s, PostgreSQL 14 -> 17: same schema, every kind present', async (corpus) => {
    const db = report17.databases.find((d) => d.source === corpus)!;
    expect(db.failed).toEqual([]);
    expect(db.committed).toBe(true);
    expect(db.createdDatabase).toBe(true);
    const before = await schemaFingerprint(source, corpus);
    const after = await schemaFingerprint(target17, corpus);
    const counts = countByKind(before);
    for (const kind of EXPECTED_KINDS[corpus]) expect(counts[kind], kind).toBeGreaterThan(0);
    expect(countByKind(after)).toEqual(counts);
    expect(after).toEqual(before);
  });

  it('databases: all, PostgreSQL 14 -> 18: creates every database and its schema', async () => {
    const report = await migrateSchema(task(target18, 'all'));
    expect(report.databases.map((d) => d.source).sort()).toEqual([...CORPORA, 'postgres'].sort());
    expect(report.databases.flatMap((d) => d.failed)).toEqual([]);
    expect(report.ok).toBe(true);
    for (const corpus of CORPORA)
      expect(await schemaFingerprint(target18, corpus), corpus).toEqual(
        await schemaFingerprint(source, corpus),
      );
  });
});

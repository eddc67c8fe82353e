import type pg from 'pg';
import { isPgServerError } from '../pg/errors.js';
import { readNamedObjects, relationKind } from './source.js';
import * as sql from './sql.js';
import type { AvailableExtension, TargetDatabase } from './types.js';

/** Names that already exist in one target database. */
export async function readTargetDatabase(client: pg.Client): Promise<TargetDatabase> {
  const name = (await client.query('SELECT current_database() AS name')).rows[0]!.name as string;
  const relations = (await client.query(sql.TARGET_RELATIONS)).rows.map((r) => ({
    schema: String(r.schema),
    name: String(r.name),
    kind: relationKind(String(r.kind)),
  }));
  return { name, relations, objects: await readNamedObjects(client) };
}

export async function readAvailableExtensions(client: pg.Client): Promise<readonly AvailableExtension[]> {
  const { rows } = await client.query(sql.AVAILABLE_EXTENSIONS);
  return rows.map((r) => ({
    name: String(r.name),
    defaultVersion: r.default_version ?? undefined,
    versions: (r.versions as unknown[]).map(String),
  }));
}

/**
 * Try `SET LOCAL session_replication_role = replica` in a transaction that is rolled back either way.
 * Returns the server's refusal (insufficient privilege) as text, or undefined when allowed.
 */
export async function probeReplicationRole(client: pg.Client): Promise<string | undefined> {
  await client.query('BEGIN');
  try {
    await client.query(sql.SET_REPLICA_ROLE);
    return undefined;
  } catch (e) {
    if (isPgServerError(e) && e.code === '42501') return e.message;
    throw e;
  } finally {
    await client.query('ROLLBACK');
  }
}

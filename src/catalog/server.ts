import type pg from 'pg';
import * as sql from './sql.js';
import type { DatabaseInfo, RoleAccess, ServerInfo, Settings } from './types.js';

/** Who and where the session is: version, TLS, recovery, the role's attributes. Works on either side. */
export async function readServerInfo(client: pg.Client): Promise<ServerInfo> {
  const { rows } = await client.query(sql.SERVER_INFO);
  const r = rows[0];
  if (!r) throw new Error('the connected role is not in pg_roles');
  return {
    versionNum: Number(r.version_num),
    version: String(r.version),
    database: String(r.database),
    encrypted: Boolean(r.encrypted),
    tlsVersion: r.tls_version ?? undefined,
    inRecovery: Boolean(r.in_recovery),
    role: {
      name: String(r.role),
      superuser: Boolean(r.superuser),
      replication: Boolean(r.replication),
      createDb: Boolean(r.createdb),
      cloudRoles: r.cloud_roles as string[],
    },
  };
}

/** The named settings as the session sees them (server, database and role defaults applied). */
export async function readSettings(client: pg.Client, names: readonly string[]): Promise<Settings> {
  const { rows } = await client.query(sql.SETTINGS, [names]);
  const out: Record<string, { value: string; unit: string | undefined }> = {};
  for (const r of rows) out[String(r.name)] = { value: String(r.setting), unit: r.unit ?? undefined };
  return out;
}

export async function readDatabases(client: pg.Client): Promise<readonly DatabaseInfo[]> {
  const { rows } = await client.query(sql.DATABASES);
  return rows.map((r) => ({
    name: String(r.name),
    allowConnections: Boolean(r.allow_connections),
    isTemplate: Boolean(r.is_template),
    encoding: String(r.encoding),
    collate: String(r.collate),
    ctype: String(r.ctype),
    canCreate: Boolean(r.can_create),
    canConnect: Boolean(r.can_connect),
  }));
}

/** Every role, and whether the connected role may make it the owner of objects (see sql.ROLE_ACCESS). */
export async function readRoleAccess(client: pg.Client, versionNum: number): Promise<readonly RoleAccess[]> {
  const { rows } = await client.query(sql.ROLE_ACCESS(versionNum));
  return rows.map((r) => ({
    name: String(r.name),
    superuser: Boolean(r.superuser),
    ownable: Boolean(r.ownable),
  }));
}

export async function readRoles(client: pg.Client): Promise<readonly string[]> {
  const { rows } = await client.query(sql.ROLES);
  return rows.map((r) => String(r.name));
}

import { displayName } from '../catalog/display.js';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import { readLargeObjects, readRoleNames, type Queryable } from './read.js';
import * as sql from './sql.js';

/** Read and written in pieces of this size, so a large object of any size needs this much memory. */
export const LARGE_OBJECT_CHUNK_BYTES = 1 << 20;

export interface LargeObjectResult {
  readonly count: number;
  readonly bytes: number;
  readonly warnings: readonly string[];
}

/** `GRANT`/`ALTER ... OWNER` take an OID literal; make sure it is one before it goes into SQL. */
function oidLiteral(oid: string): string {
  if (!/^\d+$/.test(oid)) throw new Error(`not an OID: ${oid}`);
  return oid;
}

/**
 * Copy every large object with the same OID (tables refer to them by OID), its owner, simple grants and
 * comment. `source` must be inside the exported snapshot: lo_get reads through it, so the bytes are those
 * of the snapshot. Roles missing on the target (after `roleMap`) are left out with a warning.
 */
export async function copyLargeObjects(
  source: Queryable,
  target: Queryable,
  roleMap: Readonly<Record<string, string>>,
  onProgress: (bytes: number) => void = () => undefined,
): Promise<LargeObjectResult> {
  const objects = await readLargeObjects(source);
  if (objects.length === 0) return { count: 0, bytes: 0, warnings: [] };
  const roles = await readRoleNames(target);
  const warnings: string[] = [];
  const role = (name: string, what: string) => {
    const mapped = roleMap[name] ?? name;
    if (roles.has(mapped)) return mapped;
    warnings.push(`${what}: role ${displayName(mapped)} does not exist on the target, left out`);
    return undefined;
  };
  let bytes = 0;
  for (const lo of objects) {
    const oid = oidLiteral(lo.oid);
    await target.query('BEGIN');
    try {
      await target.query(sql.LARGE_OBJECT_RECREATE, [oid]);
      await target.query(sql.LARGE_OBJECT_CREATE, [oid]);
      // Invariant: `offset` is the number of bytes already written; a short chunk is the last one.
      for (let offset = 0; ;) {
        const { rows } = await source.query(sql.LARGE_OBJECT_CHUNK, [oid, offset, LARGE_OBJECT_CHUNK_BYTES]);
        const data = (rows[0] as { data: Buffer }).data;
        if (data.length > 0) await target.query(sql.LARGE_OBJECT_WRITE, [oid, offset, data]);
        offset += data.length;
        bytes += data.length;
        onProgress(bytes);
        if (data.length < LARGE_OBJECT_CHUNK_BYTES) break;
      }
      const owner = role(lo.owner, `owner of large object ${oid}`);
      if (owner !== undefined) await target.query(`ALTER LARGE OBJECT ${oid} OWNER TO ${quoteIdent(owner)}`);
      for (const g of lo.grants) {
        // Large objects know only these two privileges; anything else would be a catalog surprise.
        if (g.privilege !== 'SELECT' && g.privilege !== 'UPDATE') continue;
        const grantee = g.grantee === '' ? 'PUBLIC' : role(g.grantee, `grant on large object ${oid}`);
        if (grantee === undefined) continue;
        await target.query(
          `GRANT ${g.privilege} ON LARGE OBJECT ${oid} TO ${grantee === 'PUBLIC' ? grantee : quoteIdent(grantee)}${
            g.grantable ? ' WITH GRANT OPTION' : ''
          }`,
        );
      }
      if (lo.comment !== undefined)
        await target.query(`COMMENT ON LARGE OBJECT ${oid} IS ${quoteLiteral(lo.comment)}`);
      await target.query('COMMIT');
    } catch (e) {
      await target.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }
  return { count: objects.length, bytes, warnings };
}

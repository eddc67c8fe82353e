import type { Acl, AclEntry } from '../../catalog/schema/types.js';
import { quoteIdent, quoteLiteral } from '../../pg/quote.js';

/**
 * Role names on the target. `resolve` maps a source role through options.roleMap and returns undefined
 * when the role is missing on the target and options.missingRoles is `skip` (the caller then leaves the
 * ownership or grant out). The planner's implementation records every miss for the report.
 */
export interface Roles {
  resolve(sourceRole: string): string | undefined;
}

/** `COMMENT ON <ref> IS '...'`, or nothing. */
export function commentOn(ref: string, text: string | undefined): string[] {
  return text === undefined ? [] : [`COMMENT ON ${ref} IS ${quoteLiteral(text)}`];
}

/** `ALTER <ref> OWNER TO role`; `alterRef` is the ref as ALTER spells it (e.g. `TABLE "s"."t"`). */
export function ownerTo(alterRef: string, owner: string, roles: Roles): string[] {
  const role = roles.resolve(owner);
  return role === undefined ? [] : [`ALTER ${alterRef} OWNER TO ${quoteIdent(role)}`];
}

const grantee = (name: string, roles: Roles): string | undefined => {
  if (name === '') return 'PUBLIC';
  const role = roles.resolve(name);
  return role === undefined ? undefined : quoteIdent(role);
};

/** Entries grouped by grantee and grant option, privileges in catalog order: one GRANT each. */
function groupAcl(acl: readonly AclEntry[]): { grantee: string; grantable: boolean; privileges: string[] }[] {
  const groups = new Map<string, { grantee: string; grantable: boolean; privileges: string[] }>();
  for (const e of acl) {
    const id = `${e.grantee}\0${e.grantable}`;
    const g = groups.get(id) ?? { grantee: e.grantee, grantable: e.grantable, privileges: [] };
    g.privileges.push(e.privilege);
    groups.set(id, g);
  }
  return [...groups.values()];
}

/**
 * Reproduce an object's ACL exactly: an object with default privileges (no ACL) gets nothing; otherwise
 * revoke the defaults (PUBLIC's and the owner's) and grant each entry. `grantRef` is the GRANT spelling
 * (`TABLE "s"."t"`, `FUNCTION "s"."f"(integer)`, `SCHEMA "s"`).
 */
export function grantsOn(grantRef: string, owner: string, acl: Acl, roles: Roles): string[] {
  if (acl === undefined) return [];
  const out = [`REVOKE ALL ON ${grantRef} FROM PUBLIC`];
  const ownerRole = roles.resolve(owner);
  if (ownerRole !== undefined) out.push(`REVOKE ALL ON ${grantRef} FROM ${quoteIdent(ownerRole)}`);
  for (const g of groupAcl(acl)) {
    const to = grantee(g.grantee, roles);
    if (to === undefined) continue;
    out.push(
      `GRANT ${g.privileges.join(', ')} ON ${grantRef} TO ${to}${g.grantable ? ' WITH GRANT OPTION' : ''}`,
    );
  }
  return out;
}

/** Column privileges only add to the table's: `GRANT SELECT (col) ON TABLE t TO role`. */
export function columnGrants(tableRef: string, column: string, acl: Acl, roles: Roles): string[] {
  if (acl === undefined) return [];
  const out: string[] = [];
  for (const g of groupAcl(acl)) {
    const to = grantee(g.grantee, roles);
    if (to === undefined) continue;
    const privileges = g.privileges.map((p) => `${p} (${quoteIdent(column)})`).join(', ');
    out.push(`GRANT ${privileges} ON TABLE ${tableRef} TO ${to}${g.grantable ? ' WITH GRANT OPTION' : ''}`);
  }
  return out;
}

/**
 * `ALTER DEFAULT PRIVILEGES`. A schema-scoped entry adds to the built-in defaults; a global one replaces
 * them, so it first revokes what PostgreSQL grants by default.
 */
export function defaultPrivileges(
  role: string,
  schema: string | undefined,
  objectType: string,
  acl: readonly AclEntry[],
  roles: Roles,
): string[] {
  const forRole = roles.resolve(role);
  if (forRole === undefined) return [];
  const prefix = `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(forRole)}${
    schema === undefined ? '' : ` IN SCHEMA ${quoteIdent(schema)}`
  }`;
  const out: string[] = [];
  if (schema === undefined) {
    out.push(`${prefix} REVOKE ALL ON ${objectType} FROM PUBLIC`);
    out.push(`${prefix} REVOKE ALL ON ${objectType} FROM ${quoteIdent(forRole)}`);
  }
  for (const g of groupAcl(acl)) {
    const to = grantee(g.grantee, roles);
    if (to === undefined) continue;
    out.push(
      `${prefix} GRANT ${g.privileges.join(', ')} ON ${objectType} TO ${to}${g.grantable ? ' WITH GRANT OPTION' : ''}`,
    );
  }
  return out;
}

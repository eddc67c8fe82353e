import type { RoutineDef } from '../../catalog/schema/types.js';
import { quoteQualified } from '../../pg/quote.js';
import { bare, type DdlContext } from './context.js';
import { commentOn, grantsOn, ownerTo } from './privileges.js';

/** How ALTER and COMMENT spell a routine: `FUNCTION "s"."f"(integer)`, `AGGREGATE "s"."a"(*)`. */
export function routineRef(r: RoutineDef): string {
  const keyword = r.kind === 'procedure' ? 'PROCEDURE' : r.kind === 'aggregate' ? 'AGGREGATE' : 'FUNCTION';
  const args = r.kind === 'aggregate' && r.identityArguments === '' ? '*' : r.identityArguments;
  return `${keyword} ${quoteQualified(r.schema, r.name)}(${args})`;
}

/** GRANT spells aggregates as FUNCTION. */
function grantRef(r: RoutineDef): string {
  return `${r.kind === 'procedure' ? 'PROCEDURE' : 'FUNCTION'} ${quoteQualified(r.schema, r.name)}(${r.identityArguments})`;
}

/**
 * A function or procedure is the server's own pg_get_functiondef(); an aggregate is assembled from
 * pg_aggregate. Bodies are not checked at creation (check_function_bodies is off while applying), so a
 * function may refer to tables created after it.
 */
export function routineDdl(r: RoutineDef, ctx: DdlContext): string[] {
  let create: string;
  if (r.kind === 'aggregate' && r.aggregate) {
    const a = r.aggregate;
    const args = a.arguments === '' ? '*' : a.arguments;
    create = `CREATE AGGREGATE ${quoteQualified(r.schema, r.name)}(${args}) (\n    ${a.options
      .map(([k, v]) => `${k} = ${v}`)
      .join(',\n    ')}\n)`;
  } else {
    create = bare(r.definition ?? '');
  }
  const ref = routineRef(r);
  return [
    create,
    ...ownerTo(ref, r.owner, ctx.roles),
    ...grantsOn(grantRef(r), r.owner, r.acl, ctx.roles),
    ...commentOn(ref, ctx.comment(r.key)),
  ];
}

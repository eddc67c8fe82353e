// Keywords that quote_ident() quotes (every category except unreserved), from pg_get_keywords() on 18.
const KEYWORDS = new Set(
  `all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both case
cast char character check coalesce collate collation column concurrently constraint create cross current_catalog
current_date current_role current_schema current_time current_timestamp current_user dec decimal default deferrable
desc distinct do else end except exists extract false fetch float for foreign freeze from full grant greatest group
grouping having ilike in initially inner inout int integer intersect interval into is isnull join json json_array
json_arrayagg json_exists json_object json_objectagg json_query json_scalar json_serialize json_table json_value
lateral leading least left like limit localtime localtimestamp merge_action national natural nchar none normalize not
notnull null nullif numeric offset on only or order out outer overlaps overlay placing position precision primary real
references returning right row select session_user setof similar smallint some substring symmetric system_user table
tablesample then time timestamp to trailing treat trim true union unique user using values varchar variadic verbose
when where window with xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot
xmlserialize xmltable`.split(/\s+/),
);

/**
 * An identifier the way PostgreSQL prints it (quote_ident semantics): bare when it is a plain lower-case
 * name that is not a keyword, otherwise in double quotes with embedded quotes doubled. For messages only;
 * SQL always goes through src/pg/quote.ts.
 */
export function displayIdent(name: string): string {
  if (/^[a-z_][a-z0-9_$]*$/.test(name) && !KEYWORDS.has(name)) return name;
  return `"${name.replaceAll('"', '""')}"`;
}

/** A dotted name for a finding, e.g. `shop.public."Order Items"`. */
export function displayName(...parts: readonly string[]): string {
  return parts.map(displayIdent).join('.');
}

/** Bytes as PostgreSQL's pg_size_pretty would round them (binary units). */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 10 * 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${Math.round(value)} ${units[i]}`;
}

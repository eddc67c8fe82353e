import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';

/**
 * Statements dts runs on the source's replication connection. A walsender connection speaks only the
 * simple query protocol, so the few values here are literals quoted by the one helper.
 */

/** The slot as the server knows it, run before streaming to fail with a clear message. */
export function slotInfo(slot: string): string {
  return `SELECT plugin, database, confirmed_flush_lsn::text AS confirmed_flush_lsn, active_pid::text AS active_pid
            FROM pg_catalog.pg_replication_slots WHERE slot_name = ${quoteLiteral(slot)}`;
}

/**
 * Session settings that make the walsender's text output of values unambiguous for the target's input
 * functions (dates in ISO order, floats exact). The target's apply session sets the same (apply/sql.ts).
 */
export const OUTPUT_SETTINGS = [
  `SET DateStyle = 'ISO, YMD'`,
  `SET IntervalStyle = 'postgres'`,
  `SET extra_float_digits = 3`,
  `SET TimeZone = 'UTC'`,
  `SET bytea_output = 'hex'`,
] as const;

/**
 * Start pgoutput protocol 1 at `from` (0/0 = the slot's confirmed_flush_lsn). No `streaming`: in-progress
 * transactions would arrive in pieces the library cannot parse, so the walsender spools large
 * transactions and sends each whole at commit. The publication list is parsed as identifiers by the
 * server, so the name is quoted as an identifier inside the literal (mixed case would be lower-cased).
 */
export function startReplication(slot: string, publication: string, from: Lsn): string {
  return `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${formatLsn(from)} (proto_version '1', publication_names ${quoteLiteral(quoteIdent(publication))})`;
}

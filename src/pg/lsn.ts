/**
 * A WAL position. PostgreSQL prints LSNs as `X/Y` (two hex halves of a 64-bit number) and tools differ in
 * padding (`0/1791E88` vs `00000000/01791F58`), so LSNs are never compared as strings: they are parsed
 * once into a branded 64-bit bigint and compared numerically.
 */
export type Lsn = bigint & { readonly __brand: 'Lsn' };

const MAX = (1n << 64n) - 1n;

/** The invalid LSN `0/0`: "nothing yet" (and, as a START_REPLICATION position, "the slot's own"). */
export const ZERO_LSN = 0n as Lsn;

/** Parse `X/Y` in either padding, any hex case. Throws on anything else. */
export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(text)}`);
  return ((BigInt(`0x${m[1]!}`) << 32n) | BigInt(`0x${m[2]!}`)) as Lsn;
}

/** An LSN from its 64-bit value (e.g. read from a replication message). */
export function lsnFromBigInt(value: bigint): Lsn {
  if (value < 0n || value > MAX) throw new Error(`LSN out of range: ${value}`);
  return value as Lsn;
}

/** Read a 64-bit big-endian LSN from a protocol buffer. */
export function readLsn(buf: Buffer, offset: number): Lsn {
  return buf.readBigUInt64BE(offset) as Lsn;
}

/** `X/Y`, upper-case, unpadded: the form PostgreSQL prints and accepts. */
export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** -1, 0 or 1, as for sort(). */
export function compareLsn(a: Lsn, b: Lsn): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `lsn + bytes`, for "the position just past". */
export function addLsn(lsn: Lsn, bytes: number | bigint): Lsn {
  return lsnFromBigInt(lsn + BigInt(bytes));
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a >= b ? a : b;
}

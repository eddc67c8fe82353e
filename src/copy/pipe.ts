import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { Side } from '../errors.js';
import { sqlError } from '../pg/errors.js';
import { quoteQualified } from '../pg/quote.js';
import type { CopyUnit } from './types.js';

/** What one COPY moved: the target's own row count and the bytes of COPY data that went through. */
export interface UnitResult {
  readonly rows: number;
  readonly bytes: number;
}

/** Called with the COPY data bytes seen so far for the unit, at most every `everyMs`. */
export type BytesCallback = (bytesSoFar: number) => void;

/**
 * Stream one unit from the source to the target: `COPY ... TO STDOUT` piped into `COPY ... FROM STDIN`.
 * Memory stays bounded whatever the table's size: pipeline() stops reading the source socket while the
 * target's socket is full (backpressure), and no row is parsed in Node. The only extra stage counts bytes.
 *
 * The source connection must already be inside the imported snapshot. A whole-table unit truncates the
 * table and copies with FREEZE in one target transaction, so running it again replaces rather than adds.
 */
export async function copyUnit(
  source: pg.Client,
  target: pg.Client,
  unit: CopyUnit,
  onBytes: BytesCallback = () => undefined,
  everyMs = 250,
): Promise<UnitResult> {
  let bytes = 0;
  let last = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      const now = Date.now();
      if (now - last >= everyMs) {
        last = now;
        onBytes(bytes);
      }
      done(null, chunk);
    },
  });
  // pipeline() rejects with the first error; which stream raised it tells whose failure it is.
  let failedSide: Side | undefined;
  try {
    if (unit.truncateFirst) {
      await target.query('BEGIN');
      await target.query(`TRUNCATE ONLY ${quoteQualified(unit.table.schema, unit.table.name)}`);
    }
    const into = target.query(copyStreams.from(unit.copyIn));
    into.once('error', () => (failedSide ??= 'target'));
    const out = source.query(copyStreams.to(unit.copyOut));
    out.once('error', () => (failedSide ??= 'source'));
    await pipeline(out, counter, into);
    if (unit.truncateFirst) await target.query('COMMIT');
    onBytes(bytes);
    return { rows: into.rowCount, bytes };
  } catch (e) {
    if (unit.truncateFirst) await target.query('ROLLBACK').catch(() => undefined);
    throw sqlError(e, failedSide ?? 'target', `copying ${unit.id}`);
  }
}

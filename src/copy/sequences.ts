import { quoteQualified } from '../pg/quote.js';
import type { Queryable } from './read.js';
import { readSequenceValues } from './read.js';
import * as sql from './sql.js';

/**
 * Give the target's sequences the source's values, with the same is_called so the next nextval() on the
 * target returns what it would have returned on the source, or, with a `gap` of n, n increments later (a
 * safety margin at cutover for values the source hands out after it was read). Only sequences present on
 * both sides (the schema stage decided which to create). Returns how many were set.
 */
export async function copySequences(source: Queryable, target: Queryable, gap = 0): Promise<number> {
  const onTarget = new Set(
    ((await target.query(sql.SEQUENCES)).rows as { schema: string; name: string }[]).map(
      (r) => `${r.schema}\0${r.name}`,
    ),
  );
  let set = 0;
  for (const s of await readSequenceValues(source)) {
    if (!onTarget.has(`${s.schema}\0${s.name}`)) continue;
    const name = quoteQualified(s.schema, s.name);
    if (gap === 0) await target.query(sql.SET_SEQUENCE, [name, s.lastValue, s.isCalled]);
    else await target.query(sql.SET_SEQUENCE_WITH_GAP, [name, s.lastValue, s.isCalled, String(gap)]);
    set++;
  }
  return set;
}

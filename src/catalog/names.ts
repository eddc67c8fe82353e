import { createHash } from 'node:crypto';
import type { Task } from '../task/types.js';

const MAX_IDENTIFIER = 63;

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * The replication slot and publication dts creates on the source for one database of a task:
 * `<prefix>_<task>_<database>`, lower-case [a-z0-9_] only (slot names allow nothing else) and at most
 * 63 characters. Deterministic, so `run`, `status` and `cancel` find them again. When slugging lost
 * information (case, punctuation) or the name had to be shortened, a short hash of the exact task and
 * database names is appended so that, say, databases `Shop` and `shop` never share a slot.
 */
export function replicationNames(task: Task, database: string): { slot: string; publication: string } {
  const prefix = slug(task.options.namePrefix) || 'dts';
  const taskSlug = slug(task.name) || 'task';
  const dbSlug = slug(database) || 'db';
  let name = `${prefix}_${taskSlug}_${dbSlug}`;
  const lossy = taskSlug !== task.name || dbSlug !== database;
  if (lossy || name.length > MAX_IDENTIFIER) {
    const hash = createHash('sha256').update(`${task.name}\0${database}`).digest('hex').slice(0, 8);
    name = `${name.slice(0, MAX_IDENTIFIER - hash.length - 1).replace(/_+$/, '')}_${hash}`;
  }
  return { slot: name, publication: name };
}

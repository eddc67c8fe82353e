import { resolveDatabases, type DatabasePatterns } from '../catalog/selection.js';
import type { Side } from '../errors.js';
import { sqlError } from '../pg/errors.js';
import type { PasswordPrompt } from '../pg/password.js';
import type { Task } from '../task/types.js';
import type { MaterializedView } from './read.js';
import type { DatabaseLoadReport } from './report.js';

/** A database of the task and where it goes. */
export interface DatabaseJob {
  readonly source: string;
  readonly target: string;
  readonly patterns: DatabasePatterns;
}

/** What the copy of one database leaves for after post-data. */
export interface Loaded {
  readonly report: Omit<DatabaseLoadReport, 'refreshed'>;
  readonly matviews: readonly MaterializedView[];
  /** Every copied table was analyzed right after its load: the end analyzes only the rest. */
  readonly tablesAnalyzed?: boolean;
}

export const promptOf = (deps: { readonly prompt?: PasswordPrompt | undefined }) =>
  deps.prompt ? { prompt: deps.prompt } : {};

/** Run `fn`, turning a server error into the DtsError of `side` saying what was being done. */
export async function sql<T>(side: Side, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw sqlError(e, side, doing);
  }
}

export const jobFor = (task: Task, source: string, target: string): DatabaseJob => {
  const { databases } = resolveDatabases(task.objects, [
    { name: source, allowConnections: true, isTemplate: false },
  ]);
  return { source, target, patterns: databases[0]! };
};

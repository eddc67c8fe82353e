import { runCheck } from '../../../src/checks/run.js';
import type { Check } from '../../../src/checks/check.js';
import type { Facts } from '../../../src/checks/facts.js';
import type { Finding } from '../../../src/checks/report.js';
import type { Task } from '../../../src/task/types.js';

/** Findings of one check as the runner produces them, without the repeated check id. */
export function judge(check: Check, facts: Facts, task: Task): Omit<Finding, 'check'>[] {
  return runCheck(check, facts, task).findings.map(({ check: _id, ...rest }) => rest);
}

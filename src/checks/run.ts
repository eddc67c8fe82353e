import type { Task } from '../task/types.js';
import { NotRun, type Check } from './check.js';
import type { Facts } from './facts.js';
import { buildReport, worst, type CheckResult, type Finding, type Report } from './report.js';

/** Judge one check; a missing fact or a bug in the assessor becomes an `error` finding, never a throw. */
export function runCheck(check: Check, facts: Facts, task: Task): CheckResult {
  let findings: Finding[];
  try {
    const drafts = check.assess(facts, task);
    findings =
      drafts.length === 0
        ? [{ check: check.id, severity: 'pass', message: check.passMessage }]
        : drafts.map((d) => ({ check: check.id, ...d }));
  } catch (e) {
    const message =
      e instanceof NotRun ? `not run: ${e.message}` : `not run: the check itself failed (${String(e)})`;
    findings = [{ check: check.id, severity: 'error', message }];
  }
  return { id: check.id, title: check.title, findings, severity: worst(findings.map((f) => f.severity)) };
}

/** Run the checks that apply to the task's mode, in registry order. Pure: no I/O. */
export function assess(checks: readonly Check[], facts: Facts, task: Task): Report {
  const results = checks.filter((c) => c.modes.includes(task.mode)).map((c) => runCheck(c, facts, task));
  return buildReport(task.name, task.mode, results);
}

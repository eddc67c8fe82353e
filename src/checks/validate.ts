import type { PasswordPrompt } from '../pg/password.js';
import type { Task } from '../task/types.js';
import { DEFAULT_LIMITS, type Limits } from './facts.js';
import { gatherFacts } from './gather.js';
import { CHECKS } from './registry.js';
import type { Report } from './report.js';
import { assess } from './run.js';

export type { Finding, CheckResult, Report, Severity } from './report.js';

/**
 * `dts validate` as a library call: read the facts from both servers, then judge them with every check
 * that applies to the task's mode. Never throws for a server problem: an unreachable server or a bad
 * password is a FAIL finding, and the checks that needed that server are `error` ("not run").
 * `limits` lowers or raises the thresholds (tests use it to provoke findings quickly).
 */
export async function validate(
  task: Task,
  deps: { prompt?: PasswordPrompt; limits?: Partial<Limits> } = {},
): Promise<Report> {
  const facts = await gatherFacts(task, {
    ...(deps.prompt ? { prompt: deps.prompt } : {}),
    limits: { ...DEFAULT_LIMITS, ...deps.limits },
  });
  return assess(CHECKS, facts, task);
}

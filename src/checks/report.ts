import type { Mode } from '../task/types.js';

/** `error` means the check could not run (no connection, no permission to read a catalog): never a pass. */
export type Severity = 'pass' | 'warn' | 'fail' | 'info' | 'error';

/** One observation of a check: what it looked at, what is wrong (or fine), and how to fix it. */
export interface Finding {
  /** The check id, e.g. `source.wal_level`. */
  readonly check: string;
  readonly severity: Severity;
  /** What the finding is about, e.g. `shop.public."Order Items"` or `source`. */
  readonly object?: string;
  readonly message: string;
  /** A concrete fix, e.g. `set wal_level = logical in postgresql.conf and restart the source`. */
  readonly fix?: string;
}

export interface CheckResult {
  readonly id: string;
  readonly title: string;
  readonly findings: readonly Finding[];
  /** The worst severity among the findings. */
  readonly severity: Severity;
}

export interface Report {
  readonly task: string;
  readonly mode: Mode;
  readonly results: readonly CheckResult[];
  /** Findings counted by severity. */
  readonly summary: { pass: number; warn: number; fail: number; info: number; error: number };
  /** No FAIL and no check that could not run. */
  readonly ok: boolean;
}

// A check that could not run is worse than one that failed: nobody knows what it would have found.
const RANK: Record<Severity, number> = { pass: 0, info: 1, warn: 2, fail: 3, error: 4 };

export function worst(severities: readonly Severity[]): Severity {
  return severities.reduce<Severity>((w, s) => (RANK[s] > RANK[w] ? s : w), 'pass');
}

/** Assemble the report from check results: summary counts and the verdict. */
export function buildReport(task: string, mode: Mode, results: readonly CheckResult[]): Report {
  const summary = { pass: 0, warn: 0, fail: 0, info: 0, error: 0 };
  for (const r of results) for (const f of r.findings) summary[f.severity]++;
  return { task, mode, results, summary, ok: summary.fail === 0 && summary.error === 0 };
}

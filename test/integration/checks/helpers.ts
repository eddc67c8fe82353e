import { expect } from 'vitest';
import type { Finding, Report, Severity } from '../../../src/checks/report.js';
import type { Endpoint, Mode, Selection, Task } from '../../../src/task/types.js';
import { endpointFor } from '../../harness/endpoint.js';
import type { TestServer } from '../../harness/pg-server.js';

/** A Task as the parser would produce it, pointing at test servers (superuser unless overridden). */
export function testTask(opts: {
  name?: string;
  mode?: Mode;
  source: TestServer;
  target: TestServer;
  sourceDb: string;
  targetDb?: string;
  sourceOverrides?: Partial<Endpoint>;
  targetOverrides?: Partial<Endpoint>;
  objects?: Partial<Selection>;
  options?: Partial<Task['options']>;
}): Task {
  return {
    name: opts.name ?? 'checks-test',
    file: '/tmp/checks-test.yaml',
    schedule: undefined,
    mode: opts.mode ?? 'full+incremental',
    source: endpointFor(opts.source, { database: opts.sourceDb, ...opts.sourceOverrides }),
    target: endpointFor(opts.target, { database: opts.targetDb ?? opts.sourceDb, ...opts.targetOverrides }),
    objects: {
      databases: [{ name: opts.sourceDb, include: [], exclude: [] }],
      include: [],
      exclude: [],
      ...opts.objects,
    },
    options: {
      parallel: 2,
      namePrefix: 'dts',
      splitTableBytes: 1024 ** 3,
      missingRoles: 'error',
      roleMap: {},
      ...opts.options,
    },
  };
}

/** The findings of one check; fails the test when the check is not in the report. */
export function findings(report: Report, id: string): readonly Finding[] {
  const result = report.results.find((r) => r.id === id);
  expect(result, `check ${id} in the report`).toBeDefined();
  return result!.findings;
}

export function severityOf(report: Report, id: string): Severity {
  return report.results.find((r) => r.id === id)!.severity;
}

/** The one finding of `id` with `severity` whose message contains `text`. */
export function expectFinding(
  report: Report,
  id: string,
  severity: Severity,
  text: string,
  object?: string,
): Finding {
  const hits = findings(report, id).filter((f) => f.severity === severity && f.message.includes(text));
  expect(
    hits,
    `${severity} finding of ${id} containing "${text}" in\n${JSON.stringify(findings(report, id), null, 1)}`,
  ).toHaveLength(1);
  if (object !== undefined) expect(hits[0]!.object).toBe(object);
  return hits[0]!;
}

/** Every finding that is not a pass, as `severity id object: message` lines (readable in a failing diff). */
export function problems(report: Report): string[] {
  return report.results.flatMap((r) =>
    r.findings
      .filter((f) => f.severity !== 'pass')
      .map((f) => `${f.severity} ${f.check} ${f.object ?? ''}: ${f.message}`),
  );
}

import { describe, expect, it } from 'vitest';
import { runDts } from '../harness/cli.js';

describe('dts demo', () => {
  it('migrates the sample database 14 -> 17 with live changes, completes, and checks it row for row', async () => {
    const r = await runDts(['demo']);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('starting PostgreSQL 14 (source) and 17 (target) in temporary folders ...');
    expect(r.stdout).toContain('$ dts status ');
    expect(r.stdout).toMatch(/^completed task shop: \d+ transactions applied by incremental sync, end LSN /m);
    expect(r.stdout).toMatch(
      /\nchecked: all \d+ tables are equal row for row on the source and the target\n/,
    );
  });
});

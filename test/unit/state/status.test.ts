import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../../src/cli/render/status.js';
import { summarizeStatus } from '../../../src/state/status.js';
import type { TableCopyState, TaskState } from '../../../src/state/store.js';

const t0 = new Date('2026-11-24T10:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const runner = { pid: 4242, host: 'ops1', startedAt: t0, backendPid: 777 };

const unit = (table: string, part: number, parts: number, done: boolean, started = done): TableCopyState => ({
  database: 'shop',
  schema: 'public',
  table,
  part,
  parts,
  format: 'binary',
  rows: done ? 100 : 0,
  bytes: done ? 1000 : 0,
  done,
  startedAt: started ? at(1) : undefined,
  finishedAt: done ? at(2) : undefined,
});

function state(phase: string, overrides: Partial<TaskState> = {}): TaskState {
  return {
    task: 'shop',
    mode: 'full',
    phase,
    startedAt: t0,
    updatedAt: at(30),
    runner,
    cancelRequestedAt: undefined,
    databases: [
      { source: 'shop', target: 'shop_new', createdDatabase: true, preDataAt: at(1), postDataAt: undefined },
    ],
    loads: [
      {
        task: 'shop',
        sourceDatabase: 'shop',
        targetDatabase: 'shop_new',
        slot: 'dts_shop_shop',
        temporarySlot: true,
        consistentPoint: '0/3000060',
        snapshotName: '00000003-00000002-1',
        snapshotAt: at(1),
        phase: 'copy',
        startedAt: at(1),
        finishedAt: undefined,
      },
    ],
    tables: [
      unit('orders', 0, 1, true),
      unit('items', 0, 3, true),
      unit('items', 1, 3, false, true),
      unit('items', 2, 3, false),
      unit('Odd Name', 0, 1, false),
    ],
    timings: [],
    ...overrides,
  };
}

describe('summarizeStatus', () => {
  it('a runner holding the lock: running, with its pid and host, tables done out of all', () => {
    const s = summarizeStatus(
      state('copy'),
      [{ backendPid: 777, database: 'shop_new' }],
      'shop.yaml',
      at(60),
    );
    expect(s.condition).toBe('running');
    expect(s.summary).toBe('running (pid 4242 on host ops1 since 2026-11-24T10:00:00.000Z), phase copy');
    expect(s.runner).toEqual({
      alive: true,
      pid: 4242,
      host: 'ops1',
      since: '2026-11-24T10:00:00.000Z',
      backendPid: 777,
    });
    expect(s.databases).toHaveLength(1);
    expect(s.databases[0]).toMatchObject({
      source: 'shop',
      target: 'shop_new',
      phase: 'copy',
      consistentPoint: '0/3000060',
      tablesDone: 1,
      tablesTotal: 3,
      rows: 200,
      bytes: 2000,
      elapsedMs: 59_000,
      preData: true,
      postData: false,
    });
    expect(s.databases[0]!.unfinished).toEqual([
      { table: 'public.items', parts: 3, partsDone: 1, partsRunning: 1, rows: 100, bytes: 1000 },
      { table: 'public."Odd Name"', parts: 1, partsDone: 0, partsRunning: 0, rows: 0, bytes: 0 },
    ]);
  });

  it('a non-final phase without a lock holder: interrupted, with the command that resumes it', () => {
    const s = summarizeStatus(state('copy'), [], 'shop.yaml', at(60));
    expect(s.condition).toBe('interrupted');
    expect(s.summary).toBe('interrupted (no runner); run `dts run shop.yaml` to resume');
    expect(s.runner.alive).toBe(false);
    expect(s.runner.pid).toBe(4242);
    // Elapsed stops at the last record, not at the time of asking.
    expect(s.databases[0]!.elapsedMs).toBe(29_000);
  });

  it('a lock holder that is not the recorded runner: alive, but the stale pid is not shown', () => {
    const s = summarizeStatus(
      state('interrupted'),
      [{ backendPid: 999, database: 'postgres' }],
      'x.yaml',
      at(5),
    );
    expect(s.condition).toBe('running');
    expect(s.runner).toMatchObject({ alive: true, pid: undefined, host: undefined, backendPid: 999 });
    expect(s.summary).toBe('running, phase interrupted');
  });

  it.each([
    ['done', 'done', 'done'],
    ['cancelled', 'cancelled', 'cancelled; `dts run --restart x.yaml` starts it again'],
    ['failed', 'failed', 'failed (failed); run `dts run x.yaml` to try again'],
    ['post-data failed', 'failed', 'failed (post-data failed); run `dts run x.yaml` to try again'],
    ['interrupted', 'interrupted', 'interrupted (no runner); run `dts run x.yaml` to resume'],
  ])('recorded phase %s without a runner: %s', (phase, condition, summary) => {
    const s = summarizeStatus(state(phase), [], 'x.yaml', at(5));
    expect(s.condition).toBe(condition);
    expect(s.summary).toBe(summary);
  });

  it('a database without a load yet is waiting', () => {
    const s = summarizeStatus(state('copy', { loads: [], tables: [] }), [], 'x.yaml', at(5));
    expect(s.databases[0]).toMatchObject({ phase: 'waiting', tablesTotal: 0, consistentPoint: undefined });
  });
});

describe('renderStatus', () => {
  it('draws the condition, the runner, each database and its unfinished tables', () => {
    const s = summarizeStatus(
      state('copy'),
      [{ backendPid: 777, database: 'shop_new' }],
      'shop.yaml',
      at(60),
    );
    expect(renderStatus(s, new Chalk({ level: 0 }))).toBe(
      [
        'task shop (mode full): running (pid 4242 on host ops1 since 2026-11-24T10:00:00.000Z), phase copy',
        '  runner: alive, pid 4242 on host ops1 since 2026-11-24T10:00:00.000Z',
        '  shop -> shop_new: copy',
        '    snapshot 0/3000060 at 2026-11-24T10:00:01.000Z',
        '    tables 1/3 done, 200 rows, 2000 bytes, 59s',
        '    · public.items: copying (1/3 parts)',
        '    · public."Odd Name": waiting',
        '  as of 2026-11-24T10:01:00.000Z',
      ].join('\n'),
    );
  });
});

describe('the error that stopped the last runner', () => {
  const lastError = {
    message: 'target: applying a change failed: permission denied for table items',
    sqlstate: '42501',
    hint: 'grant the target role that privilege, then run dts again',
    at: at(50),
  };

  it('is shown, with its SQLSTATE and hint, while no runner runs', () => {
    const s = summarizeStatus(state('syncing', { lastError }), [], 'shop.yaml', at(60));
    expect(s.condition).toBe('interrupted');
    expect(s.lastError).toEqual({ ...lastError, at: '2026-11-24T10:00:50.000Z' });
    const text = renderStatus(s, new Chalk({ level: 0 }));
    expect(text).toContain(
      '\n  stopped by an error at 2026-11-24T10:00:50.000Z: target: applying a change failed: permission denied for table items (SQLSTATE 42501)\n' +
        '  hint: grant the target role that privilege, then run dts again\n',
    );
  });

  it('is not shown while a runner runs', () => {
    const s = summarizeStatus(
      state('syncing', { lastError }),
      [{ backendPid: 777, database: 'shop_new' }],
      'shop.yaml',
      at(60),
    );
    expect(s.lastError).toBe(undefined);
    expect(renderStatus(s, new Chalk({ level: 0 }))).not.toContain('stopped by an error');
  });
});

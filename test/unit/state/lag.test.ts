import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../../src/cli/render/status.js';
import { lagWaitLine } from '../../../src/cli/render/sync.js';
import { applyRate, computeLag, worstLagSeconds, type RunnerFigures } from '../../../src/state/lag.js';
import { summarizeStatus, type SourceLive } from '../../../src/state/status.js';
import type { StoredSyncProgress, TaskState } from '../../../src/state/store.js';

const t0 = new Date('2026-11-24T10:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const plain = new Chalk({ level: 0 });

describe('applyRate', () => {
  it('transactions and rows per second between two samples', () => {
    expect(
      applyRate({ at: 1000, transactions: 10, changes: 100 }, { at: 3000, transactions: 50, changes: 500 }),
    ).toEqual({ txPerSecond: 20, rowsPerSecond: 200 });
  });

  it('0 without an earlier sample, over no time, or when the counters restarted (never negative)', () => {
    const now = { at: 5000, transactions: 3, changes: 9 };
    expect(applyRate(undefined, now)).toEqual({ txPerSecond: 0, rowsPerSecond: 0 });
    expect(applyRate(now, now)).toEqual({ txPerSecond: 0, rowsPerSecond: 0 });
    expect(applyRate({ at: 4000, transactions: 40, changes: 90 }, now)).toEqual({
      txPerSecond: 0,
      rowsPerSecond: 0,
    });
  });
});

const runner = (over: Partial<RunnerFigures> = {}): RunnerFigures => ({
  appliedLsn: '0/3000000',
  confirmedLsn: '0/3000000',
  appliedCommitTime: at(10),
  idle: false,
  ageMs: 500,
  ...over,
});

describe('computeLag', () => {
  it('bytes: the source position minus the later of applied and confirmed; seconds from the commit time', () => {
    const lag = computeLag(
      runner({ confirmedLsn: '0/2FFFF00' }),
      { currentLsn: '0/3000400', now: at(25) },
      { runnerAlive: true, now: at(99) },
    );
    // The source's clock, not the reader's.
    expect(lag).toEqual({ bytes: 0x400, seconds: 15, caughtUp: false });
  });

  it('an idle source the heartbeat confirmed past the last commit: no bytes left, 0 s however old the commit', () => {
    const lag = computeLag(
      runner({ confirmedLsn: '0/3000800', idle: true }),
      { currentLsn: '0/3000800', now: at(3600) },
      { runnerAlive: true, now: at(3600) },
    );
    expect(lag).toEqual({ bytes: 0, seconds: 0, caughtUp: true });
  });

  it('a live idle runner a few hundred bytes behind (WAL since its last heartbeat) is caught up', () => {
    const lag = computeLag(
      runner({ idle: true }),
      { currentLsn: '0/3000100', now: at(60) },
      { runnerAlive: true, now: at(60) },
    );
    expect(lag).toEqual({ bytes: 0x100, seconds: 0, caughtUp: true });
  });

  it('idle figures of a paused (stale) or dead runner are not trusted', () => {
    const source = { currentLsn: '0/3000100', now: at(60) };
    expect(
      computeLag(runner({ idle: true, ageMs: 9_000 }), source, { runnerAlive: true, now: at(60) }),
    ).toEqual({ bytes: 0x100, seconds: 50, caughtUp: false });
    expect(computeLag(runner({ idle: true }), source, { runnerAlive: false, now: at(60) })).toEqual({
      bytes: 0x100,
      seconds: 50,
      caughtUp: false,
    });
  });

  it('without the source: bytes unknown, seconds by the reader clock; the snapshot time before any commit', () => {
    expect(
      computeLag(runner({ appliedCommitTime: undefined }), undefined, {
        runnerAlive: false,
        since: at(2),
        now: at(12),
      }),
    ).toEqual({ bytes: undefined, seconds: 10, caughtUp: false });
    expect(
      computeLag(
        runner({ appliedCommitTime: undefined, appliedLsn: undefined, confirmedLsn: undefined }),
        undefined,
        {
          runnerAlive: false,
          now: at(12),
        },
      ),
    ).toEqual({ bytes: undefined, seconds: undefined, caughtUp: false });
  });

  it('worst of several: the largest, unknown when one is unknown', () => {
    expect(worstLagSeconds([{ seconds: 1 }, { seconds: 4.5 }, { seconds: 0 }])).toBe(4.5);
    expect(worstLagSeconds([{ seconds: 1 }, { seconds: undefined }])).toBeUndefined();
    expect(worstLagSeconds([])).toBe(0);
  });
});

const syncing: TaskState = {
  task: 'shop',
  mode: 'full+incremental',
  phase: 'syncing',
  startedAt: t0,
  updatedAt: at(5),
  runner: { pid: 4242, host: 'ops1', startedAt: t0, backendPid: 777 },
  cancelRequestedAt: undefined,
  databases: [{ source: 'shop', target: 'shop', createdDatabase: true, preDataAt: at(1), postDataAt: at(4) }],
  loads: [
    {
      task: 'shop',
      sourceDatabase: 'shop',
      targetDatabase: 'shop',
      slot: 'dts_shop_shop',
      temporarySlot: false,
      consistentPoint: '0/2000000',
      snapshotName: 's',
      snapshotAt: at(1),
      phase: 'done',
      startedAt: at(1),
      finishedAt: at(4),
    },
  ],
  tables: [],
  timings: [],
};

const record = (over: Partial<StoredSyncProgress> = {}): StoredSyncProgress => ({
  database: 'shop',
  state: 'streaming',
  appliedLsn: '0/3000000',
  appliedCommitTime: at(50),
  confirmedLsn: '0/3000000',
  receivedLsn: '0/3000000',
  idle: false,
  transactions: 1234,
  changes: 5678,
  txRate: 12.34,
  rowRate: 56.78,
  reconnects: 0,
  lastError: undefined,
  lastErrorAt: undefined,
  updatedAt: at(59),
  ageMs: 1000,
  ...over,
});

const live: SourceLive = {
  currentLsn: '0/3002800',
  now: at(60),
  retained: new Map([['dts_shop_shop', 3 * 1024 * 1024]]),
};
const alive = [{ backendPid: 777, database: 'shop' }];

describe('status during sync', () => {
  it('each database gets its sync figures; the snapshot says the source was read', () => {
    const s = summarizeStatus(syncing, alive, 'shop.yaml', at(60), { records: [record()], live });
    expect(s.source).toEqual({ reachable: true });
    expect(s.databases[0]!.sync).toEqual({
      state: 'streaming',
      appliedLsn: '0/3000000',
      appliedCommitTime: '2026-11-24T10:00:50.000Z',
      receivedLsn: '0/3000000',
      confirmedLsn: '0/3000000',
      lagBytes: 0x2800,
      lagSeconds: 10,
      caughtUp: false,
      transactionsPerSecond: 12.3,
      rowsPerSecond: 56.8,
      transactions: 1234,
      changes: 5678,
      reconnects: 0,
      walRetainedBytes: 3 * 1024 * 1024,
      lastError: undefined,
      lastErrorAt: undefined,
      figuresAt: '2026-11-24T10:00:59.000Z',
      figuresAgeMs: 1000,
    });
  });

  it('draws the sync lines of a live runner', () => {
    const s = summarizeStatus(syncing, alive, 'shop.yaml', at(60), {
      records: [record({ reconnects: 2, lastError: 'Connection terminated', lastErrorAt: at(30) })],
      live,
    });
    expect(renderStatus(s, plain)).toBe(
      [
        'task shop (mode full+incremental): running (pid 4242 on host ops1 since 2026-11-24T10:00:00.000Z), phase syncing',
        '  runner: alive, pid 4242 on host ops1 since 2026-11-24T10:00:00.000Z',
        '  shop: done',
        '    snapshot 0/2000000 at 2026-11-24T10:00:01.000Z',
        '    sync streaming: applied 0/3000000 (source commit 2026-11-24T10:00:50.000Z), received 0/3000000',
        '    lag 10 kB, 10.0 s; applying 12.3 tx/s, 56.8 rows/s; 1,234 transactions, 5,678 rows this run',
        '    WAL retained on the source by the slot: 3072 kB',
        '    reconnects: 2; last error at 2026-11-24T10:00:30.000Z: Connection terminated',
        '  as of 2026-11-24T10:01:00.000Z',
      ].join('\n'),
    );
  });

  it('reconnecting: the error with "retrying"; caught up: lag 0', () => {
    const s = summarizeStatus(syncing, alive, 'shop.yaml', at(60), {
      records: [
        record({
          state: 'reconnecting',
          idle: false,
          reconnects: 1,
          lastError: 'target refused: too many connections',
          lastErrorAt: at(59),
        }),
      ],
      live: { ...live, currentLsn: '0/3000000' },
    });
    const text = renderStatus(s, plain);
    expect(text).toContain('\n    lag 0 bytes, 0.0 s (caught up); applying');
    expect(text).toContain('\n    reconnects: 1; target refused: too many connections — retrying\n');
  });

  it('a dead runner and an unreachable source: the last figures, their age, what is unknown', () => {
    const s = summarizeStatus(syncing, [], 'shop.yaml', at(600), {
      records: [record({ ageMs: 541_000, idle: true })],
      live: undefined,
      sourceError: 'cannot connect to the source at db.example:5432: connection refused',
    });
    expect(s.condition).toBe('interrupted');
    expect(s.source).toEqual({
      reachable: false,
      error: 'cannot connect to the source at db.example:5432: connection refused',
    });
    expect(s.databases[0]!.sync).toMatchObject({
      lagBytes: undefined,
      lagSeconds: 550,
      caughtUp: false,
      transactionsPerSecond: 0,
      rowsPerSecond: 0,
      walRetainedBytes: undefined,
    });
    const text = renderStatus(s, plain);
    expect(text).toContain(
      '\n  source not reachable (cannot connect to the source at db.example:5432: connection refused): lag in bytes and retained WAL unknown\n',
    );
    expect(text).toContain('\n    lag unknown bytes, 550.0 s; applying 0.0 tx/s, 0.0 rows/s;');
    expect(text).toContain(
      '\n    figures from 9m01s ago (at 2026-11-24T10:00:59.000Z); the runner is not running\n',
    );
  });

  it('no sync figures outside the sync phases', () => {
    const s = summarizeStatus({ ...syncing, phase: 'completed' }, [], 'shop.yaml', at(60), {
      records: [record()],
      live,
    });
    expect(s.databases[0]!.sync).toBeUndefined();
    expect(s.source).toBeUndefined();
  });
});

describe('lagWaitLine', () => {
  it('waiting, then reached', () => {
    const dbs = [
      { database: 'shop', lagSeconds: 12.34, lagBytes: 100 },
      { database: 'Odd Db', lagSeconds: undefined, lagBytes: undefined },
    ];
    expect(lagWaitLine({ databases: dbs, worst: undefined, wantSeconds: 5, leftMs: 59_001 })).toBe(
      'waiting for the lag to come down to 5 s: shop 12.3 s, "Odd Db" unknown (gives up in 60 s)',
    );
    expect(
      lagWaitLine({ databases: [dbs[0]!], worst: 4, wantSeconds: 5, leftMs: 10_000 }).startsWith(
        'lag is at most 5 s: shop 12.3 s',
      ),
    ).toBe(true);
  });
});

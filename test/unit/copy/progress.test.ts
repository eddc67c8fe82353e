import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import {
  createProgressRenderer,
  eta,
  formatDuration,
  overallLine,
  ProgressModel,
  renderFullLoadReport,
  tableLine,
} from '../../../src/cli/render/progress.js';
import { createOutput } from '../../../src/cli/output.js';
import type { FullLoadEvent } from '../../../src/copy/events.js';

const plain = new Chalk({ level: 0 });
const MB = 1024 * 1024;

const events: FullLoadEvent[] = [
  { type: 'phase', database: 'shop', phase: 'copy' },
  {
    type: 'plan',
    database: 'shop',
    tables: [
      { table: 'app.events', parts: 2, format: 'binary', estimatedBytes: 20 * MB, estimatedRows: 1000 },
      {
        table: '"Sales Ünïcode"."Order Items"',
        parts: 1,
        format: 'text',
        estimatedBytes: 10 * MB,
        estimatedRows: 500,
      },
    ],
  },
  { type: 'unit-started', database: 'shop', table: 'app.events', part: 0, parts: 2 },
  { type: 'unit-started', database: 'shop', table: 'app.events', part: 1, parts: 2 },
  { type: 'unit-progress', database: 'shop', table: 'app.events', part: 0, bytes: 4 * MB },
  { type: 'unit-progress', database: 'shop', table: 'app.events', part: 0, bytes: 6 * MB },
  { type: 'unit-progress', database: 'shop', table: 'app.events', part: 1, bytes: 4 * MB },
];

function model(list: FullLoadEvent[], at = 0): ProgressModel {
  const m = new ProgressModel();
  list.forEach((e, i) => m.apply(e, at + i));
  return m;
}

describe('progress model', () => {
  it('adds running parts by their latest count, not by summing reports', () => {
    const m = model(events);
    expect(m.tables.get('shop\0app.events')!.bytes).toBe(10 * MB);
    expect(m.overall()).toMatchObject({ bytes: 10 * MB, estimatedBytes: 30 * MB, tablesDone: 0, tables: 2 });
  });

  it('a table is done when its last range is, with COPY row counts', () => {
    const m = model([
      ...events,
      {
        type: 'unit-done',
        database: 'shop',
        table: 'app.events',
        part: 0,
        parts: 2,
        rows: 600,
        bytes: 7 * MB,
        ms: 5,
      },
      {
        type: 'unit-done',
        database: 'shop',
        table: 'app.events',
        part: 1,
        parts: 2,
        rows: 401,
        bytes: 5 * MB,
        ms: 5,
      },
    ]);
    const t = m.tables.get('shop\0app.events')!;
    expect(t).toMatchObject({ bytes: 12 * MB, rows: 1001, partsDone: 2 });
    expect(t.finishedAt).toBeDefined();
    expect(m.overall()).toMatchObject({ tablesDone: 1, estimatedBytes: 22 * MB });
  });

  it('lines show bytes, rate, ETA and ranges, without colour when asked', () => {
    const m = new ProgressModel();
    events.forEach((e) => m.apply(e, 0));
    const t = m.tables.get('shop\0app.events')!;
    expect(tableLine(t, 10_000, plain)).toBe(
      '… app.events: 10 MB of ~20 MB, 1024 kB/s, ETA 0:10 [0/2 ranges]',
    );
    expect(overallLine(m, 10_000)).toBe('0/2 tables, 10 MB of ~30 MB, 0 rows, 1024 kB/s, ETA 0:20');
  });

  it('ETA and durations', () => {
    expect(eta(0, 10, 5000)).toBe('');
    expect(eta(5, 10, 500)).toBe('');
    expect(eta(5, 10, 5000)).toBe('ETA 0:05');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });
});

describe('renderers', () => {
  const streams = (isTTY: boolean) => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      s: {
        stdout: { isTTY, write: (t: string) => out.push(t) } as unknown as NodeJS.WritableStream,
        stderr: { isTTY, write: (t: string) => err.push(t) } as unknown as NodeJS.WritableStream,
        env: { NO_COLOR: '1' },
      },
    };
  };

  it('--json: one JSON line per event, no row data', async () => {
    const lines: string[] = [];
    const { s } = streams(false);
    const r = createProgressRenderer(createOutput(true, s), {
      jsonLines: (l) => lines.push(l),
      now: () => 0,
    });
    for (const e of events) r.onEvent(e);
    await r.finish();
    expect(lines).toHaveLength(events.length);
    expect(JSON.parse(lines[0]!)).toEqual({ at: '1970-01-01T00:00:00.000Z', ...events[0] });
  });

  it('off a terminal: plain lines on stderr, one per finished table', async () => {
    const { s, err, out } = streams(false);
    let clock = 0;
    const r = createProgressRenderer(createOutput(false, s), {
      now: () => (clock += 1000),
      plainEveryMs: 1e9,
    });
    for (const e of events) r.onEvent(e);
    r.onEvent({
      type: 'unit-done',
      database: 'shop',
      table: 'app.events',
      part: 0,
      parts: 2,
      rows: 1,
      bytes: 1,
      ms: 1,
    });
    r.onEvent({
      type: 'unit-done',
      database: 'shop',
      table: 'app.events',
      part: 1,
      parts: 2,
      rows: 2,
      bytes: 1,
      ms: 1,
    });
    await r.finish();
    expect(out).toEqual([]);
    expect(err.join('')).toContain('copy (shop)\n');
    expect(err.join('')).toContain('2 tables to copy from shop, ~30 MB\n');
    expect(err.join('')).toMatch(/✔ app\.events: 3 rows, 2 bytes in 0:0\d.* \[2\/2 ranges\]\n/);
    expect(err.join('')).not.toContain('\u001b[');
  });
});

describe('renderFullLoadReport', () => {
  it('a line per database with the snapshot LSN, extras, text tables and warnings', () => {
    const schema = { task: 'shop', ok: true, databases: [], durationMs: 1 };
    const text = renderFullLoadReport(
      {
        task: 'shop',
        ok: true,
        preData: schema,
        postData: schema,
        timings: [{ phase: 'copy', database: 'shop', ms: 2000 }],
        durationMs: 3500,
        databases: [
          {
            source: 'shop',
            target: 'Shop Copy',
            slot: 'dts_shop_shop',
            temporarySlot: true,
            consistentPoint: '0/1A2B3C4',
            snapshotName: '00000003-00000002-1',
            snapshotAt: '2026-01-01T00:00:00.000Z',
            tables: [
              {
                schema: 'app',
                name: 'events',
                format: 'binary',
                formatReason: undefined,
                parts: 4,
                rows: 5001,
                bytes: 4 * MB,
                ms: 1900,
              },
              {
                schema: 'app',
                name: 'select',
                format: 'text',
                formatReason: 'column "m" has the user-defined type app.mood[]',
                parts: 1,
                rows: 3,
                bytes: 100,
                ms: 1,
              },
            ],
            rows: 5004,
            bytes: 4 * MB + 100,
            largeObjects: { count: 1, bytes: 10_020 },
            sequences: 12,
            refreshed: ['app.daily_event_counts'],
            replicaRole: true,
            warnings: ['something to know'],
          },
        ],
      },
      plain,
    );
    expect(text.split('\n')).toEqual([
      'copied shop -> "Shop Copy": 2 tables, 5,004 rows, 4096 kB in 0:02 (2048 kB/s)',
      '  snapshot at 0/1A2B3C4 (temporary slot dts_shop_shop, 2026-01-01T00:00:00.000Z)',
      '  12 sequences set; 1 large objects (10020 bytes); refreshed app.daily_event_counts',
      '  1 tables copied as text: app."select" (column "m" has the user-defined type app.mood[])',
      '  warning something to know',
      'full load of shop done in 3.5s',
    ]);
  });
});

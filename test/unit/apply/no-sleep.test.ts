import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nextGatherMs } from '../../../src/replication/stream.js';

const read = (p: string) => readFileSync(new URL(`../../../src/${p}`, import.meta.url), 'utf8');

describe('the apply loop never sleeps', () => {
  it('has no timers in the applier and the cursor, and in the sync loop only the reconnect backoff', () => {
    for (const f of [
      'apply/applier.ts',
      'apply/checkpoint.ts',
      'replication/cursor.ts',
      'replication/decode.ts',
    ])
      expect(read(f), f).not.toMatch(/setTimeout|setInterval|sleep\(/);
    // The one setTimeout of sync.ts is inside delay(), used between reconnect attempts only.
    const sync = read('replication/sync.ts');
    expect(sync.match(/setTimeout\(/g)).toHaveLength(1);
    expect(sync.match(/await delay\(/g)).toHaveLength(1);
    expect(sync.slice(sync.indexOf('async function session(')).split('function transient')[0]).not.toMatch(
      /setTimeout|await delay|sleep\(/,
    );
  });

  it('leaves the socket unread only while nothing is buffered, and any wake-up ends that pause', () => {
    const stream = read('replication/stream.ts');
    const next = stream.slice(stream.indexOf('async next('), stream.indexOf('interrupt(): void'));
    // Buffered items are handed out before any pause; the pause is the gather window, bounded by the
    // caller's timeout, and ends early on data's notify(), interrupt(), a failure or an abort.
    expect(next.indexOf('const item = this.poll();')).toBeLessThan(next.indexOf('this.sleep('));
    expect(next).toMatch(/if \(item\) return item;[\s\S]*this\.wire\.stream\.pause\(\);/);
    expect(next).toContain('Math.min(this.gatherMs, timeoutMs ?? this.gatherMs)');
    expect(next).toContain('this.wake = () => done(true);');
    expect(next).toContain('this.gatherMs = nextGatherMs(this.gatherMs, this.gathered);');
  });

  it('shortens the gather pause when what arrived during one nears the socket window, so it never throttles', () => {
    // A backlog: every pause ends with a window's worth waiting, so the pause shrinks to none.
    let ms = 4;
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) seen.push((ms = nextGatherMs(ms, 64 * 1024)));
    expect(seen).toEqual([2, 1, 0, 0]);
    // A trickle (a few messages per wake-up): it grows back, to 4 ms at most.
    for (let i = 0; i < 5; i++) seen.push((ms = nextGatherMs(ms, 300)));
    expect(seen.slice(4)).toEqual([1, 2, 4, 4, 4]);
    // In between, it stays.
    expect(nextGatherMs(2, 16 * 1024)).toBe(2);
  });
});

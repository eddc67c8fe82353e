import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

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
    expect(stream).toMatch(/const GATHER_MS = 5;/);
  });
});

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
});

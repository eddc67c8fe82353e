import { describe, expect, it } from 'vitest';
import { runOnWorkers } from '../../../src/copy/workers.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('runOnWorkers', () => {
  it('runs follow-up units before the rest of the queue, each exactly once', async () => {
    const order: string[] = [];
    await runOnWorkers(
      ['w1', 'w2'],
      ['copy a', 'copy b', 'copy c', 'copy d'],
      async (_w, unit) => {
        order.push(unit);
        await tick();
        return unit.startsWith('copy') && unit !== 'copy d' ? [`index ${unit.slice(5)}`] : [];
      },
      () => undefined,
    );
    expect([...order].sort()).toEqual(
      ['copy a', 'copy b', 'copy c', 'copy d', 'index a', 'index b', 'index c'].sort(),
    );
    // An index job is taken before any copy queued after it.
    expect(order.indexOf('index a')).toBeLessThan(order.indexOf('copy d'));
  });

  it('keeps an idle worker waiting while another may still add work, then ends', async () => {
    const seen: string[] = [];
    await runOnWorkers(
      ['w1', 'w2', 'w3'],
      ['slow'],
      async (w, unit) => {
        seen.push(`${w}:${unit}`);
        await tick();
        return unit === 'slow' ? ['late 1', 'late 2'] : [];
      },
      () => undefined,
    );
    expect(seen.map((s) => s.split(':')[1]).sort()).toEqual(['late 1', 'late 2', 'slow']);
  });

  it('stops taking units after the first failure and throws it', async () => {
    let aborted = 0;
    const ran: string[] = [];
    const failure = await runOnWorkers(
      ['w1'],
      ['a', 'b', 'c'],
      async (_w, unit) => {
        ran.push(unit);
        if (unit === 'a') return ['x'];
        if (unit === 'x') throw new Error('index failed');
        return [];
      },
      () => aborted++,
    ).catch((e: unknown) => e);
    expect((failure as Error).message).toBe('index failed');
    expect(ran).toEqual(['a', 'x']);
    expect(aborted).toBe(1);
  });
});

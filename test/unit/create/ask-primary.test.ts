import { describe, expect, it } from 'vitest';
import type { AnsweredEndpoint } from '../../../src/cli/wizard/ask-endpoint.js';
import { askPrimary } from '../../../src/cli/wizard/ask-primary.js';
import { plaintextSides, withoutSecrets } from '../../../src/cli/wizard/password.js';
import { Secret } from '../../../src/task/secret.js';
import { scriptedPrompts as scripted } from '../../harness/scripted-prompts.js';

const source: AnsweredEndpoint = {
  file: { url: 'postgresql://app@replica1/shop', password: '${DTS_SOURCE_PASSWORD}' },
  password: new Secret('pw'),
  choice: { kind: 'env', variable: 'DTS_SOURCE_PASSWORD' },
};

const STANDBY_SAID =
  'say: The source is a standby (in recovery): dts creates the publication on its primary and asks the primary for a snapshot record so the slot on the standby is made at once.';

describe('askPrimary', () => {
  it('asks nothing when the source is not a standby, or for a structure-only task', async () => {
    for (const mode of ['structure', 'full', 'full+incremental'] as const) {
      const s = scripted([]);
      expect(await askPrimary(s.prompts, mode, false, source)).toBeUndefined();
      expect(s.asked).toEqual([]);
    }
    const s = scripted([]);
    expect(await askPrimary(s.prompts, 'structure', true, source)).toBeUndefined();
    expect(s.asked).toEqual([]);
  });

  it('full+incremental on a standby: the primary is required, with its own password variable', async () => {
    const s = scripted(['url', 'postgresql://app@db0/shop', 'pw-p', 'env', 'DTS_PRIMARY_PASSWORD']);
    const primary = await askPrimary(s.prompts, 'full+incremental', true, source);
    expect(s.asked).toEqual([
      STANDBY_SAID,
      'How do you reach the primary server?',
      'primary URL (without the password)',
      "primary password (hidden; empty: the source's)",
      'How should the task file get this password?',
      'Variable name',
    ]);
    expect(primary?.file).toEqual({ url: 'postgresql://app@db0/shop', password: '${DTS_PRIMARY_PASSWORD}' });
    expect(primary?.password?.reveal()).toBe('pw-p');
    expect(s.left()).toBe(0);
  });

  it("an empty primary password means the source's password entry", async () => {
    const s = scripted(['url', 'postgresql://app@db0/shop', '']);
    const primary = await askPrimary(s.prompts, 'full+incremental', true, source);
    expect(primary).toEqual({
      file: { url: 'postgresql://app@db0/shop', password: '${DTS_SOURCE_PASSWORD}' },
      password: source.password,
      choice: source.choice,
    });
  });

  it('mode full on a standby: the primary is offered, and may be declined', async () => {
    const s = scripted([false]);
    expect(await askPrimary(s.prompts, 'full', true, source)).toBeUndefined();
    expect(s.asked).toEqual([
      STANDBY_SAID,
      "Name the primary? (optional for mode full; without it the start waits for the primary's next snapshot record)",
    ]);
  });
});

describe('primary passwords in what create prints', () => {
  const task = {
    name: 'replica',
    mode: 'full' as const,
    source: { host: 'r', password: '${DTS_SOURCE_PASSWORD}', primary: { host: 'p', password: 'pw-1' } },
    target: { host: 't' },
  };

  it('names the primary among the plain-text passwords and masks it in --json', () => {
    expect(plaintextSides(task)).toEqual(['primary']);
    expect(withoutSecrets(task).source).toEqual({
      host: 'r',
      password: '${DTS_SOURCE_PASSWORD}',
      primary: { host: 'p', password: '********' },
    });
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readmeWithUsage } from '../../scripts/readme-usage.js';

describe('README', () => {
  it('shows the real --help of every command (run npm run readme to refresh)', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toBe(await readmeWithUsage(readme));
  });
});

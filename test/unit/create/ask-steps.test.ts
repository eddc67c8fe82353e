import { screen } from '@inquirer/testing/vitest';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
// After @inquirer/testing/vitest, so the real prompts draw on its screen.
import { askEndpoint } from '../../../src/cli/wizard/ask-endpoint.js';
import { askMode, askSchedule } from '../../../src/cli/wizard/ask-task.js';
import { inquirerPrompts } from '../../../src/cli/wizard/prompts.js';

function prompts() {
  const said = new PassThrough();
  let text = '';
  said.on('data', (d: Buffer) => (text += d.toString()));
  return { prompts: inquirerPrompts({ input: new PassThrough(), output: said }), said: () => text };
}

// The first screen pays for loading inquirer: seconds on a busy machine.
describe('wizard steps on inquirer screens', { timeout: 30_000 }, () => {
  it('source by URL: refuses a password in the URL, asks it hidden, stores a reference', async () => {
    const { prompts: p } = prompts();
    const answer = askEndpoint(p, 'source');
    expect(screen.getScreen()).toContain('How do you reach the source server?');
    screen.keypress('enter');
    await screen.next();
    screen.type('postgresql://app:hunter2@db1/shop');
    screen.keypress('enter');
    await screen.next();
    expect(screen.getScreen()).toContain('leave the password out of the URL; it is asked next, hidden');
    for (let i = 0; i < 'postgresql://app:hunter2@db1/shop'.length; i++) screen.keypress('backspace');
    screen.type('postgresql://app@db1/shop');
    screen.keypress('enter');
    await screen.next();
    expect(screen.getScreen()).toContain('source password');
    screen.type('hunter2');
    expect(screen.getScreen()).not.toContain('hunter2');
    // Neither the password nor its length shows.
    expect(screen.getScreen()).toContain('[input is masked]');
    expect(screen.getScreen()).not.toContain('*******');
    screen.keypress('enter');
    await screen.next();
    expect(screen.getScreen()).toContain('How should the task file get this password?');
    screen.keypress('enter');
    await screen.next();
    expect(screen.getScreen()).toContain('DTS_SOURCE_PASSWORD');
    screen.keypress('enter');
    const result = await answer;
    expect(result.file).toEqual({ url: 'postgresql://app@db1/shop', password: '${DTS_SOURCE_PASSWORD}' });
    expect(result.password?.reveal()).toBe('hunter2');
    expect(await screen.getFullOutput()).not.toContain('hunter2');
  });

  it('target field by field, password in plain text only when chosen, with a warning', async () => {
    const { prompts: p, said } = prompts();
    const answer = askEndpoint(p, 'target');
    screen.keypress('down');
    screen.keypress('enter');
    await screen.next();
    screen.type('db2.internal');
    screen.keypress('enter');
    await screen.next();
    screen.type('x');
    screen.keypress('enter');
    await screen.next();
    expect(screen.getScreen()).toContain('expected a port number');
    screen.keypress('backspace');
    screen.type('6432');
    screen.keypress('enter');
    await screen.next();
    screen.keypress('enter'); // user: postgres
    await screen.next();
    screen.type('shop');
    screen.keypress('enter');
    await screen.next();
    screen.type('pw-2');
    screen.keypress('enter');
    await screen.next();
    screen.keypress('down');
    screen.keypress('enter');
    const result = await answer;
    expect(result.file).toEqual({
      host: 'db2.internal',
      port: 6432,
      user: 'postgres',
      database: 'shop',
      password: 'pw-2',
    });
    expect(said()).toBe(
      'The target password will be written in plain text; dts validate will warn about it.\n',
    );
  });

  it('no password typed: no password key, libpq rules apply', async () => {
    const { prompts: p } = prompts();
    const answer = askEndpoint(p, 'source');
    screen.keypress('enter');
    await screen.next();
    screen.type('postgresql://app@db1/shop');
    screen.keypress('enter');
    await screen.next();
    screen.keypress('enter');
    const result = await answer;
    expect(result).toEqual({
      file: { url: 'postgresql://app@db1/shop' },
      password: undefined,
      choice: { kind: 'none' },
    });
  });

  it('schedule: empty means at once, a bad time is explained', async () => {
    const { prompts: p } = prompts();
    const answer = askSchedule(p);
    screen.type('2026-12-01 02:00');
    screen.keypress('enter');
    await screen.next();
    expect(screen.getScreen()).toContain(
      'expected an ISO-8601 time with an offset, e.g. 2026-12-01T02:00:00+01:00',
    );
    for (let i = 0; i < '2026-12-01 02:00'.length; i++) screen.keypress('backspace');
    screen.keypress('enter');
    expect(await answer).toBeUndefined();
  });

  it('mode: full+incremental is the default', async () => {
    const { prompts: p } = prompts();
    const answer = askMode(p);
    expect(screen.getScreen()).toContain('❯ full+incremental');
    screen.keypress('up');
    screen.keypress('enter');
    expect(await answer).toBe('full');
  });
});

import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { optionsSchema } from '../../../src/task/file-schema.js';
import { loadDefaults, loadTask } from '../../../src/task/load.js';
import { parseDefaults } from '../../../src/task/parse.js';
import { DtsError } from '../../../src/errors.js';

const exampleText = readFileSync(new URL('../../../.dtsrc.example.yaml', import.meta.url), 'utf8');

describe('.dtsrc.example.yaml', () => {
  it('is a valid defaults file', () => {
    expect(parseDefaults(parse(exampleText), '.dtsrc.example.yaml', exampleText)).toMatchObject({
      parallel: 4,
      namePrefix: 'dts',
    });
  });

  it('documents every option key', () => {
    const documented = Object.keys((parse(exampleText) as { options: object }).options).sort();
    expect(documented).toEqual(Object.keys(optionsSchema.shape).sort());
  });
});

describe('loadTask with defaults found by cosmiconfig', () => {
  const root = mkdtempSync(join(tmpdir(), 'dts-rc-'));
  const tasks = join(root, 'tasks');
  mkdirSync(tasks);
  writeFileSync(join(root, '.dtsrc.yaml'), 'options:\n  parallel: 3\n  namePrefix: mig\n');
  writeFileSync(
    join(tasks, 't.yaml'),
    'name: t\nmode: full\nsource: { host: a }\ntarget: { host: b }\noptions: { parallel: 5 }\n',
  );

  it('applies the nearest .dtsrc.yaml above the task file, the task winning', async () => {
    const task = await loadTask(join(tasks, 't.yaml'), {});
    expect(task.options.parallel).toBe(5);
    expect(task.options.namePrefix).toBe('mig');
    expect((await loadDefaults(tasks)).file).toBe(join(root, '.dtsrc.yaml'));
  });

  it('rejects unknown keys in the defaults file with a line', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'dts-rc-bad-'));
    writeFileSync(join(bad, '.dtsrc.yaml'), 'options:\n  paralell: 3\n');
    const e = await loadDefaults(bad).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DtsError);
    expect((e as DtsError).details).toEqual([
      'options.paralell (line 2): unknown key; did you mean "parallel"?',
    ]);
  });

  it('says when the task file does not exist', async () => {
    const e = await loadTask(join(root, 'missing.yaml'), {}).catch((err: unknown) => err);
    expect((e as DtsError).message).toBe(`task file not found: ${join(root, 'missing.yaml')}`);
  });
});

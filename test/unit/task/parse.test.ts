import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DtsError } from '../../../src/errors.js';
import { taskJsonSchemaText } from '../../../src/task/json-schema.js';
import { parseSize, parseTask } from '../../../src/task/parse.js';
import { didYouMean } from '../../../src/task/problems.js';

const env = { DTS_SRC_PW: 'src-Secret-1', DB_HOST: 'db1.internal' };
const ctx = { file: '/tasks/shop.yaml', env };

function problems(text: string, e: NodeJS.ProcessEnv = env): string[] {
  try {
    parseTask(text, { file: '/tasks/shop.yaml', env: e });
  } catch (err) {
    expect(err).toBeInstanceOf(DtsError);
    return [(err as DtsError).message, ...(err as DtsError).details];
  }
  throw new Error('expected the task to be rejected');
}

const minimal = `name: shop
mode: full+incremental
source:
  url: postgresql://app@src.example:5433/shop?sslmode=require
  password: \${DTS_SRC_PW}
target:
  host: \${DB_HOST}
  user: admin
  database: shop
`;

describe('parseTask', () => {
  it('normalises a minimal task', () => {
    const task = parseTask(minimal, ctx);
    expect(task.name).toBe('shop');
    expect(task.mode).toBe('full+incremental');
    expect(task.file).toBe('/tasks/shop.yaml');
    expect(task.schedule).toBeUndefined();
    expect(task.source).toMatchObject({
      host: 'src.example',
      port: 5433,
      user: 'app',
      database: 'shop',
      sslmode: 'require',
      password: { kind: 'env', variable: 'DTS_SRC_PW' },
    });
    expect(task.target).toMatchObject({ host: 'db1.internal', port: 5432, user: 'admin', database: 'shop' });
    expect(task.target.password).toEqual({ kind: 'default' });
    expect(task.objects).toEqual({
      databases: [{ name: 'shop', include: [], exclude: [] }],
      include: [],
      exclude: [],
    });
    expect(task.options.namePrefix).toBe('dts');
    expect(task.options.missingRoles).toBe('error');
  });

  it('reads source.primary (a standby source): its database defaults to the source one', () => {
    const withPrimary = (keys: string) =>
      parseTask(minimal.replace('target:', `  primary:\n${keys}target:`), ctx).sourcePrimary;
    expect(parseTask(minimal, ctx).sourcePrimary).toBeUndefined();
    expect(withPrimary('    host: db0.internal\n    password: ${DTS_SRC_PW}\n')).toMatchObject({
      host: 'db0.internal',
      port: 5432,
      database: 'shop',
      password: { kind: 'env', variable: 'DTS_SRC_PW' },
    });
    expect(withPrimary('    url: postgresql://app@db0:5434\n')).toMatchObject({
      port: 5434,
      database: 'shop',
    });
    expect(withPrimary('    url: postgresql://app@db0/other\n')).toMatchObject({ database: 'other' });
    expect(problems(minimal.replace('target:', '  primary:\n    user: app\ntarget:'))).toEqual([
      '/tasks/shop.yaml: the task file is not valid (1 problem)',
      'source.primary (line 7): give url or host',
    ]);
  });

  it('keeps an inline password as a secret that never prints', () => {
    const task = parseTask(minimal.replace('${DTS_SRC_PW}', 'hunter2-inline'), ctx);
    expect(task.source.password.kind).toBe('inline');
    expect(JSON.stringify(task)).not.toContain('hunter2-inline');
    expect(`${JSON.stringify(task.source)}`).toContain('********');
  });

  it('treats a password inside the URL as inline, and a ${VAR} there as a reference', () => {
    const inline = parseTask(
      minimal.replace('app@src', 'app:p%40ss@src').replace(/ {2}password: .*\n/, ''),
      ctx,
    );
    expect(inline.source.password.kind).toBe('inline');
    expect(JSON.stringify(inline)).not.toContain('p@ss');
    const ref = parseTask(
      minimal.replace('app@src', 'app:${DTS_SRC_PW}@src').replace(/ {2}password: .*\n/, ''),
      ctx,
    );
    expect(ref.source.password).toEqual({ kind: 'env', variable: 'DTS_SRC_PW' });
  });

  it('reads selections: all databases, lists, per-database patterns', () => {
    const all = parseTask(minimal + 'objects:\n  databases: all\n  exclude: audit.*\n', ctx);
    expect(all.objects).toEqual({ databases: 'all', include: [], exclude: ['audit.*'] });
    const listed = parseTask(
      minimal +
        'objects:\n  databases:\n    - shop\n    - name: billing\n      include: [public.invoice*, "Sales Ünïcode.*"]\n      exclude: public.tmp\n',
      ctx,
    );
    expect(listed.objects.databases).toEqual([
      { name: 'shop', include: [], exclude: [] },
      { name: 'billing', include: ['public.invoice*', 'Sales Ünïcode.*'], exclude: ['public.tmp'] },
    ]);
  });

  it('takes options from defaults, the file winning', () => {
    const task = parseTask(minimal + 'options:\n  parallel: 3\n  splitTableBytes: 512MB\n', {
      ...ctx,
      defaults: { parallel: 6, namePrefix: 'mig', roleMap: { old: 'new' } },
    });
    expect(task.options).toEqual({
      parallel: 3,
      namePrefix: 'mig',
      splitTableBytes: 512 * 1024 * 1024,
      missingRoles: 'error',
      roleMap: { old: 'new' },
    });
  });

  it('splitTableBytes: auto (or none) leaves the threshold to the copy plan, also over a default size', () => {
    const sized = { ...ctx, defaults: { splitTableBytes: '2GB' } };
    expect(parseTask(minimal + 'options:\n  splitTableBytes: auto\n', sized).options.splitTableBytes).toBe(
      undefined,
    );
    expect(parseTask(minimal, ctx).options.splitTableBytes).toBe(undefined);
    expect(parseTask(minimal, sized).options.splitTableBytes).toBe(2 * 1024 ** 3);
  });

  it('parses a schedule with an offset', () => {
    const task = parseTask(minimal + 'schedule: 2026-12-01T02:00:00+01:00\n', ctx);
    expect(task.schedule?.toISOString()).toBe('2026-12-01T01:00:00.000Z');
  });
});

describe('parseTask errors', () => {
  it('reports every problem at once, by line, with paths and suggestions', () => {
    const text = `name: shop
mode: fulll
source:
  hots: a
  port: eighty
target:
  url: postgresql://x@y/z
optoins:
  parallel: 2
`;
    expect(problems(text)).toEqual([
      '/tasks/shop.yaml: the task file is not valid (5 problems)',
      'mode (line 2): expected one of: structure, full, full+incremental',
      'source.hots (line 4): unknown key; did you mean "host"?',
      'source (line 4): give url or host',
      'source.port (line 5): expected a port number',
      'optoins (line 8): unknown key; did you mean "options"?',
    ]);
  });

  it('says which line malformed YAML breaks on', () => {
    const [head, detail] = problems('name: shop\nmode: full\nsource: [a, b\ntarget: {}\n');
    expect(head).toBe('/tasks/shop.yaml: the task file is not valid YAML (1 problem)');
    expect(detail).toBe(
      '(file) (line 4): Flow sequence in block collection must be sufficiently indented and end with a ]',
    );
  });

  it('requires the top-level fields', () => {
    expect(problems('name: shop\n')).toEqual([
      '/tasks/shop.yaml: the task file is not valid (3 problems)',
      'mode (line 1): required',
      'source (line 1): required',
      'target (line 1): required',
    ]);
  });

  it('names a missing environment variable without echoing anything else', () => {
    expect(problems(minimal, { DTS_SRC_PW: 'x' })).toEqual([
      '/tasks/shop.yaml: the task file is not valid (1 problem)',
      'target.host (line 7): environment variable DB_HOST is not set',
    ]);
  });

  it('never echoes a password that fails validation', () => {
    const text = minimal.replace('app@src', 'app:TopSecret99@src').replace(/^mode: .*$/m, 'mode: sideways');
    const lines = problems(text);
    expect(lines.join('\n')).not.toContain('TopSecret99');
    expect(lines[1]).toBe('mode (line 2): expected one of: structure, full, full+incremental');
  });

  it('rejects a schedule without an offset', () => {
    expect(problems(minimal + 'schedule: 2026-12-01T02:00:00\n')[1]).toBe(
      'schedule (line 10): expected an ISO-8601 time with an offset, e.g. 2026-12-01T02:00:00+01:00',
    );
  });

  it('rejects unknown keys in nested selections and options', () => {
    expect(
      problems(minimal + 'objects:\n  databases:\n    - name: a\n      exlude: x\noptions:\n  paralel: 2\n'),
    ).toEqual([
      '/tasks/shop.yaml: the task file is not valid (2 problems)',
      'objects.databases[0].exlude (line 13): unknown key; did you mean "exclude"?',
      'options.paralel (line 15): unknown key; did you mean "parallel"?',
    ]);
  });

  it('rejects a document that is not a mapping', () => {
    expect(problems('- a\n- b\n')).toEqual([
      '/tasks/shop.yaml: the task file is not valid (1 problem)',
      '(file) (line 1): expected a mapping with name, mode, source and target',
    ]);
  });
});

describe('helpers', () => {
  it('suggests close keys only', () => {
    expect(didYouMean('hots', ['host', 'port'])).toBe('host');
    expect(didYouMean('zzzzzz', ['host', 'port'])).toBeUndefined();
  });
  it('parses sizes in binary units', () => {
    expect(parseSize('2GB')).toBe(2 * 1024 ** 3);
    expect(parseSize('1.5 MB')).toBe(1.5 * 1024 ** 2);
    expect(parseSize(4096)).toBe(4096);
  });
});

describe('JSON Schema', () => {
  it('matches the committed schema/task.schema.json (run npm run schema:generate after changing the task schema)', () => {
    const committed = readFileSync(new URL('../../../schema/task.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(taskJsonSchemaText());
  });
});

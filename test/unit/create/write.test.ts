import { describe, expect, it } from 'vitest';
import type { TaskFile } from '../../../src/task/file-schema.js';
import { parseTask } from '../../../src/task/parse.js';
import { passwordVariables, renderTaskFile } from '../../../src/task/write.js';

const full: TaskFile = {
  // Keys deliberately out of order: the writer puts them in reading order.
  options: { parallel: 4, namePrefix: 'shop' },
  objects: {
    exclude: ['public.tmp_*'],
    databases: ['shop', { name: 'billing', include: ['public.invoice*', 'sales.*'] }],
    include: ['*.orders'],
  },
  target: { database: 'shop', user: 'admin', port: 6432, host: 'shop.cloud.example', sslmode: 'verify-full' },
  source: {
    password: '${DTS_SOURCE_PASSWORD}',
    url: 'postgresql://app@db1.internal:5432/shop?sslmode=require',
  },
  mode: 'full+incremental',
  schedule: '2026-12-01T02:00:00+01:00',
  name: 'shop',
};

describe('renderTaskFile', () => {
  it('writes a commented header and keys in reading order', () => {
    expect(renderTaskFile(full, 'tasks/shop.yaml')).toBe(
      `# dts migration task "shop", written by dts create.
# Check it:  dts validate tasks/shop.yaml
# Run it:    dts run tasks/shop.yaml
# Passwords are read from the environment when dts connects: export DTS_SOURCE_PASSWORD first.
# Every key is described in schema/task.schema.json.

name: shop
schedule: 2026-12-01T02:00:00+01:00
mode: full+incremental

source:
  url: postgresql://app@db1.internal:5432/shop?sslmode=require
  password: \${DTS_SOURCE_PASSWORD}

target:
  host: shop.cloud.example
  port: 6432
  user: admin
  database: shop
  sslmode: verify-full

objects:
  databases:
    - shop
    - name: billing
      include: [public.invoice*, sales.*]
  include: ["*.orders"]
  exclude: [public.tmp_*]

options:
  parallel: 4
  namePrefix: shop
`,
    );
  });

  it('writes a minimal task without empty sections', () => {
    const minimal: TaskFile = {
      name: 'tiny',
      mode: 'structure',
      source: { url: 'postgresql://a@h1/db' },
      target: { url: 'postgresql://b@h2/db', password: '${PW}' },
    };
    expect(renderTaskFile(minimal, 'tiny.yaml')).toBe(
      `# dts migration task "tiny", written by dts create.
# Check it:  dts validate tiny.yaml
# Run it:    dts run tiny.yaml
# Passwords are read from the environment when dts connects: export PW first.
# Every key is described in schema/task.schema.json.

name: tiny
mode: structure

source:
  url: postgresql://a@h1/db

target:
  url: postgresql://b@h2/db
  password: \${PW}
`,
    );
  });

  it('marks a plain-text password and quotes what YAML would misread', () => {
    const text = renderTaskFile(
      {
        name: 'odd',
        mode: 'full',
        source: { host: 'h', password: '#not a comment: 1' },
        target: { host: 'h', database: 'yes' },
        objects: { databases: ['123', 'Order Items'] },
      },
      'odd.yaml',
    );
    expect(text).toContain(
      '  password: "#not a comment: 1" # plain text: dts validate warns; prefer a ${VAR} reference\n',
    );
    const task = parseTask(text, { file: '/t/odd.yaml', env: {} });
    expect(task.source.password).toMatchObject({ kind: 'inline' });
    expect(task.source.password.kind === 'inline' && task.source.password.value.reveal()).toBe(
      '#not a comment: 1',
    );
    expect(task.target.database).toBe('yes');
    expect(task.objects.databases).toEqual([
      { name: '123', include: [], exclude: [] },
      { name: 'Order Items', include: [], exclude: [] },
    ]);
  });

  it('parses back into the intended task', () => {
    const task = parseTask(renderTaskFile(full, 'shop.yaml'), { file: '/tasks/shop.yaml', env: {} });
    expect(task).toMatchObject({
      name: 'shop',
      mode: 'full+incremental',
      schedule: new Date('2026-12-01T01:00:00Z'),
      source: {
        host: 'db1.internal',
        port: 5432,
        user: 'app',
        database: 'shop',
        sslmode: 'require',
        password: { kind: 'env', variable: 'DTS_SOURCE_PASSWORD' },
      },
      target: {
        host: 'shop.cloud.example',
        port: 6432,
        user: 'admin',
        database: 'shop',
        sslmode: 'verify-full',
        password: { kind: 'default' },
      },
      objects: {
        databases: [
          { name: 'shop', include: [], exclude: [] },
          { name: 'billing', include: ['public.invoice*', 'sales.*'], exclude: [] },
        ],
        include: ['*.orders'],
        exclude: ['public.tmp_*'],
      },
      options: { parallel: 4, namePrefix: 'shop' },
    });
  });

  it('lists the password variables once each', () => {
    expect(passwordVariables(full)).toEqual(['DTS_SOURCE_PASSWORD']);
    expect(passwordVariables({ ...full, target: { host: 'h', password: '${DTS_SOURCE_PASSWORD}' } })).toEqual(
      ['DTS_SOURCE_PASSWORD'],
    );
  });

  it("writes a standby source's primary inside source, in server key order, and lists its variable", () => {
    const standby: TaskFile = {
      name: 'replica',
      mode: 'full+incremental',
      source: {
        primary: { password: '${DTS_PRIMARY_PASSWORD}', url: 'postgresql://app@db0.internal/shop' },
        password: '${DTS_SOURCE_PASSWORD}',
        url: 'postgresql://app@replica1.internal/shop',
      },
      target: { url: 'postgresql://admin@t/shop', password: 'pw 3' },
    };
    expect(renderTaskFile(standby, 'replica.yaml')).toBe(
      `# dts migration task "replica", written by dts create.
# Check it:  dts validate replica.yaml
# Run it:    dts run replica.yaml
# Passwords are read from the environment when dts connects: export DTS_SOURCE_PASSWORD and DTS_PRIMARY_PASSWORD first.
# Every key is described in schema/task.schema.json.

name: replica
mode: full+incremental

source:
  url: postgresql://app@replica1.internal/shop
  password: \${DTS_SOURCE_PASSWORD}
  primary:
    url: postgresql://app@db0.internal/shop
    password: \${DTS_PRIMARY_PASSWORD}

target:
  url: postgresql://admin@t/shop
  password: pw 3 # plain text: dts validate warns; prefer a \${VAR} reference
`,
    );
    const task = parseTask(renderTaskFile(standby, 'replica.yaml'), { file: '/t/replica.yaml', env: {} });
    expect(task.sourcePrimary).toMatchObject({
      host: 'db0.internal',
      database: 'shop',
      password: { kind: 'env', variable: 'DTS_PRIMARY_PASSWORD' },
    });
  });

  it("marks the primary's plain-text password like any other", () => {
    const text = renderTaskFile(
      {
        name: 'replica',
        mode: 'full',
        source: { host: 'r', primary: { host: 'p', password: 'pw-1' } },
        target: { host: 't' },
      },
      'replica.yaml',
    );
    expect(text).toContain(
      '  primary:\n    host: p\n    password: pw-1 # plain text: dts validate warns; prefer a ${VAR} reference\n',
    );
  });
});

import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { DtsError, ExitCode } from '../errors.js';
import {
  rcSchema,
  taskFileSchema,
  type EndpointFile,
  type OptionsFile,
  type TaskFile,
} from './file-schema.js';
import { didYouMean, formatProblem, Locator, type Problem } from './problems.js';
import { Secret } from './secret.js';
import type {
  DatabaseSelection,
  Endpoint,
  Options,
  PasswordSource,
  Selection,
  SslMode,
  Task,
} from './types.js';

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE_ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export interface ParseContext {
  /** Path of the file, for messages and for resolving relative paths (keys, certificates). */
  readonly file: string;
  readonly env: NodeJS.ProcessEnv;
  /** Option defaults from .dtsrc.yaml; the task file's own options win. */
  readonly defaults?: OptionsFile;
}

/**
 * Task file text -> validated Task. Every problem is reported at once, each with its path and line;
 * no message ever contains a password (values are never echoed, only paths).
 */
export function parseTask(text: string, ctx: ParseContext): Task {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const locator = new Locator(doc, lines);
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => ({
      path: [],
      line: e.linePos?.[0]?.line,
      message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
    }));
    throw taskError(ctx.file, problems, 'the task file is not valid YAML');
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw taskError(ctx.file, [
      { path: [], line: 1, message: 'expected a mapping with name, mode, source and target' },
    ]);
  }
  const problems: Problem[] = [];
  const expanded = expandEnv(raw, [], ctx.env, locator, problems);
  const parsed = taskFileSchema.safeParse(expanded);
  if (!parsed.success) problems.push(...zodProblems(parsed.error, locator, expanded));
  for (const side of ['source', 'target'] as const) {
    const e = (expanded as Record<string, unknown>)[side];
    if (e && typeof e === 'object' && !('url' in e) && !('host' in e)) {
      problems.push({ path: [side], line: locator.line([side]), message: 'give url or host' });
    }
  }
  const primaryFile = (expanded as { source?: { primary?: unknown } }).source?.primary;
  if (primaryFile && typeof primaryFile === 'object' && !('url' in primaryFile) && !('host' in primaryFile))
    problems.push({
      path: ['source', 'primary'],
      line: locator.line(['source', 'primary']),
      message: 'give url or host',
    });
  if (problems.length > 0 || !parsed.success) throw taskError(ctx.file, problems);

  const file: TaskFile = parsed.data;
  const base = dirname(resolve(ctx.file));
  const source = normaliseEndpoint(file.source, ['source'], base, ctx.env, locator, problems);
  const target = normaliseEndpoint(file.target, ['target'], base, ctx.env, locator, problems);
  const primary =
    file.source.primary &&
    normaliseEndpoint(file.source.primary, ['source', 'primary'], base, ctx.env, locator, problems);
  if (problems.length > 0 || !source || !target) throw taskError(ctx.file, problems);
  const schedule = file.schedule === undefined ? undefined : new Date(file.schedule);
  if (schedule && Number.isNaN(schedule.getTime())) {
    throw taskError(ctx.file, [
      { path: ['schedule'], line: locator.line(['schedule']), message: 'not a valid date and time' },
    ]);
  }
  return {
    name: file.name,
    file: resolve(ctx.file),
    schedule,
    mode: file.mode,
    source,
    // The primary holds the same databases: unless told otherwise, connect to the source's.
    ...(primary
      ? {
          sourcePrimary:
            file.source.primary?.database !== undefined ||
            /^\w+:\/\/[^/?]*\/[^?]/.test(file.source.primary?.url ?? '')
              ? primary
              : { ...primary, database: source.database },
        }
      : {}),
    target,
    objects: normaliseSelection(file.objects, source),
    options: normaliseOptions(ctx.defaults, file.options),
  };
}

/** Parse and check the cosmiconfig defaults file with the same rules as a task file's options. */
export function parseDefaults(value: unknown, file: string, text?: string): OptionsFile {
  const lines = new LineCounter();
  const doc = parseDocument(text ?? '', { lineCounter: lines });
  const locator = new Locator(doc, lines);
  const parsed = rcSchema.safeParse(value ?? {});
  if (!parsed.success)
    throw taskError(file, zodProblems(parsed.error, locator, value), 'the dts defaults file is not valid');
  return parsed.data.options ?? {};
}

function taskError(
  file: string,
  unsorted: readonly Problem[],
  headline = 'the task file is not valid',
): DtsError {
  const problems = [...unsorted].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const n = problems.length;
  return new DtsError('task-invalid', `${file}: ${headline} (${n} problem${n === 1 ? '' : 's'})`, {
    details: problems.map(formatProblem),
    hint: 'fix the lines above; `dts create` writes a valid task and schema/task.schema.json helps editors',
    exitCode: ExitCode.usage,
  });
}

/** Replace `${VAR}` in every string, except passwords, which stay references until connect time. */
function expandEnv(
  value: unknown,
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  locator: Locator,
  problems: Problem[],
): unknown {
  if (typeof value === 'string') {
    const key = path[path.length - 1];
    if (key === 'password' || key === 'url') return value; // handled in normaliseEndpoint
    return value.replace(ENV_REF, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push({ path, line: locator.line(path), message: `environment variable ${name} is not set` });
        return _m; // keep the reference so the value does not also fail as empty
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, [...path, i], env, locator, problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, [...path, k], env, locator, problems)]),
    );
  }
  return value;
}

function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const p of path)
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

function zodProblems(error: z.ZodError, locator: Locator, input: unknown): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(path);
      for (const key of issue.keys) {
        const guess = didYouMean(key, known);
        problems.push({
          path: [...path, key],
          line: locator.keyLine(path, key),
          message: `unknown key${guess ? `; did you mean "${guess}"?` : known.length ? ` (known: ${known.join(', ')})` : ''}`,
        });
      }
      continue;
    }
    const message = valueAt(input, path) === undefined ? 'required' : describeIssue(issue);
    problems.push({ path, line: locator.line(path), message });
  }
  return problems;
}

/** Zod's messages, reworded for people, never quoting the value (it could be a password). */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  if (issue.code === 'invalid_value') return `expected one of: ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'invalid_union') {
    // Report the branch that got furthest: its first message is the most specific.
    const inner = issue.errors.flat()[0];
    return inner ? describeIssue(inner) : 'not a valid value';
  }
  return issue.message;
}

/** Keys allowed at a path, for "did you mean" (walks the file schema). */
function knownKeys(path: readonly (string | number)[]): string[] {
  let schema: z.ZodType = taskFileSchema;
  for (const p of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject)
      schema = (schema.shape as Record<string, z.ZodType>)[String(p)] ?? schema;
    else if (schema instanceof z.ZodUnion) {
      const obj = (schema.options as z.ZodType[])
        .map(unwrap)
        .find((o) => o instanceof z.ZodObject || o instanceof z.ZodArray);
      if (!obj) return [];
      schema = obj instanceof z.ZodArray ? (obj.element as z.ZodType) : obj;
      if (obj instanceof z.ZodArray) continue;
      schema = (schema as z.ZodObject).shape[String(p)] ?? schema;
    } else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
  }
  schema = unwrap(schema);
  if (schema instanceof z.ZodUnion) {
    const obj = (schema.options as z.ZodType[]).map(unwrap).find((o) => o instanceof z.ZodObject);
    if (obj) schema = obj;
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
  return s;
}

interface UrlParts {
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  password?: string;
  params: URLSearchParams;
}

/** Parse a libpq URI. Errors never include the URI (it may hold a password). */
function parseUrl(url: string): UrlParts | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a valid URL (expected postgresql://user@host:port/database)';
  }
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') {
    return 'expected a postgresql:// URL';
  }
  const decode = (s: string) => (s ? decodeURIComponent(s) : undefined);
  const db = decode(u.pathname.replace(/^\//, ''));
  const parts: UrlParts = { params: u.searchParams };
  const host = decode(u.hostname.replace(/^\[|\]$/g, ''));
  if (host) parts.host = host;
  if (u.port) parts.port = Number(u.port);
  const user = decode(u.username);
  if (user) parts.user = user;
  if (db) parts.database = db;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  if (password !== undefined) parts.password = password;
  return parts;
}

function normaliseEndpoint(
  e: EndpointFile,
  path: string[],
  base: string,
  env: NodeJS.ProcessEnv,
  locator: Locator,
  problems: Problem[],
): Endpoint | undefined {
  const at = (key: string) => ({ path: [...path, key], line: locator.line([...path, key]) });
  let url: UrlParts = { params: new URLSearchParams() };
  if (e.url !== undefined) {
    // A password written as ${VAR} inside the URL stays a reference; everything else in it is expanded.
    const rawUrl = e.url;
    let urlPasswordRef: string | undefined;
    const masked = rawUrl.replace(
      /^(\w+:\/\/[^:/@]*:)\$\{([A-Za-z_][A-Za-z0-9_]*)\}@/,
      (_m, head: string, name: string) => {
        urlPasswordRef = name;
        return `${head}ref@`;
      },
    );
    const expanded = masked.replace(ENV_REF, (_m, name: string) => {
      const v = env[name];
      if (v === undefined)
        problems.push({ ...at('url'), message: `environment variable ${name} is not set` });
      return encodeURIComponent(v ?? '');
    });
    const parts = parseUrl(expanded);
    if (typeof parts === 'string') {
      problems.push({ ...at('url'), message: parts });
      return undefined;
    }
    url = parts;
    if (urlPasswordRef !== undefined) url.password = '${' + urlPasswordRef + '}';
  }
  const host = e.host ?? url.host;
  if (!host) {
    problems.push({ ...at('url'), message: 'the URL names no host' });
    return undefined;
  }
  const sslmode = (e.sslmode ?? url.params.get('sslmode') ?? undefined) as SslMode | undefined;
  if (
    sslmode !== undefined &&
    !['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'].includes(sslmode)
  ) {
    problems.push({
      ...at('url'),
      message: 'sslmode in the URL must be one of disable, allow, prefer, require, verify-ca, verify-full',
    });
  }
  const user = e.user ?? url.user ?? env.PGUSER ?? env.USER ?? 'postgres';
  const passwordText = e.password ?? url.password;
  let password: PasswordSource = { kind: 'default' };
  if (e.password !== undefined && e.passwordFile !== undefined) {
    problems.push({ ...at('passwordFile'), message: 'give password or passwordFile, not both' });
  } else if (e.passwordFile !== undefined) {
    password = { kind: 'file', path: resolve(base, e.passwordFile) };
  } else if (passwordText !== undefined) {
    const ref = WHOLE_ENV_REF.exec(passwordText);
    password = ref ? { kind: 'env', variable: ref[1]! } : { kind: 'inline', value: new Secret(passwordText) };
  }
  const file = (key: 'sslrootcert' | 'sslcert' | 'sslkey') => {
    const v = e[key] ?? url.params.get(key) ?? undefined;
    return v === undefined ? undefined : resolve(base, v);
  };
  const portValue = e.port ?? url.port ?? (env.PGPORT ? Number(env.PGPORT) : 5432);
  return {
    host,
    port: Number(portValue),
    user,
    database: e.database ?? url.database ?? env.PGDATABASE ?? 'postgres',
    password,
    sslmode,
    sslrootcert: file('sslrootcert'),
    sslcert: file('sslcert'),
    sslkey: file('sslkey'),
    ssh: e.ssh && {
      host: e.ssh.host,
      port: Number(e.ssh.port ?? 22),
      user: e.ssh.user,
      privateKey: resolve(base, e.ssh.privateKey),
      knownHosts: e.ssh.knownHosts === undefined ? undefined : resolve(base, e.ssh.knownHosts),
    },
  };
}

const list = (p: string | string[] | undefined): string[] =>
  p === undefined ? [] : typeof p === 'string' ? [p] : p;

function normaliseSelection(objects: TaskFile['objects'], source: Endpoint): Selection {
  const dbs = objects?.databases;
  const databases: Selection['databases'] =
    dbs === 'all'
      ? 'all'
      : (dbs ?? [source.database]).map((d): DatabaseSelection =>
          typeof d === 'string'
            ? { name: d, include: [], exclude: [] }
            : { name: d.name, include: list(d.include), exclude: list(d.exclude) },
        );
  return { databases, include: list(objects?.include), exclude: list(objects?.exclude) };
}

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** `512MB` -> bytes (binary units, like PostgreSQL's own settings). */
export function parseSize(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  if (!m) throw new Error(`not a size: ${value}`);
  return Math.round(Number(m[1]) * (UNITS[(m[2] || 'b').toLowerCase()] ?? 1));
}

export const DEFAULT_OPTIONS: Options = {
  parallel: Math.min(8, Math.max(2, availableParallelism())),
  namePrefix: 'dts',
  splitTableBytes: undefined,
  missingRoles: 'error',
  roleMap: {},
};

function normaliseOptions(defaults: OptionsFile | undefined, own: OptionsFile | undefined): Options {
  const merged = { ...defaults, ...own };
  return {
    parallel: merged.parallel ?? DEFAULT_OPTIONS.parallel,
    namePrefix: merged.namePrefix ?? DEFAULT_OPTIONS.namePrefix,
    splitTableBytes:
      merged.splitTableBytes === undefined || merged.splitTableBytes === 'auto'
        ? DEFAULT_OPTIONS.splitTableBytes
        : parseSize(merged.splitTableBytes),
    missingRoles: merged.missingRoles ?? DEFAULT_OPTIONS.missingRoles,
    roleMap: { ...defaults?.roleMap, ...own?.roleMap },
  };
}

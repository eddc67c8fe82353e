import { Document, isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import type { EndpointFile, TaskFile } from './file-schema.js';

/** Keys in the order people read a task: what and when, where from and to, what to move, tuning. */
const TOP_KEYS = ['name', 'schedule', 'mode', 'source', 'target', 'objects', 'options'] as const;
const ENDPOINT_KEYS = [
  'url',
  'host',
  'port',
  'user',
  'database',
  'password',
  'passwordFile',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'ssh',
] as const;
const OBJECT_KEYS = ['databases', 'include', 'exclude'] as const;
/** Sections that get a blank line above them, so the file reads in blocks. */
const SPACED = new Set<string>(['source', 'target', 'objects', 'options']);

const WHOLE_ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** Copy the keys of `value` that are set, in the order of `keys` (YAML keeps insertion order). */
function ordered<T extends object>(value: T, keys: readonly (keyof T)[]): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) if (value[k] !== undefined) out[k] = value[k];
  return out;
}

/** The variable a `password:` value refers to (`${NAME}`), or undefined for a literal password. */
export function passwordReference(password: string): string | undefined {
  return WHOLE_ENV_REF.exec(password)?.[1];
}

/** The environment variables a task file reads its passwords from, in file order. */
export function passwordVariables(task: TaskFile): string[] {
  const vars: string[] = [];
  for (const e of [task.source, task.source.primary, task.target]) {
    if (e === undefined) continue;
    const v = e.password === undefined ? undefined : passwordReference(e.password);
    if (v !== undefined && !vars.includes(v)) vars.push(v);
  }
  return vars;
}

/** The header comment: what the file is and the commands that use it, so the file explains itself. */
function header(task: TaskFile, path: string): string {
  const vars = passwordVariables(task);
  const lines = [
    ` dts migration task "${task.name}", written by dts create.`,
    ` Check it:  dts validate ${path}`,
    ` Run it:    dts run ${path}`,
  ];
  if (vars.length > 0) {
    lines.push(
      ` Passwords are read from the environment when dts connects: export ${vars.join(' and ')} first.`,
    );
  }
  lines.push(' Every key is described in schema/task.schema.json.');
  return lines.join('\n');
}

/** Short lists of plain values read best on one line: `include: [public.*, sales.orders]`. */
function flowScalarLists(node: Node | null | undefined): void {
  if (isSeq(node)) {
    if (node.items.every((i) => isScalar(i))) node.flow = true;
    else for (const i of node.items) flowScalarLists(i as Node);
  } else if (isMap(node)) {
    for (const p of node.items) flowScalarLists(p.value as Node);
  }
}

function pairNamed(node: Node | null | undefined, key: string): Pair<unknown, Node> | undefined {
  if (!isMap(node)) return undefined;
  return node.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair<unknown, Node> | undefined;
}

/**
 * TaskFile -> the YAML text dts create writes. Pure: the same task always gives the same text, so tests
 * compare it exactly. `path` is how the user will name the file in commands (for the header).
 * A password written in plain text (only on request) is marked with a comment at its line.
 */
export function renderTaskFile(task: TaskFile, path: string): string {
  const endpoint = (e: EndpointFile) => ordered(e, ENDPOINT_KEYS);
  // The primary of a standby source sits last in the source block, ordered like any server.
  const primary = task.source.primary;
  const value = ordered(
    {
      ...task,
      source: { ...endpoint(task.source), ...(primary ? { primary: endpoint(primary) } : {}) },
      target: endpoint(task.target),
      ...(task.objects ? { objects: ordered(task.objects, OBJECT_KEYS) } : {}),
    },
    TOP_KEYS,
  );
  const doc = new Document(value);
  doc.commentBefore = header(task, path);
  const root = doc.contents;
  if (isMap(root)) {
    for (const pair of root.items) {
      if (isScalar(pair.key) && SPACED.has(String(pair.key.value))) pair.key.spaceBefore = true;
    }
  }
  flowScalarLists(pairNamed(root, 'objects')?.value);
  const servers: [Node | null | undefined, string | undefined][] = [
    [pairNamed(root, 'source')?.value, task.source.password],
    [pairNamed(pairNamed(root, 'source')?.value, 'primary')?.value, primary?.password],
    [pairNamed(root, 'target')?.value, task.target.password],
  ];
  for (const [node, text] of servers) {
    const password = pairNamed(node, 'password');
    if (password && text !== undefined && passwordReference(text) === undefined) {
      (password.value as Node).comment = ' plain text: dts validate warns; prefer a ${VAR} reference';
    }
  }
  return doc.toString({ flowCollectionPadding: false, lineWidth: 0 });
}

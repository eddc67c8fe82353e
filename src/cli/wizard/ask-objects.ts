import { listDatabases, listSchemas, listTables } from '../../catalog/browse.js';
import { formatBytes } from '../../catalog/display.js';
import { inRecovery } from '../../copy/standby.js';
import { withConnection, type ConnectOptions } from '../../pg/connect.js';
import type { TaskFile } from '../../task/file-schema.js';
import type { Endpoint } from '../../task/types.js';
import { Separator, type Choice, type Prompts } from './prompts.js';
import {
  includePatterns,
  objectsFromPicks,
  splitPatterns,
  type DatabasePick,
  type Pick,
} from './selection.js';

const size = (bytes: number | undefined) =>
  bytes === undefined ? 'no CONNECT privilege' : formatBytes(bytes);

/** The schema/table pick for one database: each schema as `schema.*`, its tables below it. */
async function askTables(prompts: Prompts, source: Endpoint, connect: ConnectOptions, database: string) {
  const { schemas, tables } = await withConnection(source, { ...connect, database }, async (c) => ({
    schemas: await listSchemas(c.client),
    tables: await listTables(c.client),
  }));
  const choices: (Separator | Choice<Pick>)[] = [];
  for (const schema of schemas) {
    const own = tables.filter((t) => t.schema === schema);
    choices.push(new Separator(`-- ${schema}`));
    const count = `${own.length} table${own.length === 1 ? '' : 's'}`;
    choices.push({
      value: { schema },
      name: `${schema}.*  (the whole schema, ${count})`,
      short: `${schema}.*`,
    });
    for (const t of own) {
      const name = `${schema}.${t.name}`;
      choices.push({ value: { schema, table: t.name }, name: `  ${name}`, short: name });
    }
  }
  const picks = await prompts.checkbox<Pick>({
    message: `Schemas and tables of ${database} (space ticks, enter accepts)`,
    choices,
    required: true,
    pageSize: 15,
  });
  return includePatterns(picks);
}

/** What the person picked on the source, and whether the source turned out to be a standby. */
export interface SourcePick {
  readonly objects: NonNullable<TaskFile['objects']>;
  /** `pg_is_in_recovery()` on the source: a standby, whose primary the wizard then asks for. */
  readonly standby: boolean;
}

/**
 * Connect to the source and let the person pick what to move: every database, or some databases, each
 * whole or narrowed to schemas and tables (written as include patterns), then optional exclude patterns.
 * Connection errors are thrown as they are, for the caller to offer a retry.
 */
export async function askObjects(
  prompts: Prompts,
  source: Endpoint,
  connect: ConnectOptions,
): Promise<SourcePick> {
  const { databases, standby } = await withConnection(source, connect, async (c) => ({
    databases: await listDatabases(c.client),
    standby: await inRecovery(c.client),
  }));
  prompts.say(`Connected to the source: ${databases.length} database(s).`);
  const scope = await prompts.select<'pick' | 'all'>({
    message: 'Which databases?',
    choices: [
      { value: 'pick', name: 'pick databases, schemas and tables' },
      { value: 'all', name: 'every database on the server, including ones created later (databases: all)' },
    ],
  });
  let picked: 'all' | DatabasePick[] = 'all';
  if (scope === 'pick') {
    const names = await prompts.checkbox<string>({
      message: 'Databases (space ticks, enter accepts)',
      choices: databases.map((d) => ({
        value: d.name,
        name: `${d.name}  (${size(d.sizeBytes)})`,
        short: d.name,
        checked: d.name === source.database,
      })),
      required: true,
      pageSize: 15,
    });
    picked = [];
    for (const name of names) {
      const whole = await prompts.select<'whole' | 'some'>({
        message: `What to move from ${name}?`,
        choices: [
          { value: 'whole', name: 'everything' },
          { value: 'some', name: 'pick schemas and tables' },
        ],
      });
      const include = whole === 'whole' ? [] : await askTables(prompts, source, connect, name);
      picked.push({ name, include });
    }
  }
  const exclude = await prompts.input({
    message: 'Leave out (patterns over schema.table, comma-separated, e.g. public.tmp_*; empty = nothing)',
  });
  return { objects: objectsFromPicks(picked, splitPatterns(exclude)), standby };
}

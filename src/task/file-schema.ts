import { z } from 'zod';
import { MODES, SSL_MODES } from './types.js';

/**
 * The task file as written by people: the one source of truth for both validation and the JSON Schema
 * editors use (`npm run schema:generate` writes schema/task.schema.json from it).
 * Strings may contain `${VAR}` references to environment variables, expanded when the file is loaded
 * (a password reference is kept as a reference and read only when connecting).
 */

const port = z
  .union([z.number().int().min(1).max(65535), z.string().regex(/^\d{1,5}$/, 'expected a port number')])
  .describe('TCP port, default 5432');

const nonEmpty = z.string().min(1, 'must not be empty');

export const sshSchema = z
  .strictObject({
    host: nonEmpty.describe('The bastion host'),
    port: port.optional(),
    user: nonEmpty.describe('User on the bastion'),
    privateKey: nonEmpty.describe('Path of the private key file (never the key itself)'),
    knownHosts: nonEmpty.optional().describe('known_hosts file that pins the bastion host key'),
  })
  .describe('Reach the server through an ssh bastion (private network)');

export const endpointSchema = z
  .strictObject({
    url: nonEmpty
      .optional()
      .describe(
        'libpq URI, e.g. postgresql://user@host:5432/db?sslmode=require; fields below override its parts',
      ),
    host: nonEmpty.optional(),
    port: port.optional(),
    user: nonEmpty.optional(),
    database: nonEmpty
      .optional()
      .describe('Database to connect to; for databases: all, the maintenance database'),
    password: z
      .string()
      .optional()
      .describe('Prefer a reference: ${ENV_VAR}. A literal password works but validate warns'),
    passwordFile: nonEmpty.optional().describe('File whose first line is the password'),
    sslmode: z.enum(SSL_MODES).optional(),
    sslrootcert: nonEmpty.optional(),
    sslcert: nonEmpty.optional(),
    sslkey: nonEmpty.optional(),
    ssh: sshSchema.optional(),
  })
  .describe('A PostgreSQL server: url, or host/port/user/database');

/**
 * The source: a primary, or a hot standby of PostgreSQL 16+ (logical decoding works there). A standby is
 * read-only, so for `mode: full+incremental` the publication is made on its primary, given here.
 */
export const sourceSchema = endpointSchema
  .extend({
    primary: endpointSchema
      .optional()
      .describe(
        'When the source is a standby: its primary, used only to create and drop the publication and to make the standby reach a consistent point quickly',
      ),
  })
  .describe('The server to migrate from: url, or host/port/user/database');

const patterns = z
  .union([nonEmpty, z.array(nonEmpty)])
  .describe('Glob patterns over schema.table, e.g. public.*');

export const databaseSelectionSchema = z.union([
  nonEmpty,
  z.strictObject({
    name: nonEmpty,
    include: patterns.optional(),
    exclude: patterns.optional(),
  }),
]);

export const objectsSchema = z
  .strictObject({
    databases: z
      .union([z.literal('all'), z.array(databaseSelectionSchema).min(1, 'list at least one database')])
      .optional()
      .describe('all (every non-template database) or a list; default: the source database'),
    include: patterns.optional(),
    exclude: patterns.optional(),
  })
  .describe('What to migrate');

const size = z
  .union([
    z.number().int().positive(),
    z.string().regex(/^\d+(\.\d+)?\s*(B|kB|KB|MB|GB|TB)?$/i, 'expected a size like 512MB'),
  ])
  .describe('Bytes, or a size such as 512MB or 2GB');

export const optionsSchema = z
  .strictObject({
    parallel: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe('Concurrent COPY workers (default: cores, at most 8)'),
    namePrefix: z
      .string()
      .regex(
        /^[a-z][a-z0-9_]{0,19}$/,
        'expected lower-case letters, digits and _ (at most 20), starting with a letter',
      )
      .optional()
      .describe('Prefix of the replication slot and publication dts creates on the source (default dts)'),
    splitTableBytes: z
      .union([z.literal('auto'), size])
      .optional()
      .describe(
        "Tables larger than this are copied in parallel ranges (default auto: one worker's share of the data, at least 1GB)",
      ),
    missingRoles: z
      .enum(['error', 'skip'])
      .optional()
      .describe(
        'Owners/grantees missing on the target: error, or skip the ownership or grant (default error)',
      ),
    roleMap: z.record(z.string(), nonEmpty).optional().describe('Source role -> target role'),
  })
  .describe('Tuning; defaults come from .dtsrc.yaml');

export const taskFileSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
        'expected letters, digits, _ . - (at most 63), starting with a letter or digit',
      )
      .describe('Task name; used in status and in the names of the slot and publication'),
    schedule: z
      .string()
      .regex(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/,
        'expected an ISO-8601 time with an offset, e.g. 2026-12-01T02:00:00+01:00',
      )
      .optional()
      .describe('When to start (ISO-8601 with offset); absent = at once'),
    mode: z.enum(MODES).describe('structure | full | full+incremental'),
    source: sourceSchema,
    target: endpointSchema,
    objects: objectsSchema.optional(),
    options: optionsSchema.optional(),
  })
  .describe('A dts migration task');

export type TaskFile = z.infer<typeof taskFileSchema>;
export type EndpointFile = z.infer<typeof endpointSchema>;
export type OptionsFile = z.infer<typeof optionsSchema>;

/** The cosmiconfig file (.dtsrc.yaml and friends): defaults for every task's options. */
export const rcSchema = z.strictObject({ options: optionsSchema.optional() }).describe('dts defaults');

import type { Secret } from './secret.js';

/**
 * The validated, normalised task: the only shape the core ever sees. Raw YAML is parsed and checked
 * in `parse.ts`; nothing downstream reads the file again.
 */

export const MODES = ['structure', 'full', 'full+incremental'] as const;
export type Mode = (typeof MODES)[number];

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/**
 * Where a password comes from. The secret itself is never stored here: it is read at connect time,
 * so a Task can be logged, printed or serialised without leaking it.
 */
export type PasswordSource =
  | { kind: 'env'; variable: string }
  | { kind: 'file'; path: string }
  /** Written in the task file (field or URL). Works, but validate warns. */
  | { kind: 'inline'; value: Secret }
  /** Nothing given: libpq's rules apply (PGPASSWORD, then ~/.pgpass), then a prompt on a TTY. */
  | { kind: 'default' };

export interface SshTunnel {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly privateKey: string;
  /** A known_hosts file; when absent the host key is not pinned and validate warns. */
  readonly knownHosts: string | undefined;
}

/** One server to connect to. `database` is the default database (for `databases: all` tasks the maintenance database). */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly password: PasswordSource;
  readonly sslmode: SslMode | undefined;
  readonly sslrootcert: string | undefined;
  readonly sslcert: string | undefined;
  readonly sslkey: string | undefined;
  readonly ssh: SshTunnel | undefined;
}

/** Which tables of one database to migrate. Patterns are globs over `schema.table`. */
export interface DatabaseSelection {
  readonly name: string;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

export interface Selection {
  /** `all` means every non-template database of the source instance except `_dts` state. */
  readonly databases: 'all' | readonly DatabaseSelection[];
  /** Patterns that apply to every database (added to each database's own). */
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

export interface Options {
  /** Concurrent COPY workers. */
  readonly parallel: number;
  /** Prefix of the replication slot and publication dts creates on the source. */
  readonly namePrefix: string;
  /**
   * Tables larger than this many bytes are split into ranges copied in parallel; undefined: derived from
   * the selected data's size and `parallel` (see `automaticSplitBytes`).
   */
  readonly splitTableBytes: number | undefined;
  /** Roles that own or are granted objects but are missing on the target: `error`, or `skip` the ownership/grant. */
  readonly missingRoles: 'error' | 'skip';
  /** Rename roles on the way: source role name -> target role name. */
  readonly roleMap: Readonly<Record<string, string>>;
}

export interface Task {
  readonly name: string;
  /** Absolute path of the task file, for messages. */
  readonly file: string;
  readonly schedule: Date | undefined;
  readonly mode: Mode;
  readonly source: Endpoint;
  /**
   * When `source` is a hot standby: its primary (`source.primary` in the file). dts only creates and
   * drops the publication there, reads its WAL position for cutover, and asks it to log a running-xacts
   * record so the standby's slot reaches a consistent point. Absent for a primary source.
   */
  readonly sourcePrimary?: Endpoint;
  readonly target: Endpoint;
  readonly objects: Selection;
  readonly options: Options;
}

import { displayIdent } from '../catalog/display.js';
import type { Endpoint } from '../task/types.js';
import { ALL_MODES, DATA_MODES, finding, need, type Check, type Draft } from './check.js';

export const sourceConnect: Check = {
  id: 'source.connect',
  severities:
    'FAIL when the source cannot be reached or refuses the login (DNS, refused, timeout, password, pg_hba, missing env variable)',
  title: 'Source reachable, login works',
  modes: ALL_MODES,
  passMessage: 'connected',
  assess(facts, task) {
    const c = facts.sourceConnection;
    if (!c.ok) return [finding('fail', c.failure.message, 'source', c.failure.hint)];
    const i = c.value;
    return [
      finding(
        'pass',
        `connected to ${task.source.host}:${task.source.port}, database ${displayIdent(i.database)}, as ${displayIdent(i.role.name)} (PostgreSQL ${i.version})`,
        'source',
      ),
    ];
  },
};

export const targetConnect: Check = {
  id: 'target.connect',
  severities: 'FAIL, as for the source',
  title: 'Target reachable, login works',
  modes: ALL_MODES,
  passMessage: 'connected',
  assess(facts, task) {
    const c = facts.targetConnection;
    if (!c.ok) return [finding('fail', c.failure.message, 'target', c.failure.hint)];
    const { info, missingDatabase } = c.value;
    const via = missingDatabase
      ? ` (database ${displayIdent(missingDatabase)} does not exist yet; connected to ${displayIdent(info.database)})`
      : `, database ${displayIdent(info.database)}`;
    return [
      finding(
        'pass',
        `connected to ${task.target.host}:${task.target.port}${via}, as ${displayIdent(info.role.name)} (PostgreSQL ${info.version})`,
        'target',
      ),
    ];
  },
};

/**
 * Streaming and the snapshot the full copy reads from both need a `replication=database` session, which
 * pg_hba.conf allows separately from normal logins and which needs the REPLICATION attribute.
 */
export const replicationConnect: Check = {
  id: 'source.replication_connection',
  severities:
    'FAIL when a replication-protocol connection (IDENTIFY_SYSTEM) is refused: pg_hba needs a `replication` line',
  title: 'Replication connection to the source',
  modes: DATA_MODES,
  passMessage: 'replication connection works',
  assess(facts) {
    const r = facts.replication;
    if (r === undefined) return [];
    if (!r.ok) return [finding('fail', r.failure.message, 'source', r.failure.hint)];
    return [
      finding(
        'pass',
        `replication connection works (IDENTIFY_SYSTEM: system ${r.value.systemId}, timeline ${r.value.timeline})`,
        'source',
      ),
    ];
  },
};

function tlsFinding(
  side: 'source' | 'target',
  endpoint: Endpoint,
  encrypted: boolean,
  tls: string | undefined,
): Draft {
  if (encrypted) return finding('pass', `the session is encrypted (${tls ?? 'TLS'})`, side);
  if (endpoint.ssh) return finding('info', 'no TLS, but the session runs through the ssh tunnel', side);
  if (endpoint.sslmode === 'disable')
    return finding('info', 'the session is not encrypted (sslmode: disable)', side);
  return finding(
    'warn',
    `the session is not encrypted: the server did not offer TLS and sslmode is ${endpoint.sslmode ?? 'prefer'}`,
    side,
    `enable ssl on the ${side} server and set sslmode: verify-full (or require), or connect through an ssh tunnel`,
  );
}

export const tls: Check = {
  id: 'connection.tls',
  severities:
    'PASS when encrypted; INFO for sslmode disable or an ssh tunnel; WARN when unencrypted otherwise',
  title: 'TLS on the connections',
  modes: ALL_MODES,
  passMessage: 'encrypted',
  assess(facts, task) {
    const s = need(facts.source);
    const t = need(facts.target);
    return [
      tlsFinding('source', task.source, s.encrypted, s.tlsVersion),
      tlsFinding('target', task.target, t.encrypted, t.tlsVersion),
    ];
  },
};

const major = (versionNum: number) =>
  versionNum >= 100000 ? Math.floor(versionNum / 10000) : versionNum / 10000;

export const sourceVersion: Check = {
  id: 'source.version',
  severities: 'FAIL below PostgreSQL 10 (no pgoutput)',
  title: 'Source version supported',
  modes: ALL_MODES,
  passMessage: 'supported',
  assess(facts) {
    const s = need(facts.source);
    if (s.versionNum < 100000)
      return [
        finding(
          'fail',
          `PostgreSQL ${s.version} is too old: dts needs 10 or later (logical decoding with pgoutput)`,
          'source',
          'upgrade the source to PostgreSQL 10 or later first',
        ),
      ];
    return [finding('pass', `PostgreSQL ${s.version}`, 'source')];
  },
};

export const targetVersion: Check = {
  id: 'target.version',
  severities: 'FAIL when the target major version is older than the source',
  title: 'Target major version not older than the source',
  modes: ALL_MODES,
  passMessage: 'compatible',
  assess(facts) {
    const s = need(facts.source);
    const t = need(facts.target);
    if (major(t.versionNum) < major(s.versionNum))
      return [
        finding(
          'fail',
          `the target runs PostgreSQL ${t.version}, older than the source (${s.version}): the schema cannot be moved to an older major version`,
          'target',
          `use a target running PostgreSQL ${major(s.versionNum)} or later`,
        ),
      ];
    return [finding('pass', `PostgreSQL ${t.version} (source ${s.version})`, 'target')];
  },
};

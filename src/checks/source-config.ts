import { formatBytes } from '../catalog/display.js';
import type { Settings } from '../catalog/types.js';
import { DATA_MODES, INCREMENTAL, finding, need, plural, type Check } from './check.js';

/** The settings the source checks read (pg_settings names). */
export const SOURCE_SETTING_NAMES = [
  'wal_level',
  'max_replication_slots',
  'max_wal_senders',
  'wal_sender_timeout',
  'max_slot_wal_keep_size',
  'hot_standby_feedback',
] as const;

const setting = (s: Settings, name: string): string | undefined => s[name]?.value;

function minutes(seconds: number): string {
  if (seconds < 120) return plural(seconds, 'second');
  if (seconds < 7200) return plural(Math.floor(seconds / 60), 'minute');
  return plural(Math.floor(seconds / 3600), 'hour');
}

export const walLevel: Check = {
  id: 'source.wal_level',
  severities: 'FAIL unless wal_level = logical',
  title: 'wal_level = logical on the source',
  modes: DATA_MODES,
  passMessage: 'wal_level is logical',
  assess(facts) {
    const level = setting(need(facts.sourceSettings), 'wal_level');
    if (level === 'logical') return [];
    return [
      finding(
        'fail',
        `wal_level is ${level ?? 'unknown'}: logical decoding (and the snapshot the copy reads from) needs logical`,
        'source',
        'set wal_level = logical in postgresql.conf and restart the source',
      ),
    ];
  },
};

/** dts creates one slot per database, and streams each over its own walsender. */
export const replicationSlots: Check = {
  id: 'source.replication_slots',
  severities: 'FAIL when fewer free slots than databases to migrate',
  title: 'Free replication slots',
  modes: DATA_MODES,
  passMessage: 'enough free replication slots',
  assess(facts) {
    const max = Number(setting(need(facts.sourceSettings), 'max_replication_slots') ?? 0);
    const used = need(facts.sourceSlots).length;
    const wanted = need(facts.selection).databases.length;
    if (max - used >= wanted)
      return [finding('pass', `${max - used} of ${max} slots free, ${wanted} needed`, 'source')];
    return [
      finding(
        'fail',
        `${max - used} of max_replication_slots = ${max} free, but dts needs ${wanted} (one per database)`,
        'source',
        `set max_replication_slots = ${used + wanted} or more in postgresql.conf and restart the source, or drop unused slots`,
      ),
    ];
  },
};

export const walSenders: Check = {
  id: 'source.wal_senders',
  severities: 'FAIL when fewer free WAL senders than databases to migrate',
  title: 'Free WAL senders',
  modes: DATA_MODES,
  passMessage: 'enough free WAL senders',
  assess(facts) {
    const max = Number(setting(need(facts.sourceSettings), 'max_wal_senders') ?? 0);
    const used = need(facts.sourceActivity).walSendersInUse;
    const wanted = need(facts.selection).databases.length;
    if (max - used >= wanted)
      return [finding('pass', `${max - used} of ${max} WAL senders free, ${wanted} needed`, 'source')];
    return [
      finding(
        'fail',
        `${max - used} of max_wal_senders = ${max} free, but dts needs ${wanted} (one per database)`,
        'source',
        `set max_wal_senders = ${used + wanted} or more in postgresql.conf and restart the source`,
      ),
    ];
  },
};

export const walSenderTimeout: Check = {
  id: 'source.wal_sender_timeout',
  severities: 'WARN between 0 and 10 s',
  title: 'wal_sender_timeout not too short',
  modes: DATA_MODES,
  passMessage: 'wal_sender_timeout is 0 or at least 10 s',
  assess(facts) {
    const ms = Number(setting(need(facts.sourceSettings), 'wal_sender_timeout') ?? 60000);
    if (ms === 0 || ms >= 10000) return [];
    return [
      finding(
        'warn',
        `wal_sender_timeout is ${ms} ms: the source drops the stream when dts is busy for longer (a big transaction, a slow target)`,
        'source',
        'set wal_sender_timeout = 60s (or 0) on the source and reload',
      ),
    ];
  },
};

export const slotWalKeepSize: Check = {
  id: 'source.max_slot_wal_keep_size',
  severities: 'WARN when finite (the slot can be lost); INFO when unlimited (disk can fill)',
  title: 'WAL kept for the slot',
  modes: INCREMENTAL,
  passMessage: 'fine',
  assess(facts) {
    const s = need(facts.source);
    if (s.versionNum < 130000)
      return [
        finding(
          'info',
          'PostgreSQL before 13 keeps WAL for a slot without limit: a stopped or lagging migration keeps filling pg_wal',
          'source',
          'watch free disk space on the source while the migration runs',
        ),
      ];
    const mb = Number(setting(need(facts.sourceSettings), 'max_slot_wal_keep_size') ?? -1);
    if (mb < 0)
      return [
        finding(
          'info',
          'max_slot_wal_keep_size is -1 (unlimited): if the migration stops or lags, the slot keeps WAL until the source disk fills',
          'source',
          'watch free disk space on the source while the migration runs',
        ),
      ];
    return [
      finding(
        'warn',
        `max_slot_wal_keep_size is ${formatBytes(mb * 1024 * 1024)}: if dts falls further behind than that (long copy, paused task), the source invalidates the slot and the migration must start over`,
        'source',
        'raise max_slot_wal_keep_size above the WAL written during the full copy (or -1 and watch disk space), then reload',
      ),
    ];
  },
};

export const inactiveSlots: Check = {
  id: 'source.inactive_slots',
  severities: 'WARN for inactive slots holding WAL, with the size',
  title: 'Inactive replication slots holding WAL',
  modes: DATA_MODES,
  passMessage: 'no inactive slots',
  assess(facts) {
    return need(facts.sourceSlots)
      .filter((s) => !s.active)
      .map((s) =>
        finding(
          'warn',
          `inactive ${s.type} slot ${s.name} keeps ${s.retainedBytes === undefined ? 'no' : formatBytes(s.retainedBytes)} of WAL${s.walStatus ? ` (wal_status ${s.walStatus})` : ''} and uses a slot`,
          'source',
          `if nothing uses it any more: SELECT pg_drop_replication_slot('${s.name.replaceAll("'", "''")}')`,
        ),
      );
  },
};

export const longTransactions: Check = {
  id: 'source.long_transactions',
  severities: 'WARN for transactions open over 5 minutes (slot creation waits for them)',
  title: 'Long-running transactions',
  modes: DATA_MODES,
  passMessage: 'no long-running transactions',
  assess(facts) {
    const limit = facts.limits.longTransactionSeconds;
    return need(facts.sourceActivity)
      .transactions.filter((t) => t.ageSeconds >= limit)
      .map((t) =>
        finding(
          'warn',
          `transaction of pid ${t.pid} (database ${t.database ?? '?'}, user ${t.user ?? '?'}, ${t.state ?? 'unknown state'}) has been open for ${minutes(t.ageSeconds)}: creating the replication slot waits until it ends`,
          'source',
          `end it before running dts (commit in the application, or SELECT pg_terminate_backend(${t.pid}))`,
        ),
      );
  },
};

export const preparedTransactions: Check = {
  id: 'source.prepared_transactions',
  severities: 'WARN for prepared transactions',
  title: 'Prepared transactions',
  modes: DATA_MODES,
  passMessage: 'no prepared transactions',
  assess(facts) {
    return need(facts.sourceActivity).prepared.map((p) => {
      const gid = p.gid.replaceAll("'", "''");
      return finding(
        'warn',
        `prepared transaction '${p.gid}' (database ${p.database}, owner ${p.owner}) open for ${minutes(p.ageSeconds)}: the slot cannot reach a consistent point until it is finished`,
        'source',
        `COMMIT PREPARED '${gid}' or ROLLBACK PREPARED '${gid}' in database ${p.database}`,
      );
    });
  },
};

export const recovery: Check = {
  id: 'source.recovery',
  severities:
    'FAIL when the source is a standby before 16, or with hot_standby_feedback off, or (full+incremental) without source.primary; INFO for a standby that is ready',
  title: 'Source is a primary, or a standby ready for logical decoding',
  modes: DATA_MODES,
  passMessage: 'the source is a primary (not in recovery)',
  assess(facts, task) {
    const s = need(facts.source);
    if (!s.inRecovery) return [];
    if (s.versionNum < 160000)
      return [
        finding(
          'fail',
          `the source is a standby (in recovery) on PostgreSQL ${s.version}: logical replication slots on a standby need 16 or later`,
          'source',
          'point the task at the primary server',
        ),
      ];
    const out = [];
    const feedback = setting(need(facts.sourceSettings), 'hot_standby_feedback');
    if (feedback !== 'on')
      out.push(
        finding(
          'fail',
          `the source is a standby with hot_standby_feedback = ${feedback ?? 'unknown'}: vacuum on the primary can remove catalog rows the slot still needs, and the standby then invalidates the slot in the middle of the migration`,
          'source',
          'set hot_standby_feedback = on on the standby (and let it stream through a physical slot, primary_slot_name), then SELECT pg_reload_conf()',
        ),
      );
    if (task.mode === 'full+incremental' && !task.sourcePrimary)
      out.push(
        finding(
          'fail',
          'the source is a standby (read-only): the publication for mode full+incremental must be created on its primary',
          'source',
          'add source.primary (url or host/port/user of the primary) to the task file; dts creates and drops only the publication there',
        ),
      );
    if (out.length > 0) return out;
    return [
      finding(
        'info',
        task.sourcePrimary
          ? 'the source is a standby: dts makes the slot there and the publication on source.primary; a promotion or failover of the standby loses the slot (run again from scratch)'
          : 'the source is a standby: making the slot waits for a running-transactions record from the primary (every 15 s while it writes; never while it is idle): add source.primary, or run SELECT pg_log_standby_snapshot() there',
        'source',
      ),
    ];
  },
};

export const standbyPrimary: Check = {
  id: 'source.primary',
  severities:
    'FAIL when source.primary cannot be reached, is itself a standby, is another cluster, or has wal_level other than logical; WARN when it may not run pg_log_standby_snapshot()',
  title: "The standby source's primary (source.primary)",
  modes: DATA_MODES,
  passMessage: "no source.primary, or it is the standby's primary with wal_level = logical",
  assess(facts, task) {
    const p = facts.sourcePrimary;
    if (!p || !task.sourcePrimary) return [];
    const at = 'source.primary';
    if (!p.ok) return [finding('fail', p.failure.message, at, p.failure.hint)];
    const out = [];
    if (p.value.inRecovery)
      out.push(
        finding(
          'fail',
          'source.primary is in recovery itself: publications can only be created on a primary',
          at,
          'point source.primary at the server the standby streams from (primary_conninfo on the standby)',
        ),
      );
    if (p.value.walLevel !== 'logical')
      out.push(
        finding(
          'fail',
          `wal_level is ${p.value.walLevel} on the primary: logical decoding on a standby needs wal_level = logical on its primary`,
          at,
          'set wal_level = logical in postgresql.conf and restart the primary',
        ),
      );
    const standbyId = facts.replication?.ok ? facts.replication.value.systemId : undefined;
    if (standbyId !== undefined && p.value.systemId !== undefined && standbyId !== p.value.systemId)
      out.push(
        finding(
          'fail',
          `source.primary is another cluster (system identifier ${p.value.systemId}, the source's is ${standbyId})`,
          at,
          'point source.primary at the server the standby streams from (primary_conninfo on the standby)',
        ),
      );
    if (!p.value.canLogStandbySnapshot)
      out.push(
        finding(
          'warn',
          'the role may not run pg_log_standby_snapshot() on the primary: making the slot on the standby waits up to 15 s for the primary to log a running-transactions record (forever if it is idle)',
          at,
          `GRANT EXECUTE ON FUNCTION pg_log_standby_snapshot() TO ${task.sourcePrimary.user}`,
        ),
      );
    return out;
  },
};

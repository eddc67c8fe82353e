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
  severities: 'FAIL when the source is a standby before 16; WARN from 16',
  title: 'Source is a primary',
  modes: DATA_MODES,
  passMessage: 'the source is a primary (not in recovery)',
  assess(facts) {
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
    const feedback = setting(need(facts.sourceSettings), 'hot_standby_feedback');
    return [
      finding(
        'warn',
        `the source is a standby (in recovery): logical decoding works there from 16 on, but the primary must have wal_level = logical and the standby hot_standby_feedback = on (it is ${feedback ?? 'unknown'}); a failover loses the slot`,
        'source',
        'prefer the primary; otherwise set hot_standby_feedback = on on this standby',
      ),
    ];
  },
};

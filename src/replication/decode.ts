import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { parseLsn, type Lsn } from '../pg/lsn.js';
import { UNCHANGED, type Change, type Relation, type Value } from './change.js';

const identity = (text: string): string => text;

/**
 * pgoutput's parser with every column kept as the source's text. The library decodes values with
 * node-postgres' *global* type parsers (timestamptz becomes a Date and loses microseconds, json becomes an
 * object); changing that registry would change every other pg client in the process. Instead each
 * Relation message's column parsers are replaced with the identity as it is parsed; the parser caches that
 * same relation object, so every later tuple of the relation is read as text.
 */
class TextPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const msg = super.parse(buffer);
    if (msg.tag === 'relation') for (const c of msg.columns) c.parser = identity;
    return msg;
  }
}

type Tuple = Record<string, unknown> | null;

/**
 * Turns pgoutput payloads (the part of an XLogData message after its 25-byte header) into `Change`s.
 * Only `plugin.parse()` of the library is used; the transport is ours (see stream.ts). Protocol version 1,
 * no streaming of in-progress transactions (the library cannot parse those messages).
 */
export class PgoutputDecoder {
  private readonly plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [] });
  private readonly relations = new Map<number, Relation>();

  /** One Change, or undefined for messages dts has no use for (Type, Origin, logical messages). */
  decode(payload: Buffer): Change | undefined {
    const msg = this.plugin.parse(payload);
    switch (msg.tag) {
      case 'begin':
        return { kind: 'begin', finalLsn: lsnOf(msg.commitLsn, 'begin'), xid: msg.xid };
      case 'commit':
        return {
          kind: 'commit',
          lsn: lsnOf(msg.commitEndLsn, 'commit end'),
          finalLsn: lsnOf(msg.commitLsn, 'commit'),
          // The library already moved it from PostgreSQL's epoch (2000-01-01) to the Unix epoch.
          commitTimeUs: BigInt(msg.commitTime as bigint),
        };
      case 'relation': {
        const relation: Relation = {
          id: msg.relationOid,
          schema: msg.schema,
          name: msg.name,
          replicaIdentity: msg.replicaIdentity,
          columns: msg.columns.map((c) => ({
            name: c.name,
            typeOid: c.typeOid >>> 0,
            typeMod: c.typeMod,
            // pgoutput writes pg_catalog as the empty string.
            typeName: c.typeName ? `${c.typeSchema || 'pg_catalog'}.${c.typeName}` : undefined,
            key: (c.flags & 1) === 1,
          })),
        };
        this.relations.set(relation.id, relation);
        return { kind: 'relation', relation };
      }
      case 'insert': {
        const relation = this.relation(msg.relation.relationOid);
        return { kind: 'insert', relation, values: values(relation, msg.new) };
      }
      case 'update': {
        const relation = this.relation(msg.relation.relationOid);
        const old = msg.old ? values(relation, msg.old) : msg.key ? keyValues(relation, msg.key) : undefined;
        return { kind: 'update', relation, old, values: values(relation, msg.new) };
      }
      case 'delete': {
        const relation = this.relation(msg.relation.relationOid);
        const old = msg.old ? values(relation, msg.old) : keyValues(relation, msg.key);
        return { kind: 'delete', relation, old };
      }
      case 'truncate':
        return {
          kind: 'truncate',
          cascade: msg.cascade,
          restartIdentity: msg.restartIdentity,
          relations: msg.relations.map((r, i) => {
            // The library leaves `undefined` for a relation it has not seen; pgoutput always sends the
            // Relation first, so this would be a protocol surprise, not something to skip quietly.
            if (!r) throw new Error(`pgoutput: TRUNCATE names relation #${i} that was never described`);
            return this.relation(r.relationOid);
          }),
        };
      default:
        return undefined;
    }
  }

  private relation(id: number): Relation {
    const r = this.relations.get(id);
    if (!r) throw new Error(`pgoutput: change for relation ${id >>> 0} before its Relation message`);
    return r;
  }
}

function lsnOf(text: string | null, what: string): Lsn {
  if (text === null) throw new Error(`pgoutput: ${what} message without an LSN`);
  return parseLsn(text);
}

/** A whole tuple; the library gives `undefined` for an unchanged TOAST value ('u'), null for NULL. */
function values(relation: Relation, tuple: Tuple): Value[] {
  if (!tuple) throw new Error(`pgoutput: missing tuple for ${relation.schema}.${relation.name}`);
  return relation.columns.map((c) => {
    const v = tuple[c.name];
    if (v === undefined) return UNCHANGED;
    if (v === null) return null;
    if (typeof v !== 'string') throw new Error(`pgoutput: non-text value for column ${c.name}`);
    return v;
  });
}

/** A key tuple ('K'): only the key columns mean anything; the rest are placeholders. */
function keyValues(relation: Relation, tuple: Tuple): Value[] {
  if (!tuple) throw new Error(`pgoutput: missing key for ${relation.schema}.${relation.name}`);
  return relation.columns.map((c) => {
    if (!c.key) return UNCHANGED;
    const v = tuple[c.name];
    return typeof v === 'string' ? v : v === null ? null : UNCHANGED;
  });
}

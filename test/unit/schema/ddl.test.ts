import { describe, expect, it } from 'vitest';
import { tableDef } from './builders.js';
import type {
  Column,
  ConstraintDef,
  RoutineDef,
  TableDef,
  TypeDef,
  ViewDef,
} from '../../../src/catalog/schema/types.js';
import type { DdlContext } from '../../../src/schema/ddl/context.js';
import {
  constraintDdl,
  eventTriggerDdl,
  policyDdl,
  tableSettingsDdl,
  triggerDdl,
} from '../../../src/schema/ddl/post-data.js';
import { grantsOn, type Roles } from '../../../src/schema/ddl/privileges.js';
import { routineDdl } from '../../../src/schema/ddl/routines.js';
import { tableDdl, viewDdl } from '../../../src/schema/ddl/tables.js';
import { sequenceDdl, typeDdl } from '../../../src/schema/ddl/types.js';

const allRoles: Roles = { resolve: (r) => r };
const ctx = (over: Partial<DdlContext> = {}, tables: TableDef[] = [], types: TypeDef[] = []): DdlContext => ({
  roles: allRoles,
  comment: () => undefined,
  table: (k) => tables.find((t) => t.key === k),
  type: (k) => types.find((t) => t.key === k),
  ...over,
});

const col = (name: string, type: string, over: Partial<Column> = {}): Column => ({
  position: 1,
  name,
  type,
  notNull: false,
  default: undefined,
  collation: undefined,
  identity: undefined,
  identitySequence: undefined,
  generated: undefined,
  isLocal: true,
  storage: undefined,
  compression: undefined,
  statistics: undefined,
  acl: undefined,
  ...over,
});

const table = (schema: string, name: string, over: Partial<TableDef> = {}): TableDef =>
  tableDef(`pg_class:${name}`, schema, name, over);

const check = (name: string, definition: string, over: Partial<ConstraintDef> = {}): ConstraintDef => ({
  key: `pg_constraint:${name}`,
  tableKey: 'pg_class:t',
  name,
  type: 'check',
  definition,
  validated: true,
  isLocal: true,
  noInherit: false,
  parentKey: undefined,
  referencesKey: undefined,
  indexKey: undefined,
  ...over,
});

describe('tables', () => {
  it('quotes every identifier and keeps the server-printed types and expressions', () => {
    const t = table('Sales Ünïcode', 'Order Items', {
      unlogged: true,
      options: ['fillfactor=90', 'toast.autovacuum_enabled=false'],
      columns: [
        col('id', 'bigint', {
          notNull: true,
          identity: 'always',
          identitySequence: {
            schema: 'Sales Ünïcode',
            name: 'Order Items_id_seq',
            options: {
              dataType: 'bigint',
              start: '100',
              increment: '1',
              min: '1',
              max: '9223372036854775807',
              cache: '1',
              cycle: false,
            },
          },
        }),
        col('a"b', 'text', { collation: { schema: 'app', name: 'case_insensitive' }, default: "'x'::text" }),
        col('select', 'numeric', { generated: 'stored', default: '(id * 2)' }),
      ],
    });
    expect(
      tableDdl(
        t,
        [check('qty_positive', 'CHECK ((id > 0))')],
        ctx({ comment: (k, s) => (s === 2 ? 'A "quote"' : undefined) }),
      ),
    ).toEqual([
      'CREATE UNLOGGED TABLE "Sales Ünïcode"."Order Items" (\n' +
        '    "id" bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME "Sales Ünïcode"."Order Items_id_seq" START WITH 100 INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 NO CYCLE) NOT NULL,\n' +
        '    "a""b" text COLLATE "app"."case_insensitive" DEFAULT \'x\'::text,\n' +
        '    "select" numeric GENERATED ALWAYS AS ((id * 2)) STORED,\n' +
        '    CONSTRAINT "qty_positive" CHECK ((id > 0))\n' +
        ') WITH (fillfactor=90, toast.autovacuum_enabled=false)',
      'ALTER TABLE "Sales Ünïcode"."Order Items" OWNER TO "postgres"',
    ]);
  });

  it('comments on the table and on columns by position', () => {
    const t = table('app', 't', { columns: [col('a', 'int', { position: 3 })] });
    const comments: Record<string, string> = { 'pg_class:t/0': "it's", 'pg_class:t/3': 'col' };
    expect(tableDdl(t, [], ctx({ comment: (k, s = 0) => comments[`${k}/${s}`] })).slice(2)).toEqual([
      `COMMENT ON TABLE "app"."t" IS 'it''s'`,
      `COMMENT ON COLUMN "app"."t"."a" IS 'col'`,
    ]);
  });

  it('creates a partition with PARTITION OF and sets only what differs from its parent', () => {
    const parent = table('app', 'm', {
      key: 'pg_class:m',
      partitioned: true,
      partitionKey: 'RANGE (taken_at)',
      columns: [col('id', 'bigint', { notNull: true }), col('region', 'text')],
    });
    const child = table('archive', 'm_2023', {
      partitionOf: { parentKey: 'pg_class:m', bound: "FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')" },
      partitionKey: 'HASH (id)',
      partitioned: true,
      columns: [
        col('id', 'bigint', { notNull: true, isLocal: false }),
        col('region', 'text', {
          notNull: true,
          default: "'EU'::text",
          isLocal: false,
          storage: 'MAIN',
          compression: 'pglz',
        }),
      ],
    });
    expect(tableDdl(child, [], ctx({}, [parent])).slice(0, 5)).toEqual([
      `CREATE TABLE "archive"."m_2023" PARTITION OF "app"."m" FOR VALUES FROM ('2023-01-01') TO ('2024-01-01') PARTITION BY HASH (id)`,
      `ALTER TABLE ONLY "archive"."m_2023" ALTER COLUMN "region" SET DEFAULT 'EU'::text`,
      `ALTER TABLE ONLY "archive"."m_2023" ALTER COLUMN "region" SET NOT NULL`,
      `ALTER TABLE ONLY "archive"."m_2023" ALTER COLUMN "region" SET STORAGE MAIN`,
      `ALTER TABLE ONLY "archive"."m_2023" ALTER COLUMN "region" SET COMPRESSION pglz`,
    ]);
  });

  it('lists only its own columns for an inheritance child, and a default partition as DEFAULT', () => {
    const parent = table('app', 'vehicles', {
      key: 'pg_class:v',
      columns: [col('id', 'integer', { notNull: true })],
    });
    const child = table('app', 'cars', {
      inherits: ['pg_class:v'],
      columns: [col('id', 'integer', { notNull: true, isLocal: false }), col('doors', 'smallint')],
    });
    expect(tableDdl(child, [], ctx({}, [parent]))[0]).toBe(
      'CREATE TABLE "app"."cars" (\n    "doors" smallint\n) INHERITS ("app"."vehicles")',
    );
    const parted = table('app', 'p', { key: 'pg_class:p', partitioned: true, partitionKey: 'LIST (r)' });
    const other = table('app', 'p_default', { partitionOf: { parentKey: 'pg_class:p', bound: 'DEFAULT' } });
    expect(tableDdl(other, [], ctx({}, [parted]))[0]).toBe(
      'CREATE TABLE "app"."p_default" PARTITION OF "app"."p" DEFAULT',
    );
  });

  it('creates a typed table with OF and an empty table with ()', () => {
    const type: TypeDef = {
      kind: 'composite',
      key: 'pg_type:1',
      schema: 'app',
      name: 'person_t',
      owner: 'postgres',
      acl: undefined,
      relationKey: 'pg_class:9',
      attributes: [],
    };
    const people = table('app', 'people', {
      ofType: 'pg_type:1',
      columns: [col('name', 'text', { notNull: true })],
    });
    expect(tableDdl(people, [], ctx({}, [], [type])).slice(0, 2)).toEqual([
      'CREATE TABLE "app"."people" OF "app"."person_t"',
      'ALTER TABLE ONLY "app"."people" ALTER COLUMN "name" SET NOT NULL',
    ]);
    expect(tableDdl(table('public', 'empty'), [], ctx())[0]).toBe('CREATE TABLE "public"."empty" ()');
  });

  it('views and materialized views (created empty), with their options', () => {
    const v: ViewDef = {
      key: 'pg_class:v',
      schema: 'app',
      name: 'happy',
      owner: 'postgres',
      acl: undefined,
      materialized: false,
      definition: ' SELECT 1 AS one;',
      options: ['check_option=local'],
      columns: [],
    };
    expect(viewDdl(v, ctx())[0]).toBe(
      'CREATE VIEW "app"."happy" WITH (check_option=local) AS\n SELECT 1 AS one',
    );
    expect(viewDdl({ ...v, materialized: true, options: [] }, ctx()).slice(0, 2)).toEqual([
      'CREATE MATERIALIZED VIEW "app"."happy" AS\n SELECT 1 AS one\n  WITH NO DATA',
      'ALTER MATERIALIZED VIEW "app"."happy" OWNER TO "postgres"',
    ]);
  });
});

describe('types and sequences', () => {
  const base = { key: 'pg_type:1', schema: 'app', owner: 'o', acl: undefined };
  it('enum, composite, range, domain', () => {
    expect(typeDdl({ ...base, kind: 'enum', name: 'mood', labels: ['sad', "it's"] }, ctx())[0]).toBe(
      `CREATE TYPE "app"."mood" AS ENUM ('sad', 'it''s')`,
    );
    expect(
      typeDdl(
        {
          ...base,
          kind: 'composite',
          name: 'address',
          relationKey: 'pg_class:2',
          attributes: [
            { position: 1, name: 'street', type: 'text', collation: { schema: 'pg_catalog', name: 'C' } },
            { position: 2, name: 'zip', type: 'character varying(10)', collation: undefined },
          ],
        },
        ctx(),
      )[0],
    ).toBe(
      'CREATE TYPE "app"."address" AS ("street" text COLLATE "pg_catalog"."C", "zip" character varying(10))',
    );
    expect(
      typeDdl(
        {
          ...base,
          kind: 'range',
          name: 'floatrange',
          subtype: 'double precision',
          subtypeOpclass: undefined,
          collation: undefined,
          canonical: undefined,
          subtypeDiff: 'float8mi',
          multirange: { schema: 'app', name: 'floatmultirange' },
        },
        ctx(),
      )[0],
    ).toBe(
      'CREATE TYPE "app"."floatrange" AS RANGE (SUBTYPE = double precision, SUBTYPE_DIFF = float8mi, MULTIRANGE_TYPE_NAME = "app"."floatmultirange")',
    );
    expect(
      typeDdl(
        {
          ...base,
          kind: 'domain',
          name: 'sku',
          baseType: 'text',
          collation: undefined,
          default: "'AAA-0000'::text",
          notNull: true,
          constraints: [
            {
              key: 'pg_constraint:1',
              name: 'sku_shape',
              definition: 'CHECK (app.is_valid_sku(VALUE))',
              validated: true,
            },
            {
              key: 'pg_constraint:2',
              name: 'later',
              definition: 'CHECK ((length(VALUE) < 9))',
              validated: false,
            },
          ],
        },
        ctx(),
      ).slice(0, 3),
    ).toEqual([
      `CREATE DOMAIN "app"."sku" AS text DEFAULT 'AAA-0000'::text NOT NULL CONSTRAINT "sku_shape" CHECK (app.is_valid_sku(VALUE))`,
      'ALTER DOMAIN "app"."sku" ADD CONSTRAINT "later" CHECK ((length(VALUE) < 9)) NOT VALID',
      'ALTER DOMAIN "app"."sku" OWNER TO "o"',
    ]);
  });

  it('a sequence with all its options', () => {
    expect(
      sequenceDdl(
        {
          key: 'pg_class:5',
          schema: 'app',
          name: 'countdown_seq',
          owner: 'postgres',
          acl: undefined,
          options: {
            dataType: 'integer',
            start: '100',
            increment: '-1',
            min: '-100',
            max: '100',
            cache: '1',
            cycle: true,
          },
          ownedBy: undefined,
        },
        ctx(),
      )[0],
    ).toBe(
      'CREATE SEQUENCE "app"."countdown_seq" AS integer START WITH 100 INCREMENT BY -1 MINVALUE -100 MAXVALUE 100 CACHE 1 CYCLE',
    );
  });
});

describe('privileges', () => {
  it('nothing for default privileges; otherwise revoke the defaults and grant each entry in order', () => {
    expect(grantsOn('TABLE "s"."t"', 'owner', undefined, allRoles)).toEqual([]);
    expect(
      grantsOn(
        'TABLE "s"."t"',
        'owner',
        [
          { grantee: 'owner', privilege: 'SELECT', grantable: false },
          { grantee: 'owner', privilege: 'INSERT', grantable: false },
          { grantee: '', privilege: 'SELECT', grantable: false },
          { grantee: 'reader', privilege: 'SELECT', grantable: true },
        ],
        allRoles,
      ),
    ).toEqual([
      'REVOKE ALL ON TABLE "s"."t" FROM PUBLIC',
      'REVOKE ALL ON TABLE "s"."t" FROM "owner"',
      'GRANT SELECT, INSERT ON TABLE "s"."t" TO "owner"',
      'GRANT SELECT ON TABLE "s"."t" TO PUBLIC',
      'GRANT SELECT ON TABLE "s"."t" TO "reader" WITH GRANT OPTION',
    ]);
  });

  it('maps roles, and leaves out the ones that are skipped', () => {
    const roles: Roles = { resolve: (r) => (r === 'gone' ? undefined : r === 'old' ? 'new' : r) };
    expect(
      grantsOn(
        'SCHEMA "s"',
        'old',
        [
          { grantee: 'gone', privilege: 'USAGE', grantable: false },
          { grantee: 'old', privilege: 'USAGE', grantable: false },
        ],
        roles,
      ),
    ).toEqual([
      'REVOKE ALL ON SCHEMA "s" FROM PUBLIC',
      'REVOKE ALL ON SCHEMA "s" FROM "new"',
      'GRANT USAGE ON SCHEMA "s" TO "new"',
    ]);
  });
});

describe('routines', () => {
  const r = (over: Partial<RoutineDef>): RoutineDef => ({
    key: 'pg_proc:1',
    schema: 'app',
    name: 'f',
    owner: 'postgres',
    acl: undefined,
    kind: 'function',
    identityArguments: 'integer',
    definition:
      'CREATE OR REPLACE FUNCTION app.f(integer)\n RETURNS integer\n LANGUAGE sql\nAS $function$ SELECT $1 $function$\n',
    aggregate: undefined,
    ...over,
  });
  it("uses the server's function definition; procedures are granted as PROCEDURE", () => {
    expect(routineDdl(r({}), ctx())).toEqual([
      'CREATE OR REPLACE FUNCTION app.f(integer)\n RETURNS integer\n LANGUAGE sql\nAS $function$ SELECT $1 $function$',
      'ALTER FUNCTION "app"."f"(integer) OWNER TO "postgres"',
    ]);
    expect(routineDdl(r({ kind: 'procedure', acl: [] }), ctx()).slice(1)).toEqual([
      'ALTER PROCEDURE "app"."f"(integer) OWNER TO "postgres"',
      'REVOKE ALL ON PROCEDURE "app"."f"(integer) FROM PUBLIC',
      'REVOKE ALL ON PROCEDURE "app"."f"(integer) FROM "postgres"',
    ]);
  });
  it('assembles an aggregate', () => {
    const agg = r({
      kind: 'aggregate',
      name: 'comma_concat',
      identityArguments: 'text',
      definition: undefined,
      aggregate: {
        arguments: 'text',
        kind: 'normal',
        options: [
          ['SFUNC', 'app.concat_sfunc'],
          ['STYPE', 'text'],
        ],
      },
    });
    expect(routineDdl(agg, ctx())).toEqual([
      'CREATE AGGREGATE "app"."comma_concat"(text) (\n    SFUNC = app.concat_sfunc,\n    STYPE = text\n)',
      'ALTER AGGREGATE "app"."comma_concat"(text) OWNER TO "postgres"',
    ]);
  });
});

describe('post-data', () => {
  const parted = table('app', 'm', { partitioned: true });
  const plain = table('app', 't');
  const c = (type: ConstraintDef['type'], definition: string, over: Partial<ConstraintDef> = {}) =>
    check('k', definition, { type, ...over });
  it('keys on ONLY the table; foreign keys on a partitioned table recurse; NOT VALID checks recurse', () => {
    expect(constraintDdl(c('primary-key', 'PRIMARY KEY (id)'), parted, ctx())).toEqual([
      'ALTER TABLE ONLY "app"."m" ADD CONSTRAINT "k" PRIMARY KEY (id)',
    ]);
    expect(constraintDdl(c('foreign-key', 'FOREIGN KEY (a) REFERENCES app.t(id)'), parted, ctx())[0]).toBe(
      'ALTER TABLE "app"."m" ADD CONSTRAINT "k" FOREIGN KEY (a) REFERENCES app.t(id)',
    );
    expect(
      constraintDdl(c('foreign-key', 'FOREIGN KEY (a) REFERENCES app.t(id) NOT VALID'), plain, ctx())[0],
    ).toBe('ALTER TABLE ONLY "app"."t" ADD CONSTRAINT "k" FOREIGN KEY (a) REFERENCES app.t(id) NOT VALID');
    expect(constraintDdl(c('check', 'CHECK ((a > 0)) NOT VALID'), plain, ctx())[0]).toBe(
      'ALTER TABLE "app"."t" ADD CONSTRAINT "k" CHECK ((a > 0)) NOT VALID',
    );
  });

  it('triggers keep their enabled state; policies their roles, mode and expressions', () => {
    expect(
      triggerDdl(
        {
          key: 'pg_trigger:1',
          tableKey: 'pg_class:t',
          name: 'audit',
          definition: 'CREATE TRIGGER audit AFTER INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION f()',
          enabled: 'D',
        },
        plain,
        ctx(),
      ),
    ).toEqual([
      'CREATE TRIGGER audit AFTER INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION f()',
      'ALTER TABLE "app"."t" DISABLE TRIGGER "audit"',
    ]);
    const policy = {
      key: 'pg_policy:1',
      tableKey: 'pg_class:t',
      name: 'no future',
      permissive: false,
      command: 'ALL' as const,
      roles: ['', 'reader'],
      using: "(placed_at < '3000-01-01')",
      withCheck: undefined,
    };
    expect(policyDdl(policy, plain, ctx())).toEqual([
      `CREATE POLICY "no future" ON "app"."t" AS RESTRICTIVE FOR ALL TO PUBLIC, "reader" USING ((placed_at < '3000-01-01'))`,
    ]);
    const none: Roles = { resolve: () => undefined };
    expect(policyDdl({ ...policy, roles: ['reader'] }, plain, ctx({ roles: none }))).toEqual([]);
  });

  it('table settings and event triggers', () => {
    expect(
      tableSettingsDdl(
        table('app', 's', {
          rowSecurity: true,
          forceRowSecurity: true,
          replicaIdentity: 'index',
          replicaIdentityIndex: 's_key',
          clusterOn: 's_key',
        }),
      ),
    ).toEqual([
      'ALTER TABLE ONLY "app"."s" ENABLE ROW LEVEL SECURITY',
      'ALTER TABLE ONLY "app"."s" FORCE ROW LEVEL SECURITY',
      'ALTER TABLE ONLY "app"."s" REPLICA IDENTITY USING INDEX "s_key"',
      'ALTER TABLE ONLY "app"."s" CLUSTER ON "s_key"',
    ]);
    expect(
      eventTriggerDdl(
        {
          key: 'pg_event_trigger:1',
          name: 'no drops',
          owner: 'postgres',
          event: 'sql_drop',
          function: 'app.log_drop',
          tags: ['DROP TABLE'],
          enabled: 'O',
        },
        ctx(),
      ),
    ).toEqual([
      `CREATE EVENT TRIGGER "no drops" ON "sql_drop" WHEN TAG IN ('DROP TABLE') EXECUTE FUNCTION app.log_drop()`,
      'ALTER EVENT TRIGGER "no drops" OWNER TO "postgres"',
    ]);
  });
});

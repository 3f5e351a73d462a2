import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import * as init from '../../src/store/postgres/migrations/0001_init.js';
import { migrations } from '../../src/store/postgres/migrations/index.js';
import { dropSchema, holdServerShared, newSchemaName, testDatabaseUrl, type ServerLock } from '../helpers/postgres.js';
import { assertUpgradedFromVersionOne, versionOneAttemptInsert } from './conformance/harness.js';

// test/e2e/postgres-restart.test.ts stops the server; not while this file runs.
let lock: ServerLock;
before(async () => {
  lock = await holdServerShared();
});
after(async () => {
  await lock.release();
});

it('migrates once when ten processes start at the same moment', async () => {
  const schema = newSchemaName('redial_migrate');
  try {
    const stores = await Promise.all(Array.from({ length: 10 }, () => openPostgresStore({ connectionString: testDatabaseUrl, schema, maxConnections: 2 })));
    await Promise.all(stores.map((store) => store.close()));
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT version, count(*)::int AS n FROM ${schema}.schema_migrations GROUP BY version ORDER BY version`);
      assert.deepEqual(
        rows,
        migrations.map((migration) => ({ version: migration.version, n: 1 })),
      );
    } finally {
      await client.end();
    }
  } finally {
    await dropSchema(schema);
  }
});

it('refuses to start on a database migrated by a newer redial, and says what to do', async () => {
  const schema = newSchemaName('redial_newer');
  try {
    const store = await openPostgresStore({ connectionString: testDatabaseUrl, schema });
    await store.close();
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    await client.query(`INSERT INTO ${schema}.schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 0)`);
    await client.end();
    await assert.rejects(openPostgresStore({ connectionString: testDatabaseUrl, schema }), /schema version 999.*upgrade redial/);
  } finally {
    await dropSchema(schema);
  }
});

it('brings a database written at version 1 up to date and keeps its attempts', async () => {
  const schema = newSchemaName('redial_upgrade');
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
    await client.query(init.sql);
    await client.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
    await client.query(`INSERT INTO schema_migrations VALUES (1, 'init', 0)`);
    await client.query(versionOneAttemptInsert);
    await assertUpgradedFromVersionOne(await openPostgresStore({ connectionString: testDatabaseUrl, schema }));
  } finally {
    await client.end();
    await dropSchema(schema);
  }
});

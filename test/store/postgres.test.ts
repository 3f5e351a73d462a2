import { after, before } from 'node:test';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.js';
import { dropSchema, holdServerShared, newSchemaName, testDatabaseUrl, type ServerLock } from '../helpers/postgres.js';
import { exerciseStore } from './conformance/index.js';

// test/e2e/postgres-restart.test.ts stops the server; not while this file runs.
let lock: ServerLock;
before(async () => {
  lock = await holdServerShared();
});
after(async () => {
  await lock.release();
});

exerciseStore('PostgreSQL', async (count) => {
  const schema = newSchemaName();
  // Several pools on one schema, as several redial processes would have.
  const stores: PostgresStore[] = [];
  for (let i = 0; i < count; i++) stores.push(await openPostgresStore({ connectionString: testDatabaseUrl, schema }));
  return {
    stores,
    cleanup: async () => {
      for (const store of stores) await store.close();
      await dropSchema(schema);
    },
  };
});

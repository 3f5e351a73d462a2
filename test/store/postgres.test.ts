import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.js';
import { dropSchema, newSchemaName, testDatabaseUrl } from '../helpers/postgres.js';
import { exerciseStore } from './conformance/index.js';

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

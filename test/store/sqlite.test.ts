import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { exerciseStore } from './conformance/index.js';

exerciseStore('SQLite', async (count) => {
  const dir = mkdtempSync(join(tmpdir(), 'redial-store-'));
  // Several connections to one WAL file, as several redial processes would have.
  const stores = Array.from({ length: count }, () => openSqliteStore({ filename: join(dir, 'redial.db') }));
  return {
    stores,
    cleanup: async () => {
      for (const store of stores) await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

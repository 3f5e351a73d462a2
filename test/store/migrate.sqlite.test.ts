import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import * as init from '../../src/store/sqlite/migrations/0001_init.js';
import { assertUpgradedFromVersionOne, versionOneAttemptInsert } from './conformance/harness.js';

it('brings a database written at version 1 up to date and keeps its attempts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'redial-migrate-'));
  try {
    const filename = join(dir, 'redial.db');
    const db = new Database(filename);
    db.exec(init.sql);
    db.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    db.exec(`INSERT INTO schema_migrations VALUES (1, 'init', 0)`);
    db.exec(versionOneAttemptInsert);
    db.close();
    await assertUpgradedFromVersionOne(openSqliteStore({ filename }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

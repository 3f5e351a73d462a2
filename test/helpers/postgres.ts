/**
 * Tests of the Postgres store use the real server (127.0.0.1:5432, trust auth, database `test`
 * unless TEST_DATABASE_URL says otherwise), each run in a schema of its own that is dropped after.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import pg from 'pg';

export const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function newSchemaName(prefix = 'redial_test'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A DATABASE_URL that puts redial's tables in `schema`. */
export function urlWithSchema(schema: string): string {
  const url = new URL(testDatabaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

export async function createSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } finally {
    await client.end();
  }
}

/**
 * One test restarts the Postgres server (test/e2e/postgres-restart.test.ts); tests that would
 * break if the server went away under them hold this advisory lock shared while they run, and
 * the restart takes it exclusively first. The lock lives in the server itself, so it is gone
 * when the server stops: a holder's session ends with it, and a waiter keeps trying until the
 * server is back.
 */
const serverLockKey = 0x7465_7374_7067; // 'testpg'
// Sessions waiting for the lock are harmless to a restart: they try again until the server is back.
const lockApplicationName = 'redial_test_server_lock';

export interface ServerLock {
  /** The session that holds the lock (for queries that must not count as another client). */
  client: pg.Client;
  release(): Promise<void>;
}

export async function holdServerShared(timeoutMs = 240_000): Promise<ServerLock> {
  return holdServerLock('pg_advisory_lock_shared', timeoutMs);
}

export async function holdServerExclusive(timeoutMs = 240_000): Promise<ServerLock> {
  return holdServerLock('pg_advisory_lock', timeoutMs);
}

async function holdServerLock(fn: 'pg_advisory_lock' | 'pg_advisory_lock_shared', timeoutMs: number): Promise<ServerLock> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: testDatabaseUrl, application_name: lockApplicationName });
    // A session the server drops (the restart) must not crash the test process.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${Math.max(1, deadline - Date.now())}ms`]);
      await client.query(`SELECT ${fn}($1)`, [serverLockKey]);
      return {
        client,
        release: async () => {
          await client.end().catch(() => undefined);
        },
      };
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`could not take the Postgres test server lock in ${timeoutMs} ms: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Waits until no client other than `lock`'s session, lock waiters and sessions named `ownApplicationName` has
 * been connected to the server for `quietMs` (tests that do not take the lock, such as the store
 * conformance suite, are short; this lets them finish). Returns what was still connected if
 * `timeoutMs` passed first.
 */
export async function waitForNoOtherClients(lock: ServerLock, ownApplicationName: string, quietMs = 1_000, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let quietSince = Date.now();
  for (;;) {
    const { rows } = await lock.client.query<{ who: string }>(
      `SELECT coalesce(application_name, '') || ' pid ' || pid || ' db ' || coalesce(datname, '') || ' ' || coalesce(state, '') AS who
       FROM pg_stat_activity
       WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND coalesce(application_name, '') NOT IN ($1, $2)`,
      [ownApplicationName, lockApplicationName],
    );
    if (rows.length > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= quietMs) return [];
    if (Date.now() > deadline) return rows.map((row) => row.who);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The local cluster the test server runs in (`pg_ctlcluster VERSION main …`), or null when there is none to restart. */
export function localCluster(): { version: string; name: string } | null {
  const url = new URL(testDatabaseUrl);
  if (!['127.0.0.1', 'localhost'].includes(url.hostname) || (url.port || '5432') !== '5432') return null;
  let versions: string[];
  try {
    versions = readdirSync('/etc/postgresql');
  } catch {
    return null;
  }
  return versions.length === 1 ? { version: versions[0]!, name: 'main' } : null;
}

/** `pg_ctlcluster --skip-systemctl-redirect VERSION main stop|start` (needs root or the postgres user). */
export function pgCtlCluster(cluster: { version: string; name: string }, action: 'stop' | 'start'): void {
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, cluster.name, action], { stdio: 'pipe', timeout: 60_000 });
}

/** True when the server accepts a query. */
export async function postgresIsUp(): Promise<boolean> {
  const client = new pg.Client({ connectionString: testDatabaseUrl, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

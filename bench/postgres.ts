/**
 * The PostgreSQL side of the bench: where the server is, one schema per measurement (created
 * here, dropped with CASCADE at the end, always), and the CPU that Postgres spent for us.
 *
 * Every connection to a bench schema, from the bench or from a redial process under test, carries
 * the application_name `redial_bench_<bench pid>_<schema number>`, so the bench can find the
 * server backends working for that measurement (for their CPU seconds, and to end them before
 * dropping the schema) without touching anyone else's.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { cpuSeconds } from './rss.js';

/** The server: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local test database. */
export const baseDatabaseUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const prefix = `redial_bench_${process.pid}`;
/** The bench's own bookkeeping connections, kept apart so their CPU is not counted as redial's. */
const controlApplicationName = `${prefix}_ctl`;

/** Schemas created and not yet dropped, each with the application_name of its connections. */
const created = new Map<string, string>();
let counter = 0;

function applicationOf(schema: string): string {
  const name = created.get(schema);
  if (name === undefined) throw new Error(`schema ${schema} was not created by this bench run`);
  return name;
}

/** A URL to the same server whose connections put redial's tables in `schema` (one from `createSchema`). */
export function urlWithSchema(schema: string): string {
  const url = new URL(baseDatabaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  url.searchParams.set('application_name', applicationOf(schema));
  return url.toString();
}

/** The server's address without credentials, for the log. */
export function describeServer(): string {
  const url = new URL(baseDatabaseUrl);
  return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
}

/** Errors of a server that is restarting (others' tests stop and start the local one): worth waiting out. */
const restartingCodes = new Set(['ECONNREFUSED', 'ECONNRESET', '57P01', '57P03']);

/**
 * A bookkeeping connection of the bench (its CPU is not counted as redial's), in `schema` when
 * given. Waits up to `waitMs` for a server that is restarting.
 */
export async function connect(schema: string | null = null, waitMs = 30_000): Promise<pg.Client> {
  const url = new URL(baseDatabaseUrl);
  url.searchParams.set('application_name', controlApplicationName);
  if (schema !== null) url.searchParams.set('options', `-c search_path=${schema}`);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url.toString() });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      const code = (error as { code?: string }).code;
      if (code === undefined || !restartingCodes.has(code) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Creates a fresh, empty schema for one measurement and returns its name. */
export async function createSchema(label: string): Promise<string> {
  const n = counter++;
  const schema = `redial_bench_${process.pid}_${Date.now().toString(36)}_${n}_${label.replace(/[^a-z0-9_]/g, '_')}`;
  created.set(schema, `${prefix}_${n}`);
  const client = await connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await client.end();
  }
  return schema;
}

/**
 * Drops `schema` with CASCADE. Backends still connected to it (a redial process killed a moment
 * ago whose backend has not noticed yet) are ended first, so the DROP does not wait on their locks.
 */
export async function dropSchema(schema: string): Promise<void> {
  if (!created.has(schema)) return; // dropped already (by the ^C handler)
  const client = await connect();
  try {
    await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [applicationOf(schema)]);
    await client.query(`SET lock_timeout = '20s'`);
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    created.delete(schema);
  } finally {
    await client.end();
  }
}

export async function dropAllSchemas(): Promise<string[]> {
  const dropped: string[] = [];
  for (const schema of [...created.keys()]) {
    await dropSchema(schema);
    dropped.push(schema);
  }
  return dropped;
}

export function schemasLeft(): string[] {
  return [...created.keys()];
}

/**
 * Last resort for `process.on('exit')` (no event loop left): drops the schemas still listed from a
 * short-lived child process that uses the same driver, and waits for it.
 */
export function dropSchemasSync(root: string): void {
  if (created.size === 0) return;
  const script = `
const pg = require('pg');
(async () => {
  let client;
  for (let attempt = 0; ; attempt++) {
    client = new pg.Client({ connectionString: process.env.BENCH_DROP_URL });
    client.on('error', () => undefined);
    try { await client.connect(); break; } catch (error) {
      if (attempt >= 40) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  await client.query("SET lock_timeout = '20s'");
  for (const [schema, application] of JSON.parse(process.env.BENCH_DROP_SCHEMAS)) {
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [application]);
    await client.query('DROP SCHEMA IF EXISTS ' + schema + ' CASCADE');
  }
  await client.end();
})().catch((error) => { console.error('bench: could not drop the bench schemas: ' + error.message); process.exit(1); });`;
  const result = spawnSync(process.execPath, ['-e', script], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 60_000,
    env: { ...process.env, BENCH_DROP_URL: controlUrl(), BENCH_DROP_SCHEMAS: JSON.stringify([...created]) },
  });
  if (result.status === 0) created.clear();
  else console.error(`bench: schemas possibly left behind: ${[...created.keys()].join(', ')}`);
}

function controlUrl(): string {
  const url = new URL(baseDatabaseUrl);
  url.searchParams.set('application_name', controlApplicationName);
  return url.toString();
}

/**
 * CPU seconds so far of the server backends working in `schema`, by backend pid (null when the
 * server is not on this machine or its processes are not readable). Compare two readings with
 * `cpuBetween`.
 */
export async function backendCpu(client: pg.Client, schema: string): Promise<Map<number, number> | null> {
  const { rows } = await client.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [applicationOf(schema)]);
  const readings = new Map<number, number>();
  for (const { pid } of rows) {
    const seconds = cpuSeconds(pid);
    if (seconds !== null && isPostgres(pid)) readings.set(pid, seconds);
  }
  return rows.length > 0 && readings.size === 0 ? null : readings;
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres');
  } catch {
    return false;
  }
}

/**
 * CPU seconds the backends used between two readings. A backend that appeared in between counts
 * in full; one that went away in between is missed (the pools keep their connections while busy).
 */
export function cpuBetween(before: Map<number, number> | null, after: Map<number, number> | null): number | null {
  if (before === null || after === null) return null;
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/** A few server settings that bear on the figures, printed with them. */
export async function serverSettings(client: pg.Client): Promise<string> {
  const names = ['server_version', 'shared_buffers', 'synchronous_commit', 'fsync', 'max_wal_size', 'wal_level'];
  const { rows } = await client.query<{ name: string; setting: string }>(
    `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY array_position($1::text[], name)`,
    [names],
  );
  return rows.map((row) => `${row.name} ${row.setting}`).join(', ');
}

export interface ActivitySummary {
  samples: number;
  /** Average number of this schema's backends in each state over the window, busiest first. */
  average: { state: string; backends: number }[];
}

/**
 * Samples what the backends working in `schema` are doing (pg_stat_activity: running, waiting on
 * a lock, on WAL flush, idle in a transaction while the redial process computes, idle) every
 * `intervalMs`, from a connection of its own, until stopped. Timing evidence of where a phase
 * waits, without pg_stat_statements.
 */
export async function sampleActivity(schema: string, intervalMs = 50): Promise<{ stop(): Promise<ActivitySummary> }> {
  const client = await connect();
  const application = applicationOf(schema);
  const counts = new Map<string, number>();
  let samples = 0;
  let pending: Promise<void> = Promise.resolve();
  let busy = false;
  const sample = () => {
    if (busy) return;
    busy = true;
    pending = client
      .query<{ state: string | null; wait_event_type: string | null; wait_event: string | null }>(
        `SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE application_name = $1`,
        [application],
      )
      .then(({ rows }) => {
        samples++;
        for (const row of rows) {
          const state = stateOf(row.state, row.wait_event_type, row.wait_event);
          counts.set(state, (counts.get(state) ?? 0) + 1);
        }
      })
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(sample, intervalMs);
  sample();
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      await client.end().catch(() => undefined);
      const average = [...counts]
        .map(([state, n]) => ({ state, backends: samples > 0 ? n / samples : 0 }))
        .sort((a, b) => b.backends - a.backends);
      return { samples, average };
    },
  };
}

function stateOf(state: string | null, waitType: string | null, waitEvent: string | null): string {
  if (state === 'active') return waitType === null ? 'running' : `waiting ${waitType}:${waitEvent}`;
  if (state === 'idle in transaction') return 'idle in transaction (redial computing)';
  if (state === 'idle') return 'idle';
  return state ?? 'unknown';
}

export function formatActivity(summary: ActivitySummary, minimum = 0.01): string {
  const shown = summary.average.filter((entry) => entry.backends >= minimum);
  return shown.map((entry) => `${entry.state} ${entry.backends.toFixed(2)}`).join(', ') || 'no backends seen';
}

/**
 * The PostgreSQL server stopped and started again while a batch runs on an API process and a
 * worker: redial reconnects and finishes the batch, every recipient terminal and attempted once,
 * no attempt dialed twice and the limit kept by the simulator's own dial log, and — no redial
 * process died — no attempt ends `dispatch_uncertain`.
 *
 * It restarts the machine's real server (`pg_ctlcluster … main stop/start`, as root), so it first
 * takes the test server lock exclusively (tests that need the server hold it shared) and waits
 * for other clients to leave; the server is always started again, whatever happens.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { apiOf, assertNoneExited, completeAndCheck, crashRecipients, longestCallMs, submitCrashBatch, tryGetBatch } from '../helpers/crash.js';
import {
  createSchema,
  dropSchema,
  holdServerExclusive,
  localCluster,
  newSchemaName,
  pgCtlCluster,
  postgresIsUp,
  urlWithSchema,
  waitForNoOtherClients,
  type ServerLock,
} from '../helpers/postgres.js';
import { killAll, spawnServer, spawnWorker, unusedPort, waitFor, type SpawnedServer, type SpawnedWorker } from '../helpers/server.js';

const count = 2_000;
const limit = 20;
// 2,000 calls of 0.25 s on average, 20 at a time: at least 25 s of dialing, the restart early in it.
const timeScale = 0.005;
const ringingTimeoutSecs = 60;
const seed = 1;
const leaseTtlSecs = 2;
/** How long the server stays down: longer than a lease, so leases expire while nothing can renew them. */
const downMs = 3_000;
const applicationName = 'redial_pg_restart_test';

const cluster = localCluster();
const skip = cluster === null ? 'the test database is not a local pg_ctlcluster cluster this test can restart' : false;

describe('the PostgreSQL server restarted while a batch runs', { skip }, () => {
  const schema = newSchemaName('redial_pgrestart');
  const databaseUrl = (() => {
    const url = new URL(urlWithSchema(schema));
    url.searchParams.set('application_name', applicationName);
    return url.toString();
  })();
  const dir = mkdtempSync(join(tmpdir(), 'redial-pg-restart-'));
  const dialLog = join(dir, 'dials.jsonl');
  const engineArgs = ['--simulate', '--sim-time-scale', String(timeScale), '--sim-dial-log', dialLog, '--lease-ttl-secs', String(leaseTtlSecs), '--poll-interval-ms', '100'];
  const processes: (SpawnedServer | SpawnedWorker)[] = [];
  let lock: ServerLock | null = null;
  let passed = false;

  const ensureStarted = async (): Promise<void> => {
    if (await postgresIsUp()) return;
    try {
      pgCtlCluster(cluster!, 'start');
    } catch (error) {
      // Already starting (or started by someone else): wait for it below.
      console.error(`postgres-restart: pg_ctlcluster start: ${String(error)}`);
    }
    await waitFor(postgresIsUp, 60_000, 'Postgres to accept connections again');
  };

  /** Waits for the server to have no client but ours; refuses to restart it under anyone else's feet. */
  const waitUntilAlone = async (quietMs: number, timeoutMs: number): Promise<void> => {
    const others = await waitForNoOtherClients(lock!, applicationName, quietMs, timeoutMs);
    assert.deepEqual(others, [], `other clients stayed connected to the Postgres server for ${timeoutMs} ms; not restarting it under them`);
  };

  before(
    async () => {
      lock = await holdServerExclusive();
      await createSchema(schema);
    },
    { timeout: 250_000 },
  );

  after(async () => {
    // Whatever happened, the server runs again before anything else is cleaned up.
    await ensureStarted();
    await killAll(processes);
    if (!passed) {
      for (const proc of processes) writeFileSync(join(dir, `process-${proc.child.pid}.log`), proc.output());
      console.error(`postgres-restart: the dial log and every process's output are kept in ${dir}`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
    await dropSchema(schema);
    await lock?.release();
  });

  it('reconnects and finishes the batch: none lost, none dialed twice, the limit kept, nothing uncertain', { timeout: 210_000 }, async () => {
    assert.ok(longestCallMs(ringingTimeoutSecs, timeScale) < leaseTtlSecs * 1000, 'the lease outlives the longest call');
    // Tests that do not take the lock (the store suites) finish first.
    await waitUntilAlone(3_000, 60_000);
    const started = Date.now();
    const apiServer = await spawnServer({ dataDir: join(dir, 'api'), port: await unusedPort(), args: ['--no-dispatch', '--database-url', databaseUrl, ...engineArgs] });
    processes.push(apiServer);
    const worker = await spawnWorker({ databaseUrl, args: engineArgs });
    processes.push(worker);
    const api = apiOf(apiServer);

    const recipients = crashRecipients(count);
    const batchId = await submitCrashBatch(api, { name: 'pg-restart', recipients, limit });
    await waitFor(async () => ((await tryGetBatch(api, batchId))?.total_calls_finished ?? 0) >= 200, 30_000, 'a tenth of the calls to end');

    // Anyone who connected since (a store suite starting) is done before the server stops.
    await waitUntilAlone(300, 15_000);
    const before = (await tryGetBatch(api, batchId))!;
    assert.ok(before.total_calls_finished < count, 'the batch is still running when the server stops');

    let stoppedAt = 0;
    let startedAt = 0;
    let apiFailedWhileDown = false;
    // If this test process is interrupted while the server is down, it starts it on the way out.
    const startOnExit = (): void => {
      try {
        pgCtlCluster(cluster!, 'start');
      } catch {
        // already running
      }
    };
    const startOnSignal = (signal: NodeJS.Signals): void => {
      startOnExit();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('exit', startOnExit);
    process.once('SIGINT', startOnSignal);
    process.once('SIGTERM', startOnSignal);
    try {
      pgCtlCluster(cluster!, 'stop');
      stoppedAt = Date.now();
      await sleep(downMs / 2);
      apiFailedWhileDown = (await tryGetBatch(api, batchId)) === null;
      await sleep(downMs / 2);
    } finally {
      await ensureStarted();
      startedAt = Date.now();
      process.removeListener('exit', startOnExit);
      process.removeListener('SIGINT', startOnSignal);
      process.removeListener('SIGTERM', startOnSignal);
    }
    // Every redial process lives through it.
    assertNoneExited(processes);
    const { completedAt, stats } = await completeAndCheck(api, batchId, processes, new Set(), {
      recipients,
      dialLogPath: dialLog,
      // No process was killed: any dispatch_uncertain fails as unexplained.
      kills: [],
      limit,
      perProcessInFlight: limit,
      timeScale,
      seed,
      ringingTimeoutSecs,
    });
    console.log(
      `postgres-restart: ${before.total_calls_finished}/${count} finished when stopped; down ${startedAt - stoppedAt} ms ` +
        `(API answered ${apiFailedWhileDown ? 'an error' : 'normally'} meanwhile); completed ${completedAt - startedAt} ms after the start ` +
        `(${completedAt - started} ms in all); ${JSON.stringify(stats)}`,
    );
    passed = true;
  });
});

/**
 * The crash test on PostgreSQL: one API process and three `redial worker` processes on
 * one schema; 5,000 simulated recipients; a random worker `kill -9`ed every second for 20 kills,
 * a replacement started each time. At the end every recipient is terminal and was attempted once,
 * the far end (the simulator's dial log, written by every process) saw no attempt twice and never
 * more calls at once than the batch's limit, and every `dispatch_uncertain` is explained by a kill.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { apiOf, assertNoneExited, completeAndCheck, crashRecipients, longestCallMs, submitCrashBatch, tryGetBatch, type Kill } from '../helpers/crash.js';
import { createSchema, dropSchema, holdServerShared, newSchemaName, urlWithSchema, type ServerLock } from '../helpers/postgres.js';
import { killAll, launchWorker, spawnServer, unusedPort, type SpawnedServer, type SpawnedWorker } from '../helpers/server.js';

const count = 5_000;
const limit = 50;
// At 0.005 a call lasts 0.25 s on average and at most 0.5 s, so 5,000 calls 50 at a time take at
// least 25 s however fast the machine: the batch is still running through all 20 kills.
const timeScale = 0.005;
const ringingTimeoutSecs = 60; // the default: the batch sets none
const seed = 1; // the default --sim-seed
// Longer than the longest simulated call, so a killed worker's calls have surely ended at the far
// end before another worker reclaims their leases (and their slots under the limit).
const leaseTtlSecs = 2;
const kills = 20;
const killEveryMs = 1_000;

describe('three workers and an API on PostgreSQL, a random worker kill -9ed every second', () => {
  const schema = newSchemaName('redial_crash');
  const databaseUrl = urlWithSchema(schema);
  const dir = mkdtempSync(join(tmpdir(), 'redial-crash-pg-'));
  const dialLog = join(dir, 'dials.jsonl');
  const engineArgs = [
    '--simulate',
    '--sim-time-scale',
    String(timeScale),
    '--sim-dial-log',
    dialLog,
    '--lease-ttl-secs',
    String(leaseTtlSecs),
    '--poll-interval-ms',
    '100',
  ];
  const processes: (SpawnedServer | SpawnedWorker)[] = [];
  let lock: ServerLock | null = null;
  let passed = false;

  before(
    async () => {
      // test/e2e/postgres-restart.test.ts restarts the server; not while this runs.
      lock = await holdServerShared();
      await createSchema(schema);
    },
    { timeout: 250_000 },
  );

  after(async () => {
    await killAll(processes);
    if (!passed) {
      for (const proc of processes) writeFileSync(join(dir, `process-${proc.child.pid}.log`), proc.output());
      console.error(`crash.postgres: the dial log and every process's output are kept in ${dir}`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
    await dropSchema(schema);
    await lock?.release();
  });

  const startWorker = (): SpawnedWorker => {
    const worker = launchWorker({ databaseUrl, args: engineArgs });
    processes.push(worker);
    return worker;
  };

  it('finishes 5,000 recipients: none lost, none dialed twice, the limit kept, every dispatch_uncertain explained', { timeout: 150_000 }, async () => {
    assert.ok(longestCallMs(ringingTimeoutSecs, timeScale) < leaseTtlSecs * 1000, 'the lease outlives the longest call');
    const started = Date.now();
    const apiServer = await spawnServer({ dataDir: join(dir, 'api'), port: await unusedPort(), args: ['--no-dispatch', '--database-url', databaseUrl, ...engineArgs] });
    processes.push(apiServer);
    const api = apiOf(apiServer);
    let workers = [startWorker(), startWorker(), startWorker()];
    await Promise.all(workers.map((worker) => worker.ready));

    const recipients = crashRecipients(count);
    const batchId = await submitCrashBatch(api, { name: 'crash-postgres', recipients, limit });
    const submittedAt = Date.now();

    const killed: Kill[] = [];
    const killedPids = new Set<number>();
    let finishedAtLastKill = 0;
    for (let k = 1; k <= kills; k++) {
      await sleep(Math.max(0, submittedAt + k * killEveryMs - Date.now()));
      assertNoneExited(processes, killedPids);
      workers = workers.filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null);
      // A random worker that is dispatching; one still starting only if none is.
      const candidates = workers.some((worker) => worker.isReady()) ? workers.filter((worker) => worker.isReady()) : workers;
      const victim = candidates[Math.floor(Math.random() * candidates.length)]!;
      killedPids.add(victim.pid);
      victim.child.kill('SIGKILL');
      killed.push({ at: Date.now(), pid: victim.pid });
      await victim.exited;
      workers = workers.filter((worker) => worker !== victim);
      workers.push(startWorker());
      if (k === kills) finishedAtLastKill = (await tryGetBatch(api, batchId))?.total_calls_finished ?? 0;
    }
    await Promise.all(workers.map((worker) => worker.ready));
    assert.ok(finishedAtLastKill < count, 'the batch was still running at the last kill');

    const { completedAt, stats } = await completeAndCheck(api, batchId, processes, killedPids, {
      recipients,
      dialLogPath: dialLog,
      kills: killed,
      limit,
      perProcessInFlight: limit,
      timeScale,
      seed,
      ringingTimeoutSecs,
    });
    console.log(
      `crash.postgres: ${kills} kills; ${finishedAtLastKill}/${count} finished at the last kill; completed ${completedAt - submittedAt} ms after submit ` +
        `(${completedAt - started} ms in all); ${JSON.stringify(stats)}`,
    );
    passed = true;
  });
});

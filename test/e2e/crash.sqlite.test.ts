/**
 * The crash test on SQLite: one `redial serve` process on a data dir, `kill -9`ed at a
 * random moment and started again, 10 times, while a batch runs. The same checks as on
 * PostgreSQL (test/e2e/crash.postgres.test.ts): every recipient terminal and attempted once, no
 * attempt dialed twice and the limit kept by the simulator's own dial log, every
 * `dispatch_uncertain` explained by a kill.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { apiOf, assertNoneExited, completeAndCheck, crashRecipients, longestCallMs, submitCrashBatch, tryGetBatch, type Kill } from '../helpers/crash.js';
import { killAll, spawnServer, unusedPort, type SpawnedServer } from '../helpers/server.js';

const count = 3_000;
const limit = 50;
// At 0.005 a call lasts 0.25 s on average and at most 0.5 s: 3,000 calls 50 at a time take at
// least 15 s of dispatching, more than the process is up in all between the kills below (≤ 12 s).
const timeScale = 0.005;
const ringingTimeoutSecs = 60;
const seed = 1;
// Longer than the longest simulated call (see the PostgreSQL test).
const leaseTtlSecs = 2;
const kills = 10;

describe('one server on SQLite, kill -9ed and started again 10 times', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redial-crash-sqlite-'));
  const dialLog = join(dir, 'dials.jsonl');
  const processes: SpawnedServer[] = [];
  let passed = false;

  after(async () => {
    await killAll(processes);
    if (!passed) {
      for (const proc of processes) writeFileSync(join(dir, `process-${proc.child.pid}.log`), proc.output());
      console.error(`crash.sqlite: the data dir, the dial log and every process's output are kept in ${dir}`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const start = async (): Promise<SpawnedServer> => {
    const server = await spawnServer({
      dataDir: join(dir, 'data'),
      port: await unusedPort(),
      args: ['--simulate', '--sim-time-scale', String(timeScale), '--sim-dial-log', dialLog, '--lease-ttl-secs', String(leaseTtlSecs), '--poll-interval-ms', '100'],
    });
    processes.push(server);
    return server;
  };

  it('finishes 3,000 recipients: none lost, none dialed twice, the limit kept, every dispatch_uncertain explained', { timeout: 150_000 }, async () => {
    assert.ok(longestCallMs(ringingTimeoutSecs, timeScale) < leaseTtlSecs * 1000, 'the lease outlives the longest call');
    const started = Date.now();
    let server = await start();
    const recipients = crashRecipients(count);
    const batchId = await submitCrashBatch(apiOf(server), { name: 'crash-sqlite', recipients, limit });

    const killed: Kill[] = [];
    const killedPids = new Set<number>();
    let finishedAtLastKill = 0;
    const progress: number[] = [];
    for (let k = 1; k <= kills; k++) {
      // Up for a random 0.3–1.2 s: killed while leasing, dialing, writing or reclaiming.
      await sleep(300 + Math.random() * 900);
      assertNoneExited(processes, killedPids);
      finishedAtLastKill = (await tryGetBatch(apiOf(server), batchId))?.total_calls_finished ?? finishedAtLastKill;
      progress.push(finishedAtLastKill);
      killedPids.add(server.child.pid!);
      server.child.kill('SIGKILL');
      killed.push({ at: Date.now(), pid: server.child.pid! });
      await server.exited;
      server = await start();
    }
    assert.ok(finishedAtLastKill < count, 'the batch was still running at the last kill');

    const api = apiOf(server);
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
    console.log(`crash.sqlite: ${kills} kills; finished at each kill ${progress.join(', ')} of ${count}; completed after ${completedAt - started} ms; ${JSON.stringify(stats)}`);
    passed = true;
  });
});

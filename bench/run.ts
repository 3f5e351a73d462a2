/**
 * `npm run bench`: throughput and memory figures of redial on this machine, loopback only.
 *
 *   1. submit of 100,000 recipients over HTTP                       recipients/s   target ≥ 100,000/s
 *   2. dispatch of those 100,000 simulated calls (time scale 0)     calls/s        target ≥ 30,000/s
 *   3. retry of a 1,000,000-recipient batch with 20 % failed        ms             target < 1,000 ms
 *   4. peak RSS growth of the server while it serves GET of a
 *      100,000-recipient batch (and its CSV export)                 MB             target < 50 MB (GET)
 *
 * 1, 2 and 4 run against `redial serve --simulate --sim-time-scale 0` from the built CLI, spawned
 * as its own process (so its RSS is its own); 3 runs the SQLite store in this process. The targets
 * are SQLite's (issue 2).
 *
 * Then the same figures 1–3 on PostgreSQL (issue 3), each in a schema of its own that is dropped
 * afterwards (also on failure and on SIGINT):
 *
 *   1. submit over HTTP to `redial serve --no-dispatch --database-url …` (API only)
 *   2. dispatch with 1, 2 and 3 `redial worker --simulate --sim-time-scale 0` processes beside
 *      that API process (a fresh schema, API process, workers and batch for each count), from the
 *      submit response to status completed, polling the list endpoint; the CPU of every process
 *      and of their Postgres backends is printed, and the attempts are counted afterwards
 *   3. retry of the 1,000,000-recipient batch through the Postgres store in this process
 *
 * Postgres has no targets of its own; its rows show SQLite's for comparison and say 'info'.
 *
 * Environment:
 *   BENCH_SCALE=0.1     run everything at a tenth of the size (quick check); default 1
 *   BENCH_CPU_PROF=1    run the server under `node --cpu-prof` and print its top self-time
 *                       functions for each phase (figures are then a little lower)
 *   BENCH_KEEP=1        keep the temporary data directory (its path is printed)
 *   BENCH_NO_BUILD=1    do not run `npm run build` even when dist/ looks older than src/
 *   BENCH_ONLY=server   only SQLite figures 1, 2 and 4; BENCH_ONLY=retry only SQLite figure 3;
 *                       BENCH_ONLY=postgres only the Postgres figures (postgres-server: 1 and 2,
 *                       postgres-retry: 3); BENCH_ONLY=twilio only figure 5 (calls through the
 *                       fake Twilio REST API); several may be given, comma-separated
 *   BENCH_PG_WORKERS=1,2,3  worker counts of the Postgres dispatch figure (default 1,2,3)
 *   BENCH_LOG_LEVEL=info  log level of the Postgres API and worker processes (default warn); each
 *                       one's whole output goes to <temporary dir>/<name>.log (keep it with BENCH_KEEP=1)
 *   BENCH_DATABASE_URL  the Postgres server (default TEST_DATABASE_URL, else
 *                       postgres://postgres@127.0.0.1:5432/test); a schema is made per figure
 *
 * Wall-clock figures depend on the machine being otherwise idle: the load average is printed
 * before and after, and the server's CPU seconds are printed next to each HTTP figure.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drain, requestJson, type Client } from './http.js';
import {
  backendCpu,
  connect,
  cpuBetween,
  createSchema,
  describeServer,
  dropAllSchemas,
  dropSchema,
  dropSchemasSync,
  formatActivity,
  sampleActivity,
  schemasLeft,
  serverSettings,
  urlWithSchema,
} from './postgres.js';
import { monotonicUs, topSelfTime } from './profile.js';
import { benchRetryPostgres } from './retry-postgres.js';
import { benchRetry, type RetryResult } from './retry.js';
import { cpuSeconds, mb, measureRss, rssBytes, type RssWindow } from './rss.js';
import { ensureBuilt, killAllSpawnedSync, spawnRedial, spawnServer, type ServerProcess } from './server-process.js';
import { benchTwilio } from './twilio.js';
import { submitBody } from './workload.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const scale = Number(process.env.BENCH_SCALE ?? '1');
if (!Number.isFinite(scale) || scale <= 0 || scale > 10) {
  console.error(`BENCH_SCALE must be a number in (0, 10]; got '${process.env.BENCH_SCALE}'`);
  process.exit(2);
}
const profiling = process.env.BENCH_CPU_PROF === '1';
const keep = process.env.BENCH_KEEP === '1';
const parts = ['server', 'retry', 'postgres-server', 'postgres-retry', 'twilio'] as const;
type Part = (typeof parts)[number];
const only = new Set<Part>();
for (const word of (process.env.BENCH_ONLY ?? '').split(',').map((w) => w.trim()).filter((w) => w !== '')) {
  if (word === 'postgres') {
    only.add('postgres-server');
    only.add('postgres-retry');
  } else if ((parts as readonly string[]).includes(word)) only.add(word as Part);
  else {
    console.error(`BENCH_ONLY must be server, retry, postgres, postgres-server, postgres-retry or twilio (comma-separated); got '${process.env.BENCH_ONLY}'`);
    process.exit(2);
  }
}
const runs = (part: Part) => only.size === 0 || only.has(part);
const pgWorkerCounts = (process.env.BENCH_PG_WORKERS ?? '1,2,3').split(',').map((w) => Number(w.trim()));
if (pgWorkerCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) {
  console.error(`BENCH_PG_WORKERS must be worker counts from 1 to 16, comma-separated; got '${process.env.BENCH_PG_WORKERS}'`);
  process.exit(2);
}

const batchSize = Math.max(100, Math.round(100_000 * scale));
const retrySize = Math.max(1_000, Math.round(1_000_000 * scale));
const submitRepetitions = 3;
const retryRepetitions = 3;
/** Large enough that the limit never holds dispatch back (the simulator ends calls at once). */
const concurrencyLimit = 5_000;
const pollIntervalMs = 20;
const dispatchTimeoutMs = Math.max(30_000, Math.round(180_000 * scale));
const apiKey = 'bench-key-0123456789';
const pgLogLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';

const tmp = mkdtempSync(join(tmpdir(), 'redial-bench-'));
let server: ServerProcess | null = null;

/** Last resort (no event loop left): kill what is still running, drop the Postgres schemas left. */
function cleanupSync(): void {
  killAllSpawnedSync();
  dropSchemasSync(root);
  if (!keep) rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanupSync);
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return; // a second ^C while the schemas are being dropped
    interrupted = true;
    console.error(`\nbench: ${signal}, stopping the redial processes and cleaning up`);
    killAllSpawnedSync();
    setTimeout(() => process.exit(130), 30_000).unref();
    void dropAllSchemas()
      .then((dropped) => dropped.length && console.error(`bench: dropped ${dropped.length} Postgres schema(s)`))
      .catch((error: unknown) => console.error(`bench: dropping the schemas failed (${String(error)}); trying once more on exit`))
      .finally(() => process.exit(130));
  });
}

// ---- formatting

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits = 1) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const log = (line: string) => console.log(`  ${line}`);

interface Row {
  /** '1', '2', '3', '4a', '4b': the table is ordered by it, SQLite before Postgres within one. */
  key: string;
  figure: string;
  /** Which store, and which processes did the work. */
  store: string;
  result: string;
  target: string;
  verdict: 'pass' | 'MISS' | 'info' | 'n/a';
}
const rows: Row[] = [];

function printTable(): void {
  const ordered = [...rows].sort((a, b) => a.key.localeCompare(b.key, 'en', { numeric: true }));
  // A figure measured on several stores is named once, on its first row.
  const shown = ordered.map((row, i) => ({ ...row, figure: i > 0 && ordered[i - 1]!.figure === row.figure ? '' : row.figure }));
  const headers = { key: '', figure: 'figure', store: 'store (processes)', result: 'result', target: 'target', verdict: '' };
  const width = (key: 'figure' | 'store' | 'result' | 'target') => Math.max(headers[key].length, ...shown.map((row) => row[key].length));
  const w = { figure: width('figure'), store: width('store'), result: width('result'), target: width('target') };
  const line = (row: Omit<Row, 'verdict'> & { verdict: string }) =>
    `  ${row.figure.padEnd(w.figure)}  ${row.store.padEnd(w.store)}  ${row.result.padStart(w.result)}  ${row.target.padEnd(w.target)}  ${row.verdict}`;
  console.log('');
  console.log(line(headers));
  console.log(`  ${'-'.repeat(w.figure + w.store + w.result + w.target + 14)}`);
  for (const row of shown) console.log(line(row));
  console.log('');
}

/** Postgres has no targets of its own (issue 3 asks for the figures); SQLite's are shown for comparison. */
const sqliteTarget = (target: string) => `(none; SQLite ${target})`;

// ---- phases

interface Phase {
  name: string;
  fromUs: number;
  toUs: number;
}
const phases: Phase[] = [];

async function timedPhase<T>(name: string, work: () => Promise<T>): Promise<T> {
  const fromUs = monotonicUs();
  try {
    return await work();
  } finally {
    phases.push({ name, fromUs, toUs: monotonicUs() });
  }
}

interface WireBatch {
  id: string;
  status: string;
  total_calls_scheduled: number;
  total_calls_dispatched: number;
  total_calls_finished: number;
}

async function setUp(client: Client): Promise<{ agentId: string; phoneNumberId: string }> {
  const agent = await requestJson<{ agent_id: string }>(client, 'POST', '/v1/convai/agents/create', { name: 'Bench agent', conversation_config: {} });
  const phone = await requestJson<{ phone_number_id: string }>(client, 'POST', '/v1/convai/phone-numbers', {
    provider: 'twilio',
    phone_number: '+14155550100',
    label: 'bench caller',
    sid: 'AC0123456789abcdef0123456789abcdef',
    token: 'bench-token',
  });
  return { agentId: agent.agent_id, phoneNumberId: phone.phone_number_id };
}

async function submit(client: Client, body: string): Promise<{ batch: WireBatch; ms: number }> {
  const started = performance.now();
  const batch = await requestJson<WireBatch>(client, 'POST', '/v1/convai/batch-calling/submit', body, 120_000);
  return { batch, ms: performance.now() - started };
}

interface Target {
  /** Step label in the log, e.g. '[1/4]'. */
  step: string;
  /** Prefix of the phase names (for the CPU profiles), '' or 'pg '. */
  phase: string;
  /** The table's store column. */
  store: string;
  /** Set on Postgres: the schema, to read the CPU of its server backends. */
  pgSchema: string | null;
}

/** CPU seconds of this measurement's Postgres backends (null on SQLite or when not readable). */
async function pgCpu(target: Target): Promise<Map<number, number> | null> {
  if (target.pgSchema === null) return null;
  const client = await connect();
  try {
    return await backendCpu(client, target.pgSchema);
  } finally {
    await client.end();
  }
}

async function benchSubmit(srv: ServerProcess, client: Client, ids: { agentId: string; phoneNumberId: string }, target: Target): Promise<void> {
  console.log(`\n${target.step} submit of ${int(batchSize)} recipients over HTTP (${target.store})`);
  // Scheduled a day ahead, so these batches are written but never dispatched.
  const later = Math.floor(Date.now() / 1000) + 86_400;
  const warmup = submitBody({ callName: 'bench warm-up', ...ids, recipients: Math.min(10_000, batchSize), targetConcurrencyLimit: concurrencyLimit, scheduledTimeUnix: later });
  await submit(client, warmup);
  const body = submitBody({ callName: 'bench submit', ...ids, recipients: batchSize, targetConcurrencyLimit: concurrencyLimit, scheduledTimeUnix: later });
  log(`request body ${fixed(Buffer.byteLength(body) / 1e6)} MB, ${int(batchSize)} recipients, each with an id, a +1 NPA 555 NNNN number and one dynamic variable`);
  const times: number[] = [];
  let rss: RssWindow | null = null;
  for (let rep = 0; rep < submitRepetitions; rep++) {
    const pgBefore = await pgCpu(target);
    const cpuBefore = cpuSeconds(srv.pid);
    const measured = await measureRss(
      srv.pid,
      async () => {
        const activity = target.pgSchema === null ? null : await sampleActivity(target.pgSchema);
        const result = await timedPhase(`${target.phase}submit #${rep + 1}`, () => submit(client, body));
        return { ...result, activity: await activity?.stop() };
      },
      { idleMs: 200 },
    );
    const cpuAfter = cpuSeconds(srv.pid);
    const pgSeconds = cpuBetween(pgBefore, await pgCpu(target));
    if (measured.result.batch.total_calls_scheduled !== batchSize) {
      throw new Error(`submit: total_calls_scheduled ${measured.result.batch.total_calls_scheduled}, expected ${batchSize}`);
    }
    times.push(measured.result.ms);
    if (rep === 0) rss = measured.rss;
    const cpu = cpuBefore !== null && cpuAfter !== null ? `, server CPU ${fixed(cpuAfter - cpuBefore, 2)} s` : '';
    const pg = pgSeconds !== null ? `, its Postgres backends ${fixed(pgSeconds, 2)} s` : '';
    log(`run ${rep + 1}: ${int(measured.result.ms)} ms = ${int(batchSize / (measured.result.ms / 1000))} recipients/s${cpu}${pg}`);
    if (measured.result.activity) log(`  its backends on average (pg_stat_activity every 50 ms): ${formatActivity(measured.result.activity)}`);
  }
  const ms = median(times);
  const rate = batchSize / (ms / 1000);
  log(`median of ${submitRepetitions}: ${int(ms)} ms (after one ${int(Math.min(10_000, batchSize))}-recipient warm-up submit)`);
  if (rss) log(`server RSS during the first timed submit: ${fixed(mb(rss.baseline))} MB -> peak ${fixed(mb(Math.max(rss.peak, rss.kernelPeak ?? 0)))} MB`);
  const sqlite = target.pgSchema === null;
  rows.push({
    key: '1',
    figure: `1. submit ${int(batchSize)} recipients (HTTP, median of ${submitRepetitions})`,
    store: target.store,
    result: `${int(rate)} rcpt/s`,
    target: sqlite ? '>= 100,000 rcpt/s' : sqliteTarget('>= 100,000'),
    verdict: !sqlite ? 'info' : rate >= 100_000 ? 'pass' : 'MISS',
  });
}

interface Watched {
  name: string;
  pid: number;
}

/**
 * Submits a batch that dispatches at once and polls the list endpoint until it is done. `watched`
 * are the processes whose CPU and RSS are reported: the one server on SQLite; the API process
 * and the workers on Postgres.
 */
async function benchDispatch(
  client: Client,
  ids: { agentId: string; phoneNumberId: string },
  target: Target & { watched: Watched[]; workers: number | null },
): Promise<{ batchId: string; completed: boolean; rate: number; ms: number }> {
  const by = target.workers === null ? '' : `, ${target.workers} worker${target.workers === 1 ? '' : 's'}`;
  console.log(`\n${target.step} dispatch of ${int(batchSize)} simulated calls (time scale 0, target_concurrency_limit ${int(concurrencyLimit)}${by}; ${target.store})`);
  const body = submitBody({ callName: 'bench dispatch', ...ids, recipients: batchSize, targetConcurrencyLimit: concurrencyLimit, scheduledTimeUnix: null });
  const fromUs = monotonicUs();
  const submitted = await submit(client, body);
  const batchId = submitted.batch.id;
  const started = performance.now();
  const cpuAtStart = target.watched.map((p) => cpuSeconds(p.pid));
  const pgAtStart = await pgCpu(target);
  const activity = target.pgSchema === null ? null : await sampleActivity(target.pgSchema);
  log(`submitted ${batchId} in ${int(submitted.ms)} ms; polling GET /v1/convai/batch-calling/workspace?limit=1 every ${pollIntervalMs} ms`);
  const marks = new Map<number, number>();
  // Pauses of more than a second with no call finishing (after the first finished).
  const stallMs = 1_000;
  const stalls: { from: number; to: number; finished: number }[] = [];
  let progress = { finished: 0, at: 0 };
  let last: WireBatch = submitted.batch;
  const peakRss = target.watched.map(() => 0);
  let timedOut = false;
  for (;;) {
    const page = await requestJson<{ batch_calls: WireBatch[] }>(client, 'GET', '/v1/convai/batch-calling/workspace?limit=1', undefined, 10_000);
    const elapsed = performance.now() - started;
    target.watched.forEach((p, i) => (peakRss[i] = Math.max(peakRss[i]!, rssBytes(p.pid) ?? 0)));
    const batch = page.batch_calls[0];
    if (!batch || batch.id !== batchId) throw new Error(`dispatch: the newest batch is ${batch?.id ?? 'none'}, expected ${batchId}`);
    last = batch;
    for (const share of [0.01, 0.5, 0.9, 0.99]) {
      if (!marks.has(share) && batch.total_calls_finished >= share * batchSize) marks.set(share, elapsed);
    }
    if (batch.total_calls_finished !== progress.finished) {
      if (elapsed - progress.at > stallMs && progress.finished > 0) stalls.push({ from: progress.at, to: elapsed, finished: progress.finished });
      progress = { finished: batch.total_calls_finished, at: elapsed };
    }
    if (batch.status === 'completed' || batch.status === 'failed' || batch.status === 'cancelled') break;
    if (elapsed > dispatchTimeoutMs) {
      timedOut = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
  const ms = performance.now() - started;
  phases.push({ name: `${target.phase}dispatch${by}`, fromUs, toUs: monotonicUs() });
  const cpuAtEnd = target.watched.map((p) => cpuSeconds(p.pid));
  const activitySummary = await activity?.stop();
  const pgSeconds = cpuBetween(pgAtStart, await pgCpu(target));
  const rate = last.total_calls_finished / (ms / 1000);
  const at = (share: number) => (marks.has(share) ? `${int(marks.get(share)!)} ms` : 'never');
  log(
    `status ${last.status} after ${int(ms)} ms: dispatched ${int(last.total_calls_dispatched)}, finished ${int(last.total_calls_finished)} of ${int(last.total_calls_scheduled)}`,
  );
  log(`finished 1 % at ${at(0.01)}, 50 % at ${at(0.5)}, 90 % at ${at(0.9)}, 99 % at ${at(0.99)} (from the submit response)`);
  const endsStalled = last.total_calls_finished === progress.finished && ms - progress.at > stallMs;
  if (endsStalled && progress.finished < batchSize) stalls.push({ from: progress.at, to: ms, finished: progress.finished });
  for (const stall of stalls) {
    log(`NOTE: no call finished from ${int(stall.from)} ms to ${int(stall.to)} ms (${fixed((stall.to - stall.from) / 1000)} s) at ${int(stall.finished)} finished`);
  }
  const wall = ms / 1000;
  let cores = 0;
  target.watched.forEach((p, i) => {
    const from = cpuAtStart[i];
    const to = cpuAtEnd[i];
    if (from === null || from === undefined || to === null || to === undefined) return;
    cores += (to - from) / wall;
    log(`${p.name} CPU: ${fixed(to - from, 2)} s in ${fixed(wall, 2)} s wall = ${fixed((to - from) / wall, 2)} cores; peak RSS ${fixed(mb(peakRss[i]!))} MB`);
  });
  if (pgSeconds !== null) {
    cores += pgSeconds / wall;
    log(`Postgres backends of these processes: ${fixed(pgSeconds, 2)} s CPU = ${fixed(pgSeconds / wall, 2)} cores`);
  }
  if (target.watched.length > 1 || pgSeconds !== null) log(`all together: ${fixed(cores, 2)} of ${availableParallelism()} cores`);
  if (activitySummary) {
    log(`their backends on average (pg_stat_activity every 50 ms, ${activitySummary.samples} samples): ${formatActivity(activitySummary)}`);
  }
  const completed = last.status === 'completed' && last.total_calls_finished === batchSize;
  if (!completed) log(`NOTE: the batch did not complete${timedOut ? ` within ${int(dispatchTimeoutMs)} ms` : ` (status ${last.status})`}; the figure is calls finished per second so far`);
  const sqlite = target.pgSchema === null;
  rows.push({
    key: '2',
    figure: `2. dispatch ${int(batchSize)} simulated calls, submit->completed (limit ${int(concurrencyLimit)})`,
    store: target.store,
    result: `${int(rate)} calls/s${completed ? '' : ' (INCOMPLETE)'}`,
    target: sqlite ? '>= 30,000 calls/s' : sqliteTarget('>= 30,000'),
    verdict: !completed ? 'MISS' : !sqlite ? 'info' : rate >= 30_000 ? 'pass' : 'MISS',
  });
  return { batchId, completed, rate, ms };
}

async function benchMemory(srv: ServerProcess, client: Client, batchId: string, store: string): Promise<void> {
  console.log(`\n[4/4] server RSS while serving a ${int(batchSize)}-recipient batch (sampled every 10 ms)`);
  // Let the dispatcher's last flush and any collection settle first.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const get = await measureRss(srv.pid, () => timedPhase('GET batch', () => drain(client, `/v1/convai/batch-calling/${batchId}`, { keep: true })), { idleMs: 500 });
  const parsed = JSON.parse(get.result.text!) as { recipients: unknown[] };
  if (parsed.recipients.length !== batchSize) throw new Error(`GET: ${parsed.recipients.length} recipients, expected ${batchSize}`);
  report('GET /v1/convai/batch-calling/{id}', get.rss, get.result, `${int(parsed.recipients.length)} recipients`);
  const getGrowth = growth(get.rss);
  rows.push({
    key: '4a',
    store,
    figure: `4a. peak server RSS growth, GET of ${int(batchSize)}-recipient batch`,
    result: `${fixed(mb(getGrowth))} MB`,
    target: '< 50 MB',
    verdict: mb(getGrowth) < 50 ? 'pass' : 'MISS',
  });

  await new Promise((resolve) => setTimeout(resolve, 500));
  const csv = await measureRss(srv.pid, () => timedPhase('export', () => drain(client, `/v1/convai/batch-calling/${batchId}/export`, { keep: true })), { idleMs: 500 });
  const lines = csv.result.text!.split('\n').filter((line) => line !== '').length;
  if (lines !== batchSize + 1) throw new Error(`export: ${lines} lines, expected ${batchSize + 1}`);
  report('GET /v1/convai/batch-calling/{id}/export', csv.rss, csv.result, `${int(lines - 1)} rows`);
  const csvGrowth = growth(csv.rss);
  rows.push({
    key: '4b',
    store,
    figure: `4b. peak server RSS growth, CSV export of the same batch`,
    result: `${fixed(mb(csvGrowth))} MB`,
    target: '(no target; < 50 MB shown)',
    verdict: 'info',
  });
}

/** Growth over the baseline, from the higher of the sampled peak and the kernel's high-water mark. */
function growth(rss: RssWindow): number {
  return Math.max(0, Math.max(rss.peak, rss.kernelPeak ?? 0) - rss.baseline);
}

function report(what: string, rss: RssWindow, drained: { bytes: number; headersMs: number; totalMs: number }, content: string): void {
  log(`${what}: ${fixed(drained.bytes / 1e6)} MB (${content}), first headers ${int(drained.headersMs)} ms, complete ${int(drained.totalMs)} ms`);
  log(
    `  RSS before ${fixed(mb(rss.baseline))} MB, sampled peak ${fixed(mb(rss.peak))} MB (${rss.samples} samples)` +
      (rss.kernelPeak !== null ? `, kernel VmHWM ${fixed(mb(rss.kernelPeak))} MB` : ', VmHWM not resettable here'),
  );
}

async function benchRetryPhase(): Promise<void> {
  const failed = Math.floor(retrySize / 5);
  console.log(`\n[3/4] retry of a ${int(retrySize)}-recipient batch with ${int(failed)} failed (no_answer), store API, SQLite synchronous=FULL`);
  const dataDir = join(tmp, 'retry');
  mkdirSync(dataDir);
  const result: RetryResult = await benchRetry({ dataDir, recipients: retrySize, repetitions: retryRepetitions });
  log(`set-up: batchSubmit ${int(result.submitMs)} ms, mark finished + checkpoint ${int(result.markMs)} ms, database ${fixed(result.dbBytes / 1e6)} MB`);
  log(`batchRetry re-queued ${int(result.requeued)} of ${int(result.recipients)}: ${result.retryMs.map((ms) => `${int(ms)} ms`).join(', ')}`);
  const ms = median(result.retryMs);
  rows.push({
    key: '3',
    figure: retryFigure(failed),
    store: 'SQLite synchronous=FULL (store API, in-process)',
    result: `${int(ms)} ms`,
    target: '< 1,000 ms',
    verdict: ms < 1_000 ? 'pass' : 'MISS',
  });
}

const retryFigure = (failed: number) => `3. retry ${int(retrySize)}-recipient batch, ${int(failed)} failed (store, median of ${retryRepetitions})`;

function printProfiles(dir: string, what: string): void {
  // One file per thread: <…>.<pid>.<thread index>.<sequence>.cpuprofile; thread 0 is the main thread.
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => ({ name, thread: Number(name.split('.').at(-3)) }))
    .sort((a, b) => a.thread - b.thread);
  if (files.length === 0) {
    console.log(`\nno .cpuprofile was written in ${dir} (did ${what} exit cleanly?)`);
    return;
  }
  console.log(`\n${what}: CPU profiles (${files.length} threads) in ${dir}${keep ? '' : ' (set BENCH_KEEP=1 to keep them)'}`);
  for (const file of files) {
    const main = file.thread === 0;
    const label = main ? 'main thread' : `worker thread ${file.thread}`;
    for (const phase of phases) {
      const { totalMs, busyMs, top } = topSelfTime(join(dir, file.name), root, main ? 15 : 5, phase);
      if (totalMs === 0 || (!main && busyMs < 50)) continue;
      console.log(`\n  ${label}, ${phase.name}: ${int(totalMs)} ms of samples, ${int(busyMs)} ms not idle; top self time:`);
      for (const entry of top) {
        console.log(`    ${fixed(entry.selfMs, 0).padStart(7)} ms ${fixed(entry.share * 100).padStart(5)} %  ${entry.name}  ${entry.where}`);
      }
    }
  }
}

async function main(): Promise<void> {
  console.log(`redial bench: scale ${scale}, node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'})`);
  console.log(`temporary data in ${tmp}${keep ? ' (kept)' : ''}`);
  printLoad('before');
  const needsBuild = runs('server') || runs('postgres-server') || runs('twilio');
  if (needsBuild && process.env.BENCH_NO_BUILD !== '1') {
    const built = ensureBuilt(root);
    console.log(built === 'built' ? 'built dist/ from src/ (npm run build)' : 'dist/ is up to date with src/');
  }
  if (runs('server')) await benchServer();
  if (runs('retry')) await benchRetryPhase();
  if (runs('postgres-server') || runs('postgres-retry')) await benchPostgres();
  if (runs('twilio')) await benchTwilioPhase();
  printLoad('after');

  printTable();
  if (profiling) console.log('  (servers and workers ran under --cpu-prof: the HTTP and dispatch figures are lower than without it)\n');
}

function printLoad(when: string): void {
  const [one, five] = loadavg();
  const busy = one! > availableParallelism() * 0.5;
  console.log(`load average ${when}: ${fixed(one!, 2)} (1 min), ${fixed(five!, 2)} (5 min)${busy ? ' -- the machine is busy: wall-clock figures will be low' : ''}`);
}

const sqliteServer = 'SQLite (1 serve process: API + dispatch)';

async function benchServer(): Promise<void> {
  const serverDir = join(tmp, 'server');
  const profileDir = join(tmp, 'profile');
  mkdirSync(serverDir);
  mkdirSync(profileDir);
  try {
    server = await spawnServer({
      root,
      dataDir: serverDir,
      apiKey,
      nodeArgs: profiling ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    });
    console.log(`server: pid ${server.pid} at ${server.url}${profiling ? ' (under --cpu-prof)' : ''}`);
    const client: Client = { url: server.url, apiKey };
    const ids = await setUp(client);
    const sqlite: Target = { step: '', phase: '', store: sqliteServer, pgSchema: null };
    await benchSubmit(server, client, ids, { ...sqlite, step: '[1/4]' });
    const { batchId } = await benchDispatch(client, ids, { ...sqlite, step: '[2/4]', watched: [{ name: 'server', pid: server.pid }], workers: null });
    await benchMemory(server, client, batchId, sqliteServer);
  } catch (error) {
    if (server && !interrupted) console.error(`server output:\n${server.output().slice(-4_000)}`);
    throw error;
  } finally {
    await server?.stop(10_000);
  }
  if (profiling) printProfiles(profileDir, 'SQLite server');
}

// ---- carriers

const twilioCalls = Math.max(200, Math.round(10_000 * scale));
const twilioConcurrency = 500;

async function benchTwilioPhase(): Promise<void> {
  console.log(`\n[5] ${int(twilioCalls)} Twilio calls through the fake REST API (time scale 0, target_concurrency_limit ${twilioConcurrency}, SQLite, 1 serve process)`);
  const figure = await timedPhase('twilio', () => benchTwilio({ root, dir: tmp, apiKey, calls: twilioCalls, concurrency: twilioConcurrency }));
  log(`${int(figure.calls)} calls finished in ${int(figure.ms)} ms; the fake took ${int(figure.creates)} creates and sent ${int(figure.callbacks)} signed callbacks`);
  if (figure.serverCpuSeconds !== null) log(`server CPU: ${fixed(figure.serverCpuSeconds, 2)} s = ${fixed((figure.serverCpuSeconds * 1000) / Math.max(1, figure.calls), 2)} ms per call`);
  rows.push({
    key: '5',
    figure: `5. dispatch ${int(twilioCalls)} Twilio calls, create + callbacks over HTTP`,
    store: sqliteServer,
    result: `${int(figure.rate)} calls/s${figure.completed ? '' : ' (INCOMPLETE)'}`,
    target: '(no target)',
    verdict: figure.completed ? 'info' : 'MISS',
  });
}

// ---- PostgreSQL

async function benchPostgres(): Promise<void> {
  let settings: string;
  try {
    const client = await connect(null, 10_000);
    try {
      settings = await serverSettings(client);
    } finally {
      await client.end();
    }
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    if (only.size > 0) throw new Error(`PostgreSQL at ${describeServer()} is not reachable: ${why}`);
    console.log(`\nPostgreSQL at ${describeServer()} is not reachable (${why}): the Postgres figures are skipped`);
    rows.push({ key: '1', figure: '1. submit', store: 'Postgres', result: 'not run', target: '(server not reachable)', verdict: 'n/a' });
    return;
  }
  console.log(`\nPostgreSQL at ${describeServer()}: ${settings}`);
  log('each figure runs in a schema of its own (search_path in the URL), dropped with CASCADE afterwards');
  try {
    if (runs('postgres-server')) {
      await benchPostgresSubmit();
      for (const [i, workers] of pgWorkerCounts.entries()) await benchPostgresDispatch(workers, `[pg 2.${i + 1}/3]`);
    }
    if (runs('postgres-retry')) await benchPostgresRetry();
  } finally {
    const left = schemasLeft();
    if (left.length) {
      await dropAllSchemas();
      log(`dropped the schema(s) left: ${left.join(', ')}`);
    }
  }
}

/** The arguments of every redial process on Postgres: the schema's URL, simulated telephony, a data dir of its own. */
function pgArgs(schema: string, name: string): string[] {
  const dataDir = join(tmp, name);
  mkdirSync(dataDir, { recursive: true });
  return ['--database-url', urlWithSchema(schema), '--data-dir', dataDir, '--simulate', '--sim-time-scale', '0'];
}

function profileArgs(name: string): { nodeArgs: string[]; dir: string } {
  const dir = join(tmp, 'profile', name);
  if (profiling) mkdirSync(dir, { recursive: true });
  return { nodeArgs: profiling ? ['--cpu-prof', '--cpu-prof-dir', dir] : [], dir };
}

async function startPgApi(schema: string, name: string): Promise<ServerProcess> {
  const prof = profileArgs(`${name}-api`);
  const api = await spawnRedial({
    root,
    role: 'serve',
    args: ['--no-dispatch', ...pgArgs(schema, `${name}-api`)],
    apiKey,
    nodeArgs: prof.nodeArgs,
    logLevel: pgLogLevel,
    logFile: join(tmp, `${name}-api.log`),
  });
  console.log(`API process (serve --no-dispatch): pid ${api.pid} at ${api.url}, schema ${schema}${profiling ? ' (under --cpu-prof)' : ''}`);
  return api;
}

/** When the Postgres server last started: a restart in the middle of a figure (another engineer's test) is reported. */
async function postmasterStart(): Promise<string | null> {
  try {
    const client = await connect();
    try {
      return (await client.query<{ at: string }>(`SELECT pg_postmaster_start_time()::text AS at`)).rows[0]!.at;
    } finally {
      await client.end();
    }
  } catch {
    return null;
  }
}

async function withSchema<T>(label: string, work: (schema: string) => Promise<T>): Promise<T> {
  const startedAt = await postmasterStart();
  const schema = await createSchema(label);
  try {
    return await work(schema);
  } finally {
    const now = await postmasterStart();
    if (now !== startedAt) log(`NOTE: the Postgres server restarted during this figure (started ${startedAt ?? '?'}, now ${now ?? 'not answering'}): it is not comparable`);
    await dropSchema(schema);
  }
}

async function benchPostgresSubmit(): Promise<void> {
  await withSchema('submit', async (schema) => {
    const api = await startPgApi(schema, 'pg-submit');
    try {
      const client: Client = { url: api.url, apiKey };
      const ids = await setUp(client);
      await benchSubmit(api, client, ids, { step: '[pg 1/3]', phase: 'pg ', store: 'Postgres (1 serve --no-dispatch)', pgSchema: schema });
    } catch (error) {
      if (!interrupted) console.error(`API process output:\n${api.output().slice(-4_000)}`);
      throw error;
    } finally {
      await api.stop(10_000);
    }
    if (profiling) printProfiles(profileArgs('pg-submit-api').dir, 'Postgres API process (submit)');
  });
}

async function benchPostgresDispatch(workerCount: number, step: string): Promise<void> {
  const name = `pg-dispatch-w${workerCount}`;
  await withSchema(`dispatch_w${workerCount}`, async (schema) => {
    const api = await startPgApi(schema, name);
    const workers: ServerProcess[] = [];
    try {
      const client: Client = { url: api.url, apiKey };
      const ids = await setUp(client);
      const started = await Promise.allSettled(
        Array.from({ length: workerCount }, (_, i) =>
          spawnRedial({
            root,
            role: 'worker',
            args: pgArgs(schema, `${name}-worker${i + 1}`),
            apiKey,
            nodeArgs: profileArgs(`${name}-worker${i + 1}`).nodeArgs,
            logLevel: pgLogLevel,
            logFile: join(tmp, `${name}-worker${i + 1}.log`),
          }),
        ),
      );
      for (const result of started) if (result.status === 'fulfilled') workers.push(result.value);
      const refused = started.find((result) => result.status === 'rejected');
      if (refused) throw refused.reason;
      log(`${workerCount} worker process${workerCount === 1 ? '' : 'es'} (redial worker): pid ${workers.map((w) => w.pid).join(', ')}`);
      const store = `Postgres (${workerCount} worker${workerCount === 1 ? '' : 's'} + 1 API process)`;
      const result = await benchDispatch(client, ids, {
        step,
        phase: 'pg ',
        store,
        pgSchema: schema,
        workers: workerCount,
        watched: [{ name: 'API process', pid: api.pid }, ...workers.map((w, i) => ({ name: `worker ${i + 1}`, pid: w.pid }))],
      });
      await checkAttempts(schema, result.batchId);
      for (const [i, w] of workers.entries()) {
        const said = w.output().split('\n').filter((line) => /"level":(4|5|6)0/.test(line));
        if (said.length) log(`worker ${i + 1} logged ${said.length} line(s) at warn or above; the last: ${said.slice(-3).join(' | ').slice(0, 1_500)}`);
      }
    } catch (error) {
      if (interrupted) throw error;
      console.error(`API process output:\n${api.output().slice(-4_000)}`);
      workers.forEach((w, i) => console.error(`worker ${i + 1} output:\n${w.output().slice(-4_000)}`));
      throw error;
    } finally {
      await Promise.all([...workers.map((w) => w.stop(10_000)), api.stop(10_000)]);
    }
    if (profiling) {
      printProfiles(profileArgs(`${name}-api`).dir, `Postgres API process (dispatch, ${workerCount} workers)`);
      for (let i = 1; i <= workerCount; i++) printProfiles(profileArgs(`${name}-worker${i}`).dir, `Postgres worker ${i} of ${workerCount}`);
    }
  });
}

/** After a dispatch on Postgres: one attempt per recipient, none dialed twice, every one finished. */
async function checkAttempts(schema: string, batchId: string): Promise<void> {
  const client = await connect(schema);
  try {
    const { rows: counts } = await client.query<{ attempts: string; recipients: string; twice: string; open: string }>(
      `SELECT (SELECT count(*) FROM attempts a WHERE a.batch_key = b.key) AS attempts,
              (SELECT count(*) FROM recipients r WHERE r.batch_key = b.key) AS recipients,
              (SELECT count(*) FROM recipients r WHERE r.batch_key = b.key AND r.attempt_count > 1) AS twice,
              (SELECT count(*) FROM recipients r WHERE r.batch_key = b.key AND (r.status = 'pending' OR r.lease_owner IS NOT NULL)) AS open
       FROM batches b WHERE b.id = $1`,
      [batchId],
    );
    const c = counts[0];
    if (!c) throw new Error(`dispatch (postgres): batch ${batchId} not found in ${schema}`);
    const line = `${int(Number(c.attempts))} attempts for ${int(Number(c.recipients))} recipients, ${c.twice} dialed more than once, ${c.open} still open`;
    log(`database check: ${line}`);
    if (Number(c.attempts) !== batchSize || Number(c.twice) !== 0) log(`NOTE: expected exactly one attempt per recipient: ${line}`);
  } finally {
    await client.end();
  }
}

async function benchPostgresRetry(): Promise<void> {
  const failed = Math.floor(retrySize / 5);
  console.log(`\n[pg 3/3] retry of a ${int(retrySize)}-recipient batch with ${int(failed)} failed (no_answer), Postgres store API in this process`);
  await withSchema('retry', async (schema) => {
    const result = await benchRetryPostgres({ schema, recipients: retrySize, repetitions: retryRepetitions });
    log(
      `set-up: batchSubmit ${int(result.submitMs)} ms (${int(retrySize / (result.submitMs / 1000))} rcpt/s, one transaction), ` +
        `mark finished ${int(result.markMs)} ms, VACUUM (ANALYZE)${result.checkpointed ? ' + CHECKPOINT' : ' (CHECKPOINT not allowed)'} ${int(result.settleMs)} ms`,
    );
    log(`recipients table with indexes ${fixed(result.recipientsBytes / 1e6)} MB, schema ${fixed(result.schemaBytes / 1e6)} MB`);
    log(
      `batchRetry re-queued ${int(result.requeued)} of ${int(result.recipients)}: ${result.retryMs
        .map((ms, i) => {
          const cpu = result.retryBackendCpu[i];
          return `${int(ms)} ms${cpu !== null && cpu !== undefined ? ` (backend CPU ${fixed(cpu * 1000, 0)} ms)` : ''}`;
        })
        .join(', ')}`,
    );
    log('between runs only the re-queued rows are put back to failed/no_answer, then VACUUM (ANALYZE) and CHECKPOINT again');
    const ms = median(result.retryMs);
    rows.push({
      key: '3',
      figure: retryFigure(failed),
      store: 'Postgres (store API, in-process)',
      result: `${int(ms)} ms`,
      target: sqliteTarget('< 1,000 ms'),
      verdict: 'info',
    });
  });
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    // After ^C the phase in flight fails as its processes go; the signal handler is cleaning up.
    if (interrupted) return;
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (rows.length) printTable();
    killAllSpawnedSync();
    await dropAllSchemas().catch((dropError: unknown) => console.error(`bench: dropping the schemas failed (${String(dropError)}); trying once more on exit`));
    process.exit(1);
  },
);

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
 * as its own process (so its RSS is its own); 3 runs the SQLite store in this process.
 *
 * Environment:
 *   BENCH_SCALE=0.1     run everything at a tenth of the size (quick check); default 1
 *   BENCH_CPU_PROF=1    run the server under `node --cpu-prof` and print its top self-time
 *                       functions for each phase (figures are then a little lower)
 *   BENCH_KEEP=1        keep the temporary data directory (its path is printed)
 *   BENCH_NO_BUILD=1    do not run `npm run build` even when dist/ looks older than src/
 *   BENCH_ONLY=server   only figures 1, 2 and 4; BENCH_ONLY=retry only figure 3
 *
 * Wall-clock figures depend on the machine being otherwise idle: the load average is printed
 * before and after, and the server's CPU seconds are printed next to each HTTP figure.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drain, requestJson, type Client } from './http.js';
import { monotonicUs, topSelfTime } from './profile.js';
import { benchRetry, type RetryResult } from './retry.js';
import { cpuSeconds, mb, measureRss, rssBytes, type RssWindow } from './rss.js';
import { ensureBuilt, killAllSpawnedSync, spawnServer, type ServerProcess } from './server-process.js';
import { submitBody } from './workload.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const scale = Number(process.env.BENCH_SCALE ?? '1');
if (!Number.isFinite(scale) || scale <= 0 || scale > 10) {
  console.error(`BENCH_SCALE must be a number in (0, 10]; got '${process.env.BENCH_SCALE}'`);
  process.exit(2);
}
const profiling = process.env.BENCH_CPU_PROF === '1';
const keep = process.env.BENCH_KEEP === '1';
const only = process.env.BENCH_ONLY ?? '';
if (only !== '' && only !== 'server' && only !== 'retry') {
  console.error(`BENCH_ONLY must be 'server' or 'retry'; got '${only}'`);
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

const tmp = mkdtempSync(join(tmpdir(), 'redial-bench-'));
let server: ServerProcess | null = null;

function cleanupSync(): void {
  killAllSpawnedSync();
  if (!keep) rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanupSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\nbench: ${signal}, stopping the server and cleaning up`);
    cleanupSync();
    process.exit(130);
  });
}

// ---- formatting

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits = 1) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const log = (line: string) => console.log(`  ${line}`);

interface Row {
  figure: string;
  result: string;
  target: string;
  verdict: 'pass' | 'MISS' | 'info' | 'n/a';
}
const rows: Row[] = [];

function printTable(): void {
  const headers = { figure: 'figure', result: 'result', target: 'target', verdict: '' };
  const width = (key: keyof Row) => Math.max(headers[key].length, ...rows.map((row) => row[key].length));
  const w = { figure: width('figure'), result: width('result'), target: width('target') };
  const line = (row: Row | typeof headers) => `  ${row.figure.padEnd(w.figure)}  ${row.result.padStart(w.result)}  ${row.target.padEnd(w.target)}  ${row.verdict}`;
  console.log('');
  console.log(line(headers));
  console.log(`  ${'-'.repeat(w.figure + w.result + w.target + 12)}`);
  for (const row of rows) console.log(line(row));
  console.log('');
}

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
    sid: 'AC0123456789',
    token: 'bench-token',
  });
  return { agentId: agent.agent_id, phoneNumberId: phone.phone_number_id };
}

async function submit(client: Client, body: string): Promise<{ batch: WireBatch; ms: number }> {
  const started = performance.now();
  const batch = await requestJson<WireBatch>(client, 'POST', '/v1/convai/batch-calling/submit', body, 120_000);
  return { batch, ms: performance.now() - started };
}

async function benchSubmit(srv: ServerProcess, client: Client, ids: { agentId: string; phoneNumberId: string }): Promise<void> {
  console.log(`\n[1/4] submit of ${int(batchSize)} recipients over HTTP`);
  // Scheduled a day ahead, so these batches are written but never dispatched.
  const later = Math.floor(Date.now() / 1000) + 86_400;
  const warmup = submitBody({ callName: 'bench warm-up', ...ids, recipients: Math.min(10_000, batchSize), targetConcurrencyLimit: concurrencyLimit, scheduledTimeUnix: later });
  await submit(client, warmup);
  const body = submitBody({ callName: 'bench submit', ...ids, recipients: batchSize, targetConcurrencyLimit: concurrencyLimit, scheduledTimeUnix: later });
  log(`request body ${fixed(Buffer.byteLength(body) / 1e6)} MB, ${int(batchSize)} recipients, each with an id, a +1 NPA 555 NNNN number and one dynamic variable`);
  const times: number[] = [];
  let rss: RssWindow | null = null;
  for (let rep = 0; rep < submitRepetitions; rep++) {
    const cpuBefore = cpuSeconds(srv.pid);
    const measured = await measureRss(srv.pid, () => timedPhase(`submit #${rep + 1}`, () => submit(client, body)), { idleMs: 200 });
    const cpuAfter = cpuSeconds(srv.pid);
    if (measured.result.batch.total_calls_scheduled !== batchSize) {
      throw new Error(`submit: total_calls_scheduled ${measured.result.batch.total_calls_scheduled}, expected ${batchSize}`);
    }
    times.push(measured.result.ms);
    if (rep === 0) rss = measured.rss;
    const cpu = cpuBefore !== null && cpuAfter !== null ? `, server CPU ${fixed(cpuAfter - cpuBefore, 2)} s` : '';
    log(`run ${rep + 1}: ${int(measured.result.ms)} ms = ${int(batchSize / (measured.result.ms / 1000))} recipients/s${cpu}`);
  }
  const ms = median(times);
  const rate = batchSize / (ms / 1000);
  log(`median of ${submitRepetitions}: ${int(ms)} ms (after one ${int(Math.min(10_000, batchSize))}-recipient warm-up submit)`);
  if (rss) log(`server RSS during the first timed submit: ${fixed(mb(rss.baseline))} MB -> peak ${fixed(mb(Math.max(rss.peak, rss.kernelPeak ?? 0)))} MB`);
  rows.push({
    figure: `1. submit ${int(batchSize)} recipients (HTTP, median of ${submitRepetitions})`,
    result: `${int(rate)} rcpt/s`,
    target: '>= 100,000 rcpt/s',
    verdict: rate >= 100_000 ? 'pass' : 'MISS',
  });
}

async function benchDispatch(srv: ServerProcess, client: Client, ids: { agentId: string; phoneNumberId: string }): Promise<string> {
  console.log(`\n[2/4] dispatch of ${int(batchSize)} simulated calls (time scale 0, target_concurrency_limit ${int(concurrencyLimit)})`);
  const body = submitBody({ callName: 'bench dispatch', ...ids, recipients: batchSize, targetConcurrencyLimit: concurrencyLimit, scheduledTimeUnix: null });
  const fromUs = monotonicUs();
  const submitted = await submit(client, body);
  const batchId = submitted.batch.id;
  const started = performance.now();
  const cpuAtStart = cpuSeconds(srv.pid);
  log(`submitted ${batchId} in ${int(submitted.ms)} ms; polling GET /v1/convai/batch-calling/workspace?limit=1 every ${pollIntervalMs} ms`);
  const marks = new Map<number, number>();
  let last: WireBatch = submitted.batch;
  let peakRss = 0;
  let timedOut = false;
  for (;;) {
    const page = await requestJson<{ batch_calls: WireBatch[] }>(client, 'GET', '/v1/convai/batch-calling/workspace?limit=1', undefined, 10_000);
    const elapsed = performance.now() - started;
    peakRss = Math.max(peakRss, rssBytes(srv.pid) ?? 0);
    const batch = page.batch_calls[0];
    if (!batch || batch.id !== batchId) throw new Error(`dispatch: the newest batch is ${batch?.id ?? 'none'}, expected ${batchId}`);
    last = batch;
    for (const share of [0.01, 0.5, 0.9]) {
      if (!marks.has(share) && batch.total_calls_finished >= share * batchSize) marks.set(share, elapsed);
    }
    if (batch.status === 'completed' || batch.status === 'failed' || batch.status === 'cancelled') break;
    if (elapsed > dispatchTimeoutMs) {
      timedOut = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
  const ms = performance.now() - started;
  phases.push({ name: 'dispatch', fromUs, toUs: monotonicUs() });
  const cpuAtEnd = cpuSeconds(srv.pid);
  const rate = last.total_calls_finished / (ms / 1000);
  const at = (share: number) => (marks.has(share) ? `${int(marks.get(share)!)} ms` : 'never');
  log(
    `status ${last.status} after ${int(ms)} ms: dispatched ${int(last.total_calls_dispatched)}, finished ${int(last.total_calls_finished)} of ${int(last.total_calls_scheduled)}`,
  );
  log(`finished 1 % at ${at(0.01)}, 50 % at ${at(0.5)}, 90 % at ${at(0.9)} (from the submit response)`);
  if (cpuAtStart !== null && cpuAtEnd !== null) {
    log(`server CPU: ${fixed(cpuAtEnd - cpuAtStart, 2)} s in ${fixed(ms / 1000, 2)} s wall = ${fixed((cpuAtEnd - cpuAtStart) / (ms / 1000), 2)} cores; peak RSS ${fixed(mb(peakRss))} MB`);
  }
  const completed = last.status === 'completed' && last.total_calls_finished === batchSize;
  if (!completed) log(`NOTE: the batch did not complete${timedOut ? ` within ${int(dispatchTimeoutMs)} ms` : ` (status ${last.status})`}; the figure is calls finished per second so far`);
  rows.push({
    figure: `2. dispatch ${int(batchSize)} simulated calls, submit->completed (limit ${int(concurrencyLimit)})`,
    result: `${int(rate)} calls/s`,
    target: '>= 30,000 calls/s',
    verdict: completed && rate >= 30_000 ? 'pass' : 'MISS',
  });
  return batchId;
}

async function benchMemory(srv: ServerProcess, client: Client, batchId: string): Promise<void> {
  console.log(`\n[4/4] server RSS while serving a ${int(batchSize)}-recipient batch (sampled every 10 ms)`);
  // Let the dispatcher's last flush and any collection settle first.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const get = await measureRss(srv.pid, () => timedPhase('GET batch', () => drain(client, `/v1/convai/batch-calling/${batchId}`, { keep: true })), { idleMs: 500 });
  const parsed = JSON.parse(get.result.text!) as { recipients: unknown[] };
  if (parsed.recipients.length !== batchSize) throw new Error(`GET: ${parsed.recipients.length} recipients, expected ${batchSize}`);
  report('GET /v1/convai/batch-calling/{id}', get.rss, get.result, `${int(parsed.recipients.length)} recipients`);
  const getGrowth = growth(get.rss);
  rows.push({
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
    figure: `3. retry ${int(retrySize)}-recipient batch, ${int(failed)} failed (store, median of ${retryRepetitions})`,
    result: `${int(ms)} ms`,
    target: '< 1,000 ms',
    verdict: ms < 1_000 ? 'pass' : 'MISS',
  });
}

function printProfiles(dir: string): void {
  // One file per thread: <…>.<pid>.<thread index>.<sequence>.cpuprofile; thread 0 is the main thread.
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => ({ name, thread: Number(name.split('.').at(-3)) }))
    .sort((a, b) => a.thread - b.thread);
  if (files.length === 0) {
    console.log(`\nno .cpuprofile was written in ${dir} (did the server exit cleanly?)`);
    return;
  }
  console.log(`\nserver CPU profiles (${files.length} threads) in ${dir}${keep ? '' : ' (set BENCH_KEEP=1 to keep them)'}`);
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
  if (process.env.BENCH_NO_BUILD !== '1') {
    const built = ensureBuilt(root);
    console.log(built === 'built' ? 'built dist/ from src/ (npm run build)' : 'dist/ is up to date with src/');
  }
  if (only !== 'retry') await benchServer();
  if (only !== 'server') await benchRetryPhase();
  printLoad('after');

  rows.sort((a, b) => a.figure.localeCompare(b.figure, 'en', { numeric: true }));
  printTable();
  if (profiling) console.log('  (server ran under --cpu-prof: figures 1, 2 and 4 are lower than without it)\n');
}

function printLoad(when: string): void {
  const [one, five] = loadavg();
  const busy = one! > availableParallelism() * 0.5;
  console.log(`load average ${when}: ${fixed(one!, 2)} (1 min), ${fixed(five!, 2)} (5 min)${busy ? ' -- the machine is busy: wall-clock figures will be low' : ''}`);
}

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
    await benchSubmit(server, client, ids);
    const batchId = await benchDispatch(server, client, ids);
    await benchMemory(server, client, batchId);
  } catch (error) {
    if (server) console.error(`server output:\n${server.output().slice(-4_000)}`);
    throw error;
  } finally {
    await server?.stop(10_000);
  }
  if (profiling) printProfiles(profileDir);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (rows.length) printTable();
    process.exit(1);
  },
);

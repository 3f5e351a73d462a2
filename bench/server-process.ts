/**
 * The processes under test: `redial serve` and `redial worker` from the built CLI (dist/), each
 * spawned as its own process so that its RSS and CPU are its own and not the benchmark client's.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface ServerProcess {
  /** '' for a worker (it has no HTTP port). */
  url: string;
  apiKey: string;
  pid: number;
  child: ChildProcess;
  /** Everything the server wrote to stdout and stderr (last 64 KiB). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  root: string;
  dataDir: string;
  apiKey: string;
  /** Extra node flags for the server (e.g. --cpu-prof). */
  nodeArgs?: string[];
  startTimeoutMs?: number;
}

/** Every server spawned and not yet known to be gone, so an abort can still kill them. */
const spawned = new Set<ChildProcess>();

/** Last-resort cleanup for `process.on('exit')`: synchronous SIGKILL of whatever is left. */
export function killAllSpawnedSync(): void {
  for (const child of spawned) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  spawned.clear();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Runs `npm run build` when dist/ is missing or older than any file under src/. */
export function ensureBuilt(root: string): 'fresh' | 'built' {
  const entry = join(root, 'dist', 'cli', 'index.js');
  const builtAt = existsSync(entry) ? statSync(entry).mtimeMs : 0;
  if (builtAt > 0 && newestMtime(join(root, 'src')) <= builtAt) return 'fresh';
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit', timeout: 180_000 });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status}); the bench needs dist/ built from src/`);
  return 'built';
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  return spawnRedial({
    root: options.root,
    apiKey: options.apiKey,
    nodeArgs: options.nodeArgs,
    startTimeoutMs: options.startTimeoutMs,
    role: 'serve',
    args: ['--simulate', '--sim-time-scale', '0', '--data-dir', options.dataDir],
  });
}

export interface RedialOptions {
  root: string;
  /** `serve` answers on an HTTP port (ready once /health does); `worker` has none (ready once it says so). */
  role: 'serve' | 'worker';
  /** Arguments after the role (store, simulation, --no-dispatch, …); port, host, key and logging are added here. */
  args: string[];
  apiKey: string;
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
  /** redial's --log-level (default warn). */
  logLevel?: string;
  /** Also write everything the process prints to this file (all of it, not only the last 64 KiB). */
  logFile?: string;
  /** The API port, when it must be known before the start (a public URL that names it); free by default. */
  port?: number;
}

/** What `redial worker` prints once its dispatcher runs. */
const workerReady = /redial worker is dispatching from \w+/;

/** Spawns `redial serve …` or `redial worker …` from the built CLI and waits until it is ready. */
export async function spawnRedial(options: RedialOptions): Promise<ServerProcess> {
  const port = options.role === 'serve' ? (options.port ?? (await freePort())) : null;
  const args = [
    ...(options.nodeArgs ?? []),
    join(options.root, 'bin', 'redial.js'),
    options.role,
    ...options.args,
    ...(port !== null ? ['--port', String(port), '--host', '127.0.0.1', '--api-key', options.apiKey] : []),
    '--log-level',
    options.logLevel ?? 'warn',
    '--drain-timeout-secs',
    '2',
  ];
  const child = spawn(process.execPath, args, { cwd: options.root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  spawned.add(child);
  const file = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : null;
  child.once('exit', () => file?.end());
  let output = '';
  const append = (chunk: Buffer) => {
    file?.write(chunk);
    output += chunk.toString();
    if (output.length > 65_536) output = output.slice(-65_536);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  void exited.then(() => spawned.delete(child));

  const url = port !== null ? `http://127.0.0.1:${port}` : '';
  let stopping: Promise<void> | null = null;
  const server: ServerProcess = {
    url,
    apiKey: options.apiKey,
    pid: child.pid!,
    child,
    output: () => output,
    stop: (graceMs = 10_000) => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(killer);
      })();
      return stopping;
    },
  };

  const what = `redial ${options.role}`;
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    if (port === null) {
      if (workerReady.test(output)) return server;
    } else {
      try {
        if ((await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })).ok) return server;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) {
      await server.stop(1_000);
      throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, port === null ? 20 : 50));
  }
}

/**
 * The server under test: `redial serve` from the built CLI (dist/), spawned as its own process so
 * that its RSS and CPU are its own and not the benchmark client's.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface ServerProcess {
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
  const port = await freePort();
  const args = [
    ...(options.nodeArgs ?? []),
    join(options.root, 'bin', 'redial.js'),
    'serve',
    '--simulate',
    '--sim-time-scale',
    '0',
    '--data-dir',
    options.dataDir,
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--api-key',
    options.apiKey,
    '--log-level',
    'warn',
    '--drain-timeout-secs',
    '2',
  ];
  const child = spawn(process.execPath, args, { cwd: options.root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  spawned.add(child);
  let output = '';
  const append = (chunk: Buffer) => {
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

  const url = `http://127.0.0.1:${port}`;
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

  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redial serve exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    try {
      if ((await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })).ok) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop(1_000);
      throw new Error(`redial serve did not answer /health within ${options.startTimeoutMs ?? 20_000} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

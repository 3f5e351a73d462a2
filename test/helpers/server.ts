/**
 * Test fixtures: a real redial server on a real port with a real SQLite file in a fresh
 * temporary data directory, in this process (`startTestServer`) or as a child process running
 * the built CLI (`spawnServer`, for kill-and-restart tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';

export interface TestServer extends RunningServer {
  url: string;
  apiKey: string;
  dispatcher: NonNullable<RunningServer['dispatcher']>;
  dataDir: string;
  /** fetch against the server with the API key set. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  stop(): Promise<void>;
}

export async function startTestServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'redial-test-'));
  const config = loadConfig(
    {
      port: 0,
      dataDir,
      apiKey: 'test-key-0123456789',
      simulate: true,
      simTimeScale: 0,
      logLevel: 'silent',
      pollIntervalMs: 50,
      drainTimeoutSecs: 2,
      ...overrides,
    },
    {},
  );
  const server = await startServer({ config, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  const url = server.url!;
  const apiKey = server.apiKey!;
  return {
    ...server,
    url,
    apiKey,
    dispatcher: server.dispatcher!,
    dataDir,
    api: (path, init = {}) => apiFetch(url, apiKey, path, init),
    stop: async () => {
      await server.close();
      if (!overrides.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function apiFetch(baseUrl: string, apiKey: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('xi-api-key')) headers.set('xi-api-key', apiKey);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  return fetch(`${baseUrl}${path}`, { ...init, headers, body });
}

export interface SpawnedServer {
  url: string;
  apiKey: string;
  child: ChildProcess;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  output: () => string;
}

/** Runs `redial serve` from the TypeScript sources (through tsx) as its own process. */
export async function spawnServer(options: { dataDir: string; port: number; args?: string[]; env?: NodeJS.ProcessEnv }): Promise<SpawnedServer> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/index.ts', 'serve', '--data-dir', options.dataDir, '--port', String(options.port), '--api-key', 'test-key-0123456789', ...(options.args ?? [])],
    { env: { ...process.env, REDIAL_LOG_LEVEL: 'warn', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${options.port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`server exited early with ${child.exitCode}:\n${output}`);
    try {
      return (await fetch(`${url}/health`)).ok;
    } catch {
      return false;
    }
  }, 15_000);
  return { url, apiKey: 'test-key-0123456789', child, exited, output: () => output };
}

/**
 * Polls until `check` returns true, or fails after `timeoutMs` (never a bare sleep). Tests that
 * time protocol events (SIP, webhooks) poll more often than the default.
 */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition', pollMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export function readDialLog(path: string): Record<string, unknown>[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Ports for spawned servers come from below the OS's ephemeral range (32768 and up here), which it
 * hands out for `listen(0)` and outgoing connections: a port picked there could be taken by another
 * test's fake or client between the pick and the server's start. Spread by pid across test files.
 */
const firstPort = 10_000;
const portSpan = 22_000;
let nextPort = firstPort + ((process.pid * 97) % portSpan);
function freePort(): number {
  nextPort = firstPort + ((nextPort - firstPort + 1) % portSpan);
  return nextPort;
}

export interface SpawnedWorker {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves once the worker printed that it is dispatching; rejects if it exits first or takes too long. */
  ready: Promise<void>;
  isReady: () => boolean;
  output: () => string;
}

/**
 * Starts `redial worker` from the TypeScript sources (through tsx) without waiting for it. A
 * worker has no HTTP port: it is ready when it prints "redial worker is dispatching from …".
 */
export function launchWorker(options: { databaseUrl: string; args?: string[]; env?: NodeJS.ProcessEnv; readyTimeoutMs?: number }): SpawnedWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'worker', '--database-url', options.databaseUrl, ...(options.args ?? [])], {
    env: { ...process.env, REDIAL_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let isReady = false;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${child.pid} not ready after ${options.readyTimeoutMs ?? 30_000} ms:\n${output}`)), options.readyTimeoutMs ?? 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!isReady && /redial worker is dispatching from/.test(output)) {
        isReady = true;
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!isReady) reject(new Error(`worker ${child.pid} exited before it was ready (${signal ?? code}):\n${output}`));
    });
  });
  // Whoever awaits `ready` sees the failure; a worker killed while starting is no unhandled rejection.
  ready.catch(() => undefined);
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, pid: child.pid!, exited, ready, isReady: () => isReady, output: () => output };
}

/** Starts `redial worker` and waits until it is dispatching. */
export async function spawnWorker(options: Parameters<typeof launchWorker>[0]): Promise<SpawnedWorker> {
  const worker = launchWorker(options);
  await worker.ready;
  return worker;
}

/** SIGKILLs every child still running and waits for each to be gone. */
export async function killAll(children: { child: ChildProcess; exited: Promise<unknown> }[]): Promise<void> {
  await Promise.all(
    children.map(async ({ child, exited }) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }),
  );
}

/** A port (see `freePort`) that nothing listens on right now, for a process started next. */
export async function unusedPort(): Promise<number> {
  for (;;) {
    const port = freePort();
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}

/**
 * Puts one redial process together: store, dispatcher (with its providers), services and API.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './api/app.js';
import type { Config } from './config.js';
import { systemClock, type Clock } from './domain/clock.js';
import { newRandomId } from './domain/ids.js';
import { AgentService } from './engine/agent-service.js';
import { BatchService } from './engine/batch-service.js';
import { Dispatcher } from './engine/dispatcher.js';
import { PhoneNormaliser } from './engine/phone-normaliser.js';
import { PhoneNumberService } from './engine/phone-number-service.js';
import { openSqliteStore } from './store/sqlite/index.js';
import type { Store } from './store/store.js';
import { createProviderRegistry } from './telephony/registry.js';
import { SimulatedProvider } from './telephony/simulated/provider.js';

export const defaultWorkspaceId = 'default';

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  dispatcher: Dispatcher;
  url: string;
  apiKey: string;
  /** Drains the dispatcher (up to the drain timeout), closes the API and the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Called once with a newly generated API key, so the CLI can print it. */
  onKeyGenerated?: (apiKey: string, path: string) => void;
}

export async function startServer({ config, logger, clock = systemClock, onKeyGenerated }: StartOptions): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true });
  const apiKey = config.apiKey ?? loadOrCreateApiKey(config.dataDir, onKeyGenerated);
  const store = openSqliteStore({ filename: join(config.dataDir, 'redial.db') });
  const owner = `${process.pid}-${newRandomId('w', 8)}`;
  const dispatcher = new Dispatcher({
    store,
    clock,
    logger,
    owner,
    leaseTtlMs: config.leaseTtlSecs * 1000,
    leaseChunk: config.leaseChunk,
    pollIntervalMs: config.pollIntervalMs,
    defaultRingingTimeoutSecs: config.defaultRingingTimeoutSecs,
    simulate: config.simulate,
    makeProviders: (sink) =>
      createProviderRegistry({
        sink,
        simulate: config.simulate,
        factories: {
          simulated: (eventSink) =>
            new SimulatedProvider({
              clock,
              logger: logger.child({ provider: 'simulated' }),
              seed: config.simSeed,
              sink: eventSink,
              timeScale: config.simTimeScale,
              ...(config.simDialLog ? { dialLogPath: config.simDialLog } : {}),
            }),
        },
      }),
  });
  const phoneNormaliser = new PhoneNormaliser();
  const batches = new BatchService({
    store,
    phoneNormaliser,
    clock,
    logger,
    defaultConcurrency: config.defaultConcurrency,
    dispatch: {
      wake: () => dispatcher.wake(),
      hangUp: (attempts) => dispatcher.hangUp(attempts.filter((attempt) => attempt.leaseOwner === owner)),
      canDial: (phoneNumber) => dispatcher.providers.supports(phoneNumber?.provider ?? null),
    },
  });
  let ready = false;
  const app = buildApp({
    logger,
    services: { agents: new AgentService(store, clock), batches, phoneNumbers: new PhoneNumberService(store, clock) },
    apiKeys: [{ apiKey, workspaceId: defaultWorkspaceId }],
    bodyLimitBytes: Math.floor(config.bodyLimitMb * 1024 * 1024),
    isReady: () => ready,
  });
  await app.listen({ port: config.port, host: config.host });
  dispatcher.start();
  ready = true;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, dataDir: config.dataDir, simulate: config.simulate, owner }, 'server:ready');

  let closing: Promise<void> | null = null;
  return {
    app,
    store,
    dispatcher,
    url,
    apiKey,
    close: () => {
      closing ??= (async () => {
        ready = false;
        await dispatcher.stop(config.drainTimeoutSecs * 1000);
        await app.close();
        await phoneNormaliser.close();
        await store.close();
        logger.info('server:stopped');
      })();
      return closing;
    },
  };
}

function loadOrCreateApiKey(dataDir: string, onKeyGenerated?: (apiKey: string, path: string) => void): string {
  const path = join(dataDir, 'api-key');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const apiKey = `rdl_${randomBytes(24).toString('base64url')}`;
  writeFileSync(path, `${apiKey}\n`, { mode: 0o600, flag: 'wx' });
  onKeyGenerated?.(apiKey, path);
  return apiKey;
}

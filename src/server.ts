/**
 * Puts one redial process together: store, dispatcher (with its providers), services and API.
 * A process has a role: `all` (API and dispatcher, `redial serve`), `api` (`serve --no-dispatch`)
 * or `worker` (dispatcher only, `redial worker`). Any number of each may share one PostgreSQL
 * database; every limit they must keep together is kept in the database.
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
import { BatchService, type DispatchControl } from './engine/batch-service.js';
import { Dispatcher } from './engine/dispatcher.js';
import { ExchangeWriter } from './engine/exchange-writer.js';
import { OutboundCallService } from './engine/outbound-call-service.js';
import { PhoneNormaliser } from './engine/phone-normaliser.js';
import { PhoneNumberService } from './engine/phone-number-service.js';
import { openPostgresStore } from './store/postgres/index.js';
import { openSqliteStore } from './store/sqlite/index.js';
import type { Store } from './store/store.js';
import { createProviderDirectory } from './engine/call-requests.js';
import { UnownedReportWriter } from './engine/unowned-reports.js';
import type { CallEventSink } from './telephony/provider.js';
import { createProviderRegistry, type ProviderRegistry } from './telephony/registry.js';
import { SimulatedProvider } from './telephony/simulated/provider.js';
import { createSipTrunkProvider } from './telephony/sip_trunk/provider.js';
import { createTwilioProvider } from './telephony/twilio/provider.js';
import { createWhatsAppProvider } from './telephony/whatsapp/provider.js';

export const defaultWorkspaceId = 'default';

export type ProcessRole = 'all' | 'api' | 'worker';

export interface RunningServer {
  role: ProcessRole;
  store: Store;
  /** Null in an API-only process. */
  dispatcher: Dispatcher | null;
  /** Null in a worker. */
  app: FastifyInstance | null;
  url: string | null;
  apiKey: string | null;
  /** Drains the dispatcher (up to the drain timeout), closes the API and the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  role?: ProcessRole;
  clock?: Clock;
  /** Called once with a newly generated API key, so the CLI can print it. */
  onKeyGenerated?: (apiKey: string, path: string) => void;
}

export async function startServer({ config, logger, role = 'all', clock = systemClock, onKeyGenerated }: StartOptions): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true });
  const store = config.databaseUrl
    ? await openPostgresStore({ connectionString: config.databaseUrl })
    : openSqliteStore({ filename: join(config.dataDir, 'redial.db') });
  const owner = `${process.pid}-${newRandomId('w', 8)}`;
  const publicUrl = config.publicUrl?.replace(/\/+$/, '') ?? null;
  /** The providers carriers call back; a callback URL naming any other is a 404 and makes nothing. */
  const callbackProviders = new Set(['twilio', 'whatsapp']);
  const directory = createProviderDirectory(store, clock, config.defaultRingingTimeoutSecs);
  const carrierTimeoutMs = config.carrierTimeoutSecs * 1000;
  const makeProviders = (sink: CallEventSink): ProviderRegistry =>
    createProviderRegistry({
      context: { sink, logger, clock, directory, publicUrl },
      simulate: config.simulate,
      factories: {
        simulated: (context) =>
          new SimulatedProvider({
            clock,
            logger: logger.child({ provider: 'simulated' }),
            seed: config.simSeed,
            sink: context.sink,
            timeScale: config.simTimeScale,
            ...(config.simDialLog ? { dialLogPath: config.simDialLog } : {}),
          }),
        twilio: (context) => createTwilioProvider(context, { apiUrl: config.twilioApiUrl, requestTimeoutMs: carrierTimeoutMs, unansweredCreateWaitMs: 2 * carrierTimeoutMs }),
        whatsapp: (context) =>
          createWhatsAppProvider(context, {
            graphApiUrl: config.whatsappApiUrl.replace(/\/+$/, ''),
            permissionTimeoutMs: config.whatsappPermissionTimeoutSecs * 1000,
            requestTimeoutMs: carrierTimeoutMs,
          }),
        sip_trunk: (context) => createSipTrunkProvider(context, { listen: parseHostPort(config.sipListen) }),
      },
    });
  const dispatcher =
    role === 'api'
      ? null
      : new Dispatcher({
          store,
          clock,
          logger,
          owner,
          leaseTtlMs: config.leaseTtlSecs * 1000,
          leaseChunk: config.leaseChunk,
          pollIntervalMs: config.pollIntervalMs,
          defaultRingingTimeoutSecs: config.defaultRingingTimeoutSecs,
          maxCallMs: config.maxCallSecs * 1000,
          simulate: config.simulate,
          makeProviders,
        });

  // An API-only process keeps the exchanges of the callbacks it verifies itself.
  const apiExchanges = new ExchangeWriter(store, logger);
  let app: FastifyInstance | null = null;
  let apiKey: string | null = null;
  let url: string | null = null;
  let ready = false;
  const phoneNormaliser = new PhoneNormaliser();
  if (role !== 'worker') {
    apiKey = config.apiKey ?? loadOrCreateApiKey(config.dataDir, onKeyGenerated);
    // Without a dispatcher here, the providers only answer which numbers can be dialed; the
    // workers hang up cancelled calls when their lease renewal finds them gone.
    const providers = dispatcher?.providers ?? makeProviders(new UnownedReportWriter(store, clock, logger).sink(apiExchanges));
    const dispatch: DispatchControl = {
      wake: () => dispatcher?.wake(),
      hangUp: async (attempts) => {
        await dispatcher?.hangUp(attempts.filter((attempt) => attempt.leaseOwner === owner));
        // A live process hangs up its own calls when its lease renewal finds them gone; a call
        // whose process died (its lease ran out) has nobody else to end it.
        const now = clock.now();
        const orphaned = attempts.filter(
          (attempt) => attempt.leaseOwner !== owner && attempt.providerCallId !== null && (attempt.leaseExpiresAt ?? 0) <= now,
        );
        const batch = orphaned.length > 0 ? await store.batchGetByKey(orphaned[0]!.batchKey) : null;
        const phoneNumber = batch?.phoneNumberId ? await store.phoneNumberGet(batch.workspaceId, batch.phoneNumberId) : null;
        await Promise.all(
          orphaned.map(async (attempt) =>
            providers
              .byName(attempt.provider)
              ?.hangUp({
                providerCallId: attempt.providerCallId!,
                phoneNumber,
                providerState: (await store.attemptGet(attempt.batchKey, attempt.seq, attempt.attemptNumber))?.attempt.providerState ?? null,
              })
              .catch((error: unknown) => logger.warn({ err: error, batchKey: attempt.batchKey, seq: attempt.seq }, 'batch:hang_up_failed')),
          ),
        );
      },
      canDial: (phoneNumber) => providers.supports(phoneNumber?.provider ?? null),
      simulating: config.simulate,
    };
    const batches = new BatchService({ store, clock, logger, defaultConcurrency: config.defaultConcurrency, phoneNormaliser, dispatch });
    app = buildApp({
      logger,
      services: {
        agents: new AgentService(store, clock),
        batches,
        calls: new OutboundCallService(store, batches, clock, carrierTimeoutMs + 10_000),
        phoneNumbers: new PhoneNumberService(store, clock),
        callbacks: { publicUrl, provider: (name) => (callbackProviders.has(name) ? providers.byName(name) : null) },
      },
      apiKeys: [{ apiKey, workspaceId: defaultWorkspaceId }],
      bodyLimitBytes: Math.floor(config.bodyLimitMb * 1024 * 1024),
      isReady: () => ready,
    });
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  }
  dispatcher?.start();
  ready = true;
  logger.info({ role, url, store: store.dialect, simulate: config.simulate, owner }, 'server:ready');

  let closing: Promise<void> | null = null;
  return {
    role,
    store,
    dispatcher,
    app,
    url,
    apiKey,
    close: () => {
      closing ??= (async () => {
        ready = false;
        await dispatcher?.stop(config.drainTimeoutSecs * 1000);
        await app?.close();
        await apiExchanges.flush();
        await phoneNormaliser.close();
        await store.close();
        logger.info('server:stopped');
      })();
      return closing;
    },
  };
}

/** `host:port` or `[v6]:port`, already checked by the config schema. */
function parseHostPort(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  return { host: value.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(value.slice(at + 1)) };
}

function loadOrCreateApiKey(dataDir: string, onKeyGenerated?: (apiKey: string, path: string) => void): string {
  const path = join(dataDir, 'api-key');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const apiKey = `rdl_${randomBytes(24).toString('base64url')}`;
  try {
    writeFileSync(path, `${apiKey}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process sharing the data dir wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8').trim();
    throw error;
  }
  onKeyGenerated?.(apiKey, path);
  return apiKey;
}

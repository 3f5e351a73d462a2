import { Command, Option } from 'commander';
import { ConfigError, configEnv, defaultConfig, loadConfig, type Config } from '../../config.js';
import { createLogger } from '../../logger.js';
import { startServer, type ProcessRole } from '../../server.js';

function option(flags: string, key: keyof Config, description: string): Option {
  const fallback = defaultConfig[key];
  const shown = fallback === null ? 'none' : String(fallback);
  return new Option(flags, `${description} (env ${configEnv[key]}, default ${shown})`);
}

/** Options every process role takes: where the data is, how calls are placed, how leases behave. */
function withEngineOptions(command: Command): Command {
  return command
    .addOption(option('--data-dir <dir>', 'dataDir', 'where the SQLite database and the API key live'))
    .addOption(option('--database-url <url>', 'databaseUrl', 'postgres://… to use PostgreSQL instead of SQLite'))
    .addOption(option('--simulate', 'simulate', 'send every call to the built-in simulator'))
    .addOption(option('--sim-time-scale <scale>', 'simTimeScale', 'simulated durations multiplier: 0.01 = 100x faster, 0 = instant'))
    .addOption(option('--sim-seed <seed>', 'simSeed', 'seed of the simulated outcomes outside the 555-01NN table'))
    .addOption(option('--sim-dial-log <file>', 'simDialLog', 'append each simulated dial and hang-up to this file'))
    .addOption(option('--ringing-timeout-secs <secs>', 'defaultRingingTimeoutSecs', 'ring time when a batch sets none'))
    .addOption(option('--lease-chunk <n>', 'leaseChunk', 'most recipients leased in one transaction'))
    .addOption(option('--lease-ttl-secs <secs>', 'leaseTtlSecs', 'how long a dead process keeps its calls leased'))
    .addOption(option('--drain-timeout-secs <secs>', 'drainTimeoutSecs', 'on SIGTERM, how long live calls may take to finish'))
    .addOption(option('--poll-interval-ms <ms>', 'pollIntervalMs', 'how often to look for due recipients'))
    .addOption(option('--public-url <url>', 'publicUrl', 'where carriers reach this server for callbacks (needed for Twilio and WhatsApp)'))
    .addOption(option('--twilio-api-url <url>', 'twilioApiUrl', "Twilio's REST API base URL"))
    .addOption(option('--whatsapp-api-url <url>', 'whatsappApiUrl', 'the Graph API base URL, with its version'))
    .addOption(option('--whatsapp-permission-timeout-secs <secs>', 'whatsappPermissionTimeoutSecs', 'how long a WhatsApp user has to grant the call permission'))
    .addOption(option('--carrier-timeout-secs <secs>', 'carrierTimeoutSecs', "how long a carrier's API may take to answer"))
    .addOption(option('--sip-listen <host:port>', 'sipListen', 'where the SIP user agent binds'))
    .addOption(option('--max-call-secs <secs>', 'maxCallSecs', 'after the ringing timeout, how long a call may last before its carrier is asked whether it ended'))
    .addOption(option('--log-level <level>', 'logLevel', 'fatal, error, warn, info, debug, trace or silent'));
}

async function run(role: ProcessRole, flags: Record<string, unknown>): Promise<void> {
  let config: Config;
  try {
    config = loadConfig({
      port: flags.port,
      host: flags.host,
      dataDir: flags.dataDir,
      databaseUrl: flags.databaseUrl,
      apiKey: flags.apiKey,
      simulate: flags.simulate,
      simTimeScale: flags.simTimeScale,
      simSeed: flags.simSeed,
      simDialLog: flags.simDialLog,
      bodyLimitMb: flags.bodyLimitMb,
      defaultConcurrency: flags.defaultConcurrency,
      defaultRingingTimeoutSecs: flags.ringingTimeoutSecs,
      leaseChunk: flags.leaseChunk,
      leaseTtlSecs: flags.leaseTtlSecs,
      drainTimeoutSecs: flags.drainTimeoutSecs,
      pollIntervalMs: flags.pollIntervalMs,
      publicUrl: flags.publicUrl,
      twilioApiUrl: flags.twilioApiUrl,
      whatsappApiUrl: flags.whatsappApiUrl,
      whatsappPermissionTimeoutSecs: flags.whatsappPermissionTimeoutSecs,
      carrierTimeoutSecs: flags.carrierTimeoutSecs,
      sipListen: flags.sipListen,
      maxCallSecs: flags.maxCallSecs,
      logLevel: flags.logLevel,
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`redial: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      config,
      logger,
      role,
      onKeyGenerated: (apiKey, path) => {
        process.stdout.write(`\nredial generated an API key (kept in ${path}; shown only this once):\n\n  ${apiKey}\n\n`);
      },
    });
  } catch (error) {
    process.stderr.write(`redial: could not start: ${startupProblem(error, config)}\n`);
    process.exit(1);
  }
  const where = server.url ? `listening on ${server.url}` : `dispatching from ${server.store.dialect}`;
  process.stdout.write(`redial ${role === 'worker' ? 'worker ' : ''}is ${where}${config.simulate ? ' (simulated telephony)' : ''}\n`);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'server:shutdown:requested');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'server:shutdown:failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/** What went wrong at start-up, in words that say what to change. */
function startupProblem(error: unknown, config: Config): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EADDRINUSE') return `port ${config.port} on ${config.host} is already in use; stop the other process or pass --port (PORT)`;
  if (code === 'EACCES' || code === 'EROFS') return `${message}; check that the data directory ${config.dataDir} is writable, or pass --data-dir (REDIAL_DATA_DIR)`;
  if (code === 'ECONNREFUSED' && config.databaseUrl) return `cannot reach PostgreSQL at DATABASE_URL (${message}); is the server running?`;
  return message ?? String(error);
}

export function serveCommand(): Command {
  return withEngineOptions(
    new Command('serve')
      .description('Run the API and the dispatcher (or only the API, with --no-dispatch)')
      .addOption(option('--port <port>', 'port', 'port to listen on'))
      .addOption(option('--host <host>', 'host', 'interface to bind'))
      .addOption(option('--api-key <key>', 'apiKey', 'API key clients send as xi-api-key; generated on first start when absent'))
      .addOption(option('--body-limit-mb <mb>', 'bodyLimitMb', 'largest request body in MiB'))
      .addOption(option('--default-concurrency <n>', 'defaultConcurrency', 'calls at once for a batch without target_concurrency_limit'))
      .option('--no-dispatch', 'serve the API only; `redial worker` processes place the calls'),
  ).action((flags: Record<string, unknown>) => run(flags.dispatch === false ? 'api' : 'all', flags));
}

export function workerCommand(): Command {
  return withEngineOptions(new Command('worker').description('Run only the dispatcher: lease due recipients and place their calls')).action(
    (flags: Record<string, unknown>) => run('worker', flags),
  );
}

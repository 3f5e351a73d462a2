/**
 * Every option of `redial serve`, with its default and its environment variable. The CLI reads
 * flags and environment into a raw object; `loadConfig` checks it and says which variable is
 * wrong and what it accepts.
 */
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';

export const ConfigSchema = Type.Object({
  /** PORT — where the API listens. */
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  /** HOST — the interface the API binds. */
  host: Type.String({ minLength: 1 }),
  /** REDIAL_DATA_DIR — the SQLite file and the generated API key live here. */
  dataDir: Type.String({ minLength: 1 }),
  /** DATABASE_URL — postgres://… to keep everything in PostgreSQL (many processes may share it); SQLite in the data dir when absent. */
  databaseUrl: Type.Union([Type.String({ pattern: '^postgres(ql)?://' }), Type.Null()]),
  /** REDIAL_API_KEY — the key clients send as `xi-api-key`; generated and kept in the data dir when absent. */
  apiKey: Type.Union([Type.String({ minLength: 8 }), Type.Null()]),
  /** REDIAL_SIMULATE=1 — every call goes to the built-in simulator whatever the phone number's provider. */
  simulate: Type.Boolean(),
  /** REDIAL_SIM_TIME_SCALE — 1 realistic, 0.01 a hundred times faster, 0 calls end at once. */
  simTimeScale: Type.Number({ minimum: 0, maximum: 100 }),
  /** REDIAL_SIM_SEED — seeds the simulator's outcomes for numbers outside the 555-01NN table. */
  simSeed: Type.Integer(),
  /** REDIAL_SIM_DIAL_LOG — append every simulated dial and hang-up to this file (JSON lines). */
  simDialLog: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
  /** REDIAL_BODY_LIMIT_MB — largest request body; 64 MiB holds a submit of about 300,000 recipients. */
  bodyLimitMb: Type.Number({ exclusiveMinimum: 0, maximum: 1024 }),
  /** REDIAL_DEFAULT_CONCURRENCY — calls a batch may run at once when it sets no target_concurrency_limit. */
  defaultConcurrency: Type.Integer({ minimum: 1 }),
  /** REDIAL_RINGING_TIMEOUT_SECS — ring time before giving up when the batch sets none. */
  defaultRingingTimeoutSecs: Type.Integer({ minimum: 1, maximum: 600 }),
  /**
   * REDIAL_LEASE_CHUNK — most recipients leased (and calls started) in one transaction. Larger
   * chunks mean fewer commits when calls end fast (100,000 calls at time scale 0: 15,800 calls/s
   * with 500, 22,300 with 2,000, 25,400 with 4,000); at real call lengths it hardly matters.
   */
  leaseChunk: Type.Integer({ minimum: 1, maximum: 20000 }),
  /** REDIAL_LEASE_TTL_SECS — how long a dead process's calls stay leased before another process reclaims them. */
  leaseTtlSecs: Type.Number({ exclusiveMinimum: 0 }),
  /** REDIAL_DRAIN_TIMEOUT_SECS — on SIGTERM, how long live calls may take to finish before the process exits. */
  drainTimeoutSecs: Type.Number({ minimum: 0 }),
  /** REDIAL_POLL_INTERVAL_MS — how often the dispatcher looks for due recipients when nothing woke it. */
  pollIntervalMs: Type.Integer({ minimum: 10 }),
  /**
   * REDIAL_PUBLIC_URL — where carriers reach this server for callbacks (Twilio status callbacks,
   * WhatsApp webhooks), e.g. https://redial.example.com. Needed to place Twilio or WhatsApp calls.
   */
  publicUrl: Type.Union([Type.String({ pattern: '^https?://[^\\s]+$' }), Type.Null()]),
  /** REDIAL_TWILIO_API_URL — Twilio's REST API base; another for a regional edge or a test double. */
  twilioApiUrl: Type.String({ pattern: '^https?://[^\\s]+$' }),
  /** REDIAL_WHATSAPP_API_URL — the Graph API base, with its version. */
  whatsappApiUrl: Type.String({ pattern: '^https?://[^\\s]+$' }),
  /** REDIAL_WHATSAPP_PERMISSION_TIMEOUT_SECS — how long a WhatsApp user has to grant the call permission. */
  whatsappPermissionTimeoutSecs: Type.Number({ exclusiveMinimum: 0 }),
  /** REDIAL_CARRIER_TIMEOUT_SECS — how long a request to a carrier's API may take before it counts as unanswered. */
  carrierTimeoutSecs: Type.Number({ exclusiveMinimum: 0, maximum: 300 }),
  /**
   * REDIAL_MAX_CALL_SECS — a call still live this long after its ringing timeout is looked up at
   * its carrier, in case its final callback was lost (a call that really goes on is left alone).
   */
  maxCallSecs: Type.Number({ exclusiveMinimum: 0 }),
  /** REDIAL_SIP_LISTEN — host:port the SIP user agent binds for trunk calls. */
  sipListen: Type.String({ pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s]+):\\d{1,5}$' }),
  /** REDIAL_LOG_LEVEL — pino level. */
  logLevel: Type.Union([
    Type.Literal('fatal'),
    Type.Literal('error'),
    Type.Literal('warn'),
    Type.Literal('info'),
    Type.Literal('debug'),
    Type.Literal('trace'),
    Type.Literal('silent'),
  ]),
});
export type Config = Static<typeof ConfigSchema>;

export const defaultConfig = {
  port: 8000,
  host: '127.0.0.1',
  dataDir: './.redial',
  databaseUrl: null,
  apiKey: null,
  simulate: false,
  simTimeScale: 1,
  simSeed: 1,
  simDialLog: null,
  bodyLimitMb: 64,
  defaultConcurrency: 20,
  defaultRingingTimeoutSecs: 60,
  leaseChunk: 2000,
  leaseTtlSecs: 30,
  drainTimeoutSecs: 30,
  pollIntervalMs: 250,
  publicUrl: null,
  twilioApiUrl: 'https://api.twilio.com',
  whatsappApiUrl: 'https://graph.facebook.com/v23.0',
  whatsappPermissionTimeoutSecs: 3600,
  carrierTimeoutSecs: 15,
  sipListen: '0.0.0.0:5060',
  maxCallSecs: 3600,
  logLevel: 'info',
} as const satisfies Config;

/** Which environment variable sets each option, for error messages and the README. */
export const configEnv: Record<keyof Config, string> = {
  port: 'PORT',
  host: 'HOST',
  dataDir: 'REDIAL_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  apiKey: 'REDIAL_API_KEY',
  simulate: 'REDIAL_SIMULATE',
  simTimeScale: 'REDIAL_SIM_TIME_SCALE',
  simSeed: 'REDIAL_SIM_SEED',
  simDialLog: 'REDIAL_SIM_DIAL_LOG',
  bodyLimitMb: 'REDIAL_BODY_LIMIT_MB',
  defaultConcurrency: 'REDIAL_DEFAULT_CONCURRENCY',
  defaultRingingTimeoutSecs: 'REDIAL_RINGING_TIMEOUT_SECS',
  leaseChunk: 'REDIAL_LEASE_CHUNK',
  leaseTtlSecs: 'REDIAL_LEASE_TTL_SECS',
  drainTimeoutSecs: 'REDIAL_DRAIN_TIMEOUT_SECS',
  pollIntervalMs: 'REDIAL_POLL_INTERVAL_MS',
  publicUrl: 'REDIAL_PUBLIC_URL',
  twilioApiUrl: 'REDIAL_TWILIO_API_URL',
  whatsappApiUrl: 'REDIAL_WHATSAPP_API_URL',
  whatsappPermissionTimeoutSecs: 'REDIAL_WHATSAPP_PERMISSION_TIMEOUT_SECS',
  carrierTimeoutSecs: 'REDIAL_CARRIER_TIMEOUT_SECS',
  sipListen: 'REDIAL_SIP_LISTEN',
  maxCallSecs: 'REDIAL_MAX_CALL_SECS',
  logLevel: 'REDIAL_LOG_LEVEL',
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads options from (highest first) the given overrides, then the environment, then the
 * defaults; strings from the environment are converted to the option's type.
 */
export function loadConfig(overrides: Partial<Record<keyof Config, unknown>>, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = { ...defaultConfig };
  for (const key of Object.keys(configEnv) as (keyof Config)[]) {
    const fromEnv = env[configEnv[key]];
    if (fromEnv !== undefined && fromEnv !== '') raw[key] = fromEnv;
    if (overrides[key] !== undefined) raw[key] = overrides[key];
    raw[key] = coerce(key, raw[key]);
  }
  const problems = [...Value.Errors(ConfigSchema, raw)];
  if (problems.length > 0) {
    const lines = problems.map((problem) => {
      const key = problem.instancePath.replace(/^\//, '') as keyof Config;
      const where = configEnv[key] ? `${configEnv[key]} (--${kebab(key)})` : key;
      return `${where} = ${JSON.stringify(raw[key])}: ${problem.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return raw as Config;
}

function coerce(key: keyof Config, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const expected = typeof defaultConfig[key];
  if (key === 'simulate') {
    const lower = value.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
    if (['0', 'false', 'no', 'off'].includes(lower)) return false;
    return value;
  }
  if (expected === 'number' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return value;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

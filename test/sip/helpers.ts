/**
 * Shared pieces of the SIP tests: running sipp on loopback, a sink that records what the provider
 * reports, and a `PlaceCallRequest` for a sip_trunk number.
 *
 * sipp runs on 127.0.0.1 and the user agent on 127.0.0.2: with both on one address, sipp takes
 * our own packets for its own and the call goes nowhere.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { Agent, JsonObject, PhoneNumber } from '../../src/domain/types.js';
import type { CallEvent, PlaceCallRequest, ProviderContext, ReportedCallEvent } from '../../src/telephony/provider.js';
import { createSipTrunkProvider, type SipTrunkProvider, type SipTrunkProviderOptions } from '../../src/telephony/sip_trunk/provider.js';
import { waitFor as waitForCondition } from '../helpers/server.js';
import { RecordingSink as BaseRecordingSink } from '../telephony/harness.js';

export const sippHost = '127.0.0.1';
export const uaHost = '127.0.0.2';
export const scenarioDir = fileURLToPath(new URL('./scenarios/', import.meta.url));

export interface SippResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** sipp's message trace (-trace_msg): every message it sent and received. */
  messages: string;
  /** sipp's unexpected-message log (-trace_err), for assertion messages. */
  errors: string;
}

export interface SippProcess {
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
  /** `host:port`, as a trunk address or in a SIP URI. */
  address: string;
  /** Resolves when sipp exits by itself (after `-m` calls). */
  exited: Promise<SippResult>;
  /** The trace so far. */
  messages(): string;
  /** Stops sipp (SIGTERM) if it still runs, and resolves with its result. */
  stop(): Promise<SippResult>;
}

export interface SippOptions {
  /** File name under test/sip/scenarios/. */
  scenario: string;
  transport?: 'udp' | 'tcp';
  /** Calls to handle before exiting (-m); 0 = until stopped. */
  calls?: number;
  /** A port chosen beforehand (see `freePort`), when the test needs it before sipp starts. */
  port?: number;
  /** `-key name value`: keywords the scenario uses as [name]. `contact` (host:port for Contact headers) defaults to sipp's own address. */
  keys?: Record<string, string>;
  /** `-set name value`: global variables the scenario uses as [$name]. */
  vars?: Record<string, string>;
  /** Pause length for `<pause/>` without attributes (-d, ms). */
  pauseMs?: number;
  /** Also write sipp's CSV short-message trace (-trace_shortmsg) to `shortMessagesFile`. */
  shortTrace?: boolean;
  /** sipp quits after this long whatever happens (-timeout; default 50 s), so a stuck test cannot leave it behind. */
  timeoutSecs?: number;
  /** The test that owns this sipp: it is stopped when the test ends, however the test ends. */
  owner?: { after(fn: () => Promise<unknown>): void };
}

export async function startSipp(options: SippOptions): Promise<SippProcess & { shortMessagesFile: string }> {
  const transport = options.transport ?? 'udp';
  const port = options.port ?? (await freePort(sippHost));
  const dir = mkdtempSync(join(tmpdir(), 'redial-sipp-'));
  const messageFile = join(dir, 'messages.log');
  const errorFile = join(dir, 'errors.log');
  const shortMessagesFile = join(dir, 'short.log');
  const args = [
    '-sf', join(scenarioDir, options.scenario),
    '-i', sippHost,
    '-p', String(port),
    '-t', transport === 'udp' ? 'u1' : 't1',
    '-nostdin',
    '-trace_msg', '-message_file', messageFile,
    '-trace_err', '-error_file', errorFile,
    // Each sipp has its own RTP ports; the defaults would collide between parallel tests.
    '-mp', String(await freePort(sippHost)),
    '-timeout', `${options.timeoutSecs ?? 50}s`,
  ];
  if (options.calls !== 0) args.push('-m', String(options.calls ?? 1));
  if (options.shortTrace) args.push('-trace_shortmsg', '-shortmessage_file', shortMessagesFile);
  if (options.pauseMs !== undefined) args.push('-d', String(options.pauseMs));
  for (const [name, value] of Object.entries({ contact: `${sippHost}:${port}`, ...options.keys })) args.push('-key', name, value);
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push('-set', name, value);
  const child = spawn('sipp', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  options.owner?.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const exited = new Promise<SippResult>((resolve) => {
    child.on('exit', (code, signal) => {
      const result = { code, signal, messages: read(messageFile), errors: read(errorFile) + stderr };
      resolve(result);
    });
  });
  // Keep the trace files until the process is gone; the OS temp dir is cleaned after the run.
  exited.then(() => setTimeout(() => rmSync(dir, { recursive: true, force: true }), 60_000).unref()).catch(() => undefined);
  await waitForCondition(async () => (await portTaken(sippHost, port, transport)) || child.exitCode !== null, 5_000, `sipp ${options.scenario} to listen`, 20);
  if (child.exitCode !== null) throw new Error(`sipp ${options.scenario} exited at start (${child.exitCode}): ${stderr}`);
  return {
    host: sippHost,
    port,
    transport,
    address: `${sippHost}:${port}`,
    exited,
    shortMessagesFile,
    messages: () => read(messageFile),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Asserts sipp ran its scenario to the end: exit code 0 means every call followed the script. */
export function sippPassed(result: SippResult): string | null {
  if (result.code === 0) return null;
  return `sipp exited with ${result.code ?? result.signal}; errors: ${result.errors.slice(0, 2_000)}`;
}

/** The SIP messages of a trace (-trace_msg), first lines only, in order. */
export function tracedFirstLines(trace: string): { direction: 'sent' | 'received'; firstLine: string; text: string }[] {
  const entries: { direction: 'sent' | 'received'; firstLine: string; text: string }[] = [];
  const pattern = /(UDP|TCP) message (sent|received)[^\n]*\n\n([\s\S]*?)(?=\n-{20,}|$)/g;
  for (const match of trace.matchAll(pattern)) {
    const text = match[3]!.trim();
    entries.push({ direction: match[2] === 'sent' ? 'sent' : 'received', firstLine: text.split(/\r?\n/)[0]!.trim(), text });
  }
  return entries;
}

/** The conformance suite's recording sink, with what the SIP tests ask of a call's events. */
export class RecordingSink extends BaseRecordingSink {
  /** Events of one call, in order. */
  of(providerCallId: string): CallEvent[] {
    return this.events.filter((event) => event.providerCallId === providerCallId).map((event) => event.event);
  }

  async waitFor(predicate: (event: ReportedCallEvent) => boolean, timeoutMs = 10_000, what = 'an event'): Promise<ReportedCallEvent> {
    await waitForCondition(() => this.events.some(predicate), timeoutMs, what, 20);
    return this.events.find(predicate)!;
  }

  async waitForEnd(providerCallId: string, timeoutMs = 10_000): Promise<CallEvent & { kind: 'ended' }> {
    const found = await this.waitFor((event) => event.providerCallId === providerCallId && event.event.kind === 'ended', timeoutMs, `the end of ${providerCallId}`);
    return found.event as CallEvent & { kind: 'ended' };
  }
}

export function recordingSink(): RecordingSink {
  return new RecordingSink();
}

export function testLogger(): Logger {
  return pino({ level: process.env.SIP_TEST_LOG ?? 'silent' });
}

/** A provider on 127.0.0.2 and an ephemeral port, with a recording sink. */
export function startProvider(options: Partial<SipTrunkProviderOptions> = {}): { provider: SipTrunkProvider; sink: RecordingSink } {
  const sink = recordingSink();
  const context: ProviderContext = {
    sink,
    logger: testLogger(),
    clock: { now: () => Date.now() },
    directory: { attempt: async () => null, phoneNumber: async () => null },
    publicUrl: null,
  };
  return { provider: createSipTrunkProvider(context, { listen: { host: uaHost, port: 0 }, ...options }), sink };
}

export interface CallOptions {
  to?: string;
  trunkAddress: string;
  transport?: 'auto' | 'udp' | 'tcp' | 'tls';
  agentUri?: string | null;
  username?: string;
  password?: string;
  headers?: Record<string, string>;
  attributesToHeaders?: Record<string, string>;
  dynamicVariables?: JsonObject;
  ringingTimeoutSecs?: number;
  seq?: number;
}

let nextSeq = 1;

export function callRequest(options: CallOptions): PlaceCallRequest {
  const now = Date.now();
  const outbound: JsonObject = {
    address: options.trunkAddress,
    transport: options.transport ?? 'udp',
    media_encryption: 'disabled',
    has_auth_credentials: options.username !== undefined,
    has_outbound_trunk: true,
  };
  if (options.username !== undefined) outbound.username = options.username;
  if (options.headers) outbound.headers = options.headers;
  if (options.attributesToHeaders) outbound.attributes_to_headers = options.attributesToHeaders;
  const phoneNumber: PhoneNumber = {
    id: 'phnum_sip',
    workspaceId: 'ws',
    provider: 'sip_trunk',
    phoneNumber: '+15550001111',
    label: 'trunk',
    agentId: null,
    supportsInbound: null,
    supportsOutbound: true,
    config: { outbound_trunk: outbound },
    secrets: options.password !== undefined ? { outbound_password: options.password } : {},
    createdAt: now,
    updatedAt: now,
  };
  const agent: Agent = {
    id: 'agent_sip',
    workspaceId: 'ws',
    name: 'SIP agent',
    conversationConfig: {},
    platformSettings: null,
    workflow: null,
    tags: [],
    handoff: options.agentUri === null ? null : { sipUri: options.agentUri ?? 'sip:agent@127.0.0.1:9' },
    createdAt: now,
    updatedAt: now,
  };
  const seq = options.seq ?? nextSeq++;
  return {
    batchId: 'btcal_sip',
    batchKey: 1,
    seq,
    attemptNumber: 1,
    recipientId: `r${seq}`,
    to: options.to ?? '+12025550100',
    whatsappUserId: null,
    clientData: options.dynamicVariables ? { dynamic_variables: options.dynamicVariables } : null,
    agent,
    phoneNumber,
    telephonyCallConfig: {},
    whatsappParams: null,
    ringingTimeoutSecs: options.ringingTimeoutSecs ?? 30,
  };
}

/** A port free for both UDP and TCP on `host` right now. */
export async function freePort(host: string): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const socket = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve(socket.address().port));
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    });
    socket.close();
    if (tcpFree) return port;
  }
  throw new Error(`no port free for both UDP and TCP on ${host}`);
}

async function portTaken(host: string, port: number, transport: 'udp' | 'tcp'): Promise<boolean> {
  if (transport === 'tcp') {
    return new Promise((resolve) => {
      const socket = net.connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(true);
    });
    socket.bind(port, host, () => {
      socket.close();
      resolve(false);
    });
  });
}

/**
 * A fresh WhatsApp test bundle per test: the fake Graph API, a fake agent SDP endpoint, a real
 * HTTP receiver that hands webhooks to the provider as the callbacks route does, a recording
 * sink and a directory stub.
 */
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import type { Agent, PhoneNumber } from '../../src/domain/types.js';
import type {
  CallEvent,
  CallbackResponse,
  PlaceCallRequest,
  PlacedCall,
  Provider,
  ProviderDirectory,
} from '../../src/telephony/provider.js';
import { createWhatsAppProvider, whatsappWebhookUrl, type WhatsAppProviderOptions } from '../../src/telephony/whatsapp/provider.js';
import { startFakeAgent, type FakeAgent } from '../fakes/whatsapp/agent.js';
import { waitFor as waitForCondition } from '../helpers/server.js';
import { RecordingSink, startCallbackReceiver } from '../telephony/harness.js';
import { startFakeGraph, type FakeGraph, type FakeGraphOptions } from '../fakes/whatsapp/server.js';

export const secrets = {
  access_token: 'EAAGtestAccessToken0123456789abcdef',
  app_secret: 'app-secret-0123456789abcdef',
  webhook_verify_token: 'verify-token-5f1c2a',
};
export const graphPhoneNumberId = '106540352242922';

/** A table user (see test/fakes/whatsapp/script.ts): area code for the permission, NN for the call. */
export function waUser(nn: number, areaCode = 202): string {
  return `1${areaCode}55501${String(nn).padStart(2, '0')}`;
}

export interface Harness {
  fake: FakeGraph;
  agent: FakeAgent;
  sink: RecordingSink;
  provider: Provider & Required<Pick<Provider, 'handleCallback'>>;
  phoneNumber: PhoneNumber;
  agentRecord: Agent;
  /** The webhook URL the fake posts to. */
  webhookUrl: string;
  /** Attempts the directory stub knows (`attempt(ref)`), by provider call id. */
  placed: Map<string, PlacedCall>;
  /** Every answer the receiver gave to a webhook. */
  receiverAnswers: CallbackResponse[];
  request(user: string, overrides?: Partial<PlaceCallRequest>): PlaceCallRequest;
  /** A new provider in place of the current one (the old one is closed), as after a restart. */
  restartProvider(): Promise<void>;
  events(providerCallId: string): CallEvent[];
  waitForEnd(providerCallId: string, timeoutMs?: number): Promise<CallEvent & { kind: 'ended' }>;
  close(): Promise<void>;
}

export const providerTimings = { permissionTimeoutMs: 400, requestTimeoutMs: 300 } satisfies Omit<WhatsAppProviderOptions, 'graphApiUrl'>;

export async function setup(options: { provider?: Partial<WhatsAppProviderOptions>; templates?: FakeGraphOptions['templates'] } = {}): Promise<Harness> {
  const sink = new RecordingSink();
  const now = systemClock.now();
  const phoneNumber: PhoneNumber = {
    id: 'phnum_wa_test',
    workspaceId: 'ws_default',
    provider: 'whatsapp',
    phoneNumber: '+12025550000',
    label: 'WhatsApp line',
    agentId: null,
    supportsInbound: false,
    supportsOutbound: true,
    config: { whatsapp_phone_number_id: graphPhoneNumberId, whatsapp_business_account_id: '102290129340398' },
    secrets,
    createdAt: now,
    updatedAt: now,
  };
  const placed = new Map<string, PlacedCall>();
  const directory: ProviderDirectory = {
    attempt: async ({ batchId, seq, attemptNumber }) =>
      [...placed.values()].find((call) => call.batchId === batchId && call.seq === seq && call.attemptNumber === attemptNumber) ?? null,
    phoneNumber: async (id) => (id === phoneNumber.id ? phoneNumber : null),
  };

  const receiverAnswers: CallbackResponse[] = [];
  let provider: Harness['provider'] | null = null;
  const { url: receiverUrl, server: receiver } = await startCallbackReceiver(() => provider, (answer) => receiverAnswers.push(answer));
  const webhookUrl = whatsappWebhookUrl(receiverUrl, phoneNumber.id);

  const fake = await startFakeGraph({
    timeScale: 0.01,
    // WhatsApp gives up ringing later than the provider's 0.5 s ringing timeout, as with real timeouts.
    ringLimitSecs: 120,
    ...(options.templates ? { templates: options.templates } : {}),
    numbers: [
      {
        phoneNumberId: graphPhoneNumberId,
        displayPhoneNumber: '12025550000',
        wabaId: '102290129340398',
        accessToken: secrets.access_token,
        appSecret: secrets.app_secret,
        webhookUrl,
      },
    ],
  });
  const agent = await startFakeAgent();
  const agentRecord: Agent = {
    id: 'agent_wa_test',
    workspaceId: 'ws_default',
    name: 'WhatsApp agent',
    conversationConfig: {},
    platformSettings: null,
    workflow: null,
    tags: [],
    handoff: { sdpUrl: agent.url },
    createdAt: now,
    updatedAt: now,
  };

  const makeProvider = () =>
    createWhatsAppProvider(
      { sink, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), clock: systemClock, directory, publicUrl: receiverUrl },
      { graphApiUrl: fake.graphApiUrl, ...providerTimings, ...options.provider },
    ) as Harness['provider'];
  provider = makeProvider();

  let seq = 0;
  const harness: Harness = {
    fake,
    agent,
    sink,
    get provider() {
      return provider!;
    },
    phoneNumber,
    agentRecord,
    webhookUrl,
    placed,
    receiverAnswers,
    request: (user, overrides = {}) => {
      seq++;
      return {
        batchId: 'btcal_wa_test',
        batchKey: 7,
        seq,
        attemptNumber: 1,
        recipientId: `rcpt_${seq}`,
        to: null,
        whatsappUserId: user,
        clientData: { dynamic_variables: { customer_name: 'Ada' } },
        agent: agentRecord,
        phoneNumber,
        telephonyCallConfig: {},
        whatsappParams: {
          whatsapp_call_permission_request_template_name: 'call_permission_request',
          whatsapp_call_permission_request_template_language_code: 'en_US',
        },
        ringingTimeoutSecs: 0.5,
        ...overrides,
      };
    },
    restartProvider: async () => {
      await provider!.close();
      provider = makeProvider();
    },
    events: (providerCallId) => sink.events.filter((e) => e.providerCallId === providerCallId).map((e) => e.event),
    waitForEnd: async (providerCallId, timeoutMs = 5_000) => {
      await waitFor(() => sink.events.some((e) => e.providerCallId === providerCallId && e.event.kind === 'ended'), timeoutMs, `the end of ${providerCallId}`);
      return sink.events.find((e) => e.providerCallId === providerCallId && e.event.kind === 'ended')!.event as CallEvent & { kind: 'ended' };
    },
    close: async () => {
      await provider!.close();
      await fake.close();
      await agent.close();
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    },
  };
  return harness;
}

/** The project's `waitFor`, polling every 5 ms: webhook steps here are milliseconds apart. */
export function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return waitForCondition(check, timeoutMs, what, 5);
}

/** Event kinds with repeats collapsed (`initiated` is reported again when the call id arrives). */
export function kinds(events: CallEvent[]): string[] {
  const out: string[] = [];
  for (const event of events) {
    const name = event.kind === 'ended' ? `ended:${event.outcome === 'failed' ? event.reason : event.outcome}` : event.kind;
    if (out[out.length - 1] !== name) out.push(name);
  }
  return out;
}

/**
 * What the provider conformance suite needs of each provider: a way to start it against its far
 * end (the simulator itself, the fake Twilio API, the fake Graph API, sipp), a request for a
 * scripted destination, and, for providers that take callbacks, a forgery to try.
 *
 * Destinations are the simulator's number table (+1NXX55501NN), which every far end follows.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import type { Agent, CarrierExchange, PhoneNumber } from '../../src/domain/types.js';
import type { CallbackResponse, CallEventSink, PlaceCallRequest, PlacedCall, Provider, ProviderContext, ReportedCallEvent } from '../../src/telephony/provider.js';

export class RecordingSink implements CallEventSink {
  readonly events: ReportedCallEvent[] = [];
  readonly exchanges: CarrierExchange[] = [];
  report(events: ReportedCallEvent[]): void {
    this.events.push(...events);
  }
  recordExchanges(exchanges: CarrierExchange[]): void {
    this.exchanges.push(...exchanges);
  }
}

export function eventsOf(sink: { events: ReportedCallEvent[] }, request: Pick<PlaceCallRequest, 'batchKey' | 'seq' | 'attemptNumber'>): ReportedCallEvent[] {
  return sink.events.filter((e) => e.batchKey === request.batchKey && e.seq === request.seq && e.attemptNumber === request.attemptNumber);
}

export interface StartedProvider {
  provider: Provider;
  sink: { events: ReportedCallEvent[] };
  /** A request to the table number NN, unique per call of this function. */
  request(nn: number, overrides?: Partial<PlaceCallRequest>): PlaceCallRequest;
  /** Whether the far end holds the call as ended (after a hang-up). */
  farEndEnded(providerCallId: string): Promise<boolean>;
  /**
   * For providers that take callbacks: sends one forged (bad signature) and one replayed (a real
   * one sent again) callback for the call; returns the HTTP statuses redial answered.
   */
  forge?(request: PlaceCallRequest, providerCallId: string): Promise<{ forged: number; replayed: number }>;
  close(): Promise<void>;
}

export interface ProviderHarness {
  name: string;
  /** Outcomes this provider cannot produce (voicemail over plain SIP). */
  unsupported?: string[];
  /** Whether it takes carrier callbacks (then its started provider has `forge`). */
  takesCallbacks?: boolean;
  start(): Promise<StartedProvider>;
}

export const agent: Agent = {
  id: 'agent_conformance',
  workspaceId: 'ws',
  name: 'conformance agent',
  conversationConfig: {},
  platformSettings: null,
  workflow: null,
  tags: [],
  handoff: { streamUrl: 'wss://agent.example.test/media', sipUri: 'sip:agent@127.0.0.1', sdpUrl: 'http://127.0.0.1:9/sdp' },
  createdAt: 1,
  updatedAt: 1,
};

export const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Places calls with unique attempt refs, and keeps them so a directory can find them for callbacks. */
export class RequestBook {
  readonly #placed = new Map<string, PlacedCall>();
  #next = 1;
  constructor(
    readonly phoneNumber: PhoneNumber | null,
    readonly batchId = `btcal_conformance_${Math.random().toString(36).slice(2, 8)}`,
  ) {}

  request(to: string, overrides: Partial<PlaceCallRequest> = {}): PlaceCallRequest {
    const seq = this.#next++;
    const request: PlaceCallRequest = {
      batchId: this.batchId,
      batchKey: 1,
      seq,
      attemptNumber: 1,
      recipientId: `r${seq}`,
      to,
      whatsappUserId: null,
      clientData: { dynamic_variables: { first_name: 'Ann' } },
      agent,
      phoneNumber: this.phoneNumber,
      telephonyCallConfig: { twilio_machine_detection: { mode: 'enable' } },
      whatsappParams: null,
      ringingTimeoutSecs: 20,
      ...overrides,
    };
    this.#placed.set(`${request.batchId}:${request.seq}:${request.attemptNumber}`, { ...request, providerCallId: '', dialedAt: Date.now(), providerState: null });
    return request;
  }

  context(sink: CallEventSink, publicUrl: string | null): ProviderContext {
    return {
      sink,
      logger,
      clock: systemClock,
      publicUrl,
      directory: {
        attempt: async ({ batchId, seq, attemptNumber }) => this.#placed.get(`${batchId}:${seq}:${attemptNumber}`) ?? null,
        phoneNumber: async (id) => (this.phoneNumber?.id === id ? this.phoneNumber : null),
      },
    };
  }
}

/**
 * A real HTTP server that hands every request under `/v1/redial/callbacks/<provider>` to the
 * provider's callback handler, as redial's route does; `onAnswer` sees each answer it gave.
 */
export async function startCallbackReceiver(
  provider: () => Provider | null,
  onAnswer: (answer: CallbackResponse) => void = () => undefined,
): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const prefix = /^\/v1\/redial\/callbacks\/[a-z_]+/.exec(url.pathname)?.[0];
      const handler = provider();
      if (!prefix || !handler?.handleCallback) {
        response.writeHead(404).end();
        return;
      }
      handler
        .handleCallback({
          method: request.method ?? 'GET',
          path: url.pathname.slice(prefix.length),
          publicUrl: `${address}${request.url}`,
          headers: request.headers,
          query: Object.fromEntries(url.searchParams),
          rawBody: Buffer.concat(chunks),
        })
        .then(
          (answer) => {
            onAnswer(answer);
            response.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/plain' });
            response.end(answer.body ?? '');
          },
          (error: unknown) => {
            onAnswer({ status: 500, body: String(error) });
            response.writeHead(500);
            response.end();
          },
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: address, server };
}

/**
 * The provider seam: every way of reaching a person (the simulator, Twilio, a SIP trunk,
 * WhatsApp) implements this interface, and only `src/telephony/<name>/` talks to a carrier.
 *
 * A provider places a call for an attempt and then reports what happens to it through the
 * `CallEventSink` it was given. Failures to place a call are classified by the provider itself
 * (`ProviderCallError.kind`), so the engine never has to guess whether it may dial again.
 */
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import type { FailureReason } from '../domain/status.js';
import type { Agent, AttemptRef, CarrierExchange, JsonObject, PhoneNumber, TelephonyCallConfig, WhatsAppParams } from '../domain/types.js';

export type { CarrierExchange };

export interface CallTarget extends AttemptRef {
  batchId: string;
  /** The recipient's id as the user knows it. */
  recipientId: string;
  /** E.164, for voice calls. */
  to: string | null;
  whatsappUserId: string | null;
  clientData: JsonObject | null;
}

export interface PlaceCallRequest extends CallTarget {
  agent: Agent;
  phoneNumber: PhoneNumber | null;
  telephonyCallConfig: TelephonyCallConfig;
  whatsappParams: WhatsAppParams | null;
  ringingTimeoutSecs: number;
}

/** A call the provider acknowledged, as the engine knows it after a restart. */
export interface PlacedCall extends PlaceCallRequest {
  providerCallId: string;
  dialedAt: number;
  /** What the provider last asked to keep with the attempt (`ReportedCallEvent.providerState`), e.g. a SIP dialog. */
  providerState: JsonObject | null;
}

export type CallEvent =
  | { kind: 'initiated' }
  | { kind: 'answered' }
  | { kind: 'ended'; outcome: 'completed' }
  | { kind: 'ended'; outcome: 'voicemail' }
  | { kind: 'ended'; outcome: 'failed'; reason: FailureReason };

export interface ReportedCallEvent extends AttemptRef {
  providerCallId: string;
  event: CallEvent;
  at: number;
  /**
   * Replaces what is kept with the attempt for a process that reclaims it after a crash
   * (`PlacedCall.providerState`): enough to end or look up the call without this process.
   */
  providerState?: JsonObject;
  /**
   * Set when what ended this call will end every call of the batch (a SIP trunk answering 403):
   * the batch fails with this message, as for a `ProviderCallError` with `failsBatch`.
   */
  failsBatch?: string;
}

export interface CallEventSink {
  report(events: ReportedCallEvent[]): void;
  /** Keeps carrier HTTP exchanges with their attempts, for debugging; written in the background. */
  recordExchanges(exchanges: CarrierExchange[]): void;
}

/** An HTTP request that reached `/v1/redial/callbacks/<provider>/…`, before any check. */
export interface CallbackRequest {
  method: string;
  /** The path after `/v1/redial/callbacks/<provider>`, e.g. `/status/btcal_x/12/1`. */
  path: string;
  /** The URL exactly as the carrier was given it: the public URL followed by the request's path and query. */
  publicUrl: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, string>;
  rawBody: Buffer;
}

export interface CallbackResponse {
  status: number;
  contentType?: string;
  body?: string;
}

/** Lookups a provider needs to verify callbacks for calls it may not be following itself. */
export interface ProviderDirectory {
  /** The attempt as placed, by the batch's public id; null when there is no such attempt. */
  attempt(ref: { batchId: string; seq: number; attemptNumber: number }): Promise<PlacedCall | null>;
  /** A phone number by redial's id, in any workspace. */
  phoneNumber(phoneNumberId: string): Promise<PhoneNumber | null>;
}

/** What every provider factory is given. */
export interface ProviderContext {
  sink: CallEventSink;
  logger: Logger;
  clock: Clock;
  directory: ProviderDirectory;
  /** Where carriers reach this server (`--public-url`, no trailing slash); null when not set. */
  publicUrl: string | null;
}

/**
 * A provider's refusal to place a call. Its reason says whether a retry may dial again
 * (`failureReasons` in status.ts: `provider_error` is transient, `invalid_number` permanent).
 */
export class ProviderCallError extends Error {
  /**
   * Set when no call of the batch can succeed (the carrier rejected the phone number's
   * credentials): the batch fails with this message instead of each recipient failing in turn.
   */
  readonly failsBatch: boolean;

  constructor(message: string, readonly reason: FailureReason, options?: { cause?: unknown; failsBatch?: boolean }) {
    super(message, options);
    this.name = 'ProviderCallError';
    this.failsBatch = options?.failsBatch ?? false;
  }
}

/**
 * What the provider knows of a call that a process that died had placed:
 * `live` means it goes on and the provider will report the rest to the sink;
 * `unknown` makes the attempt end `dispatch_uncertain`.
 */
export type CallLookup = { kind: 'ended'; event: CallEvent & { kind: 'ended' }; at: number } | { kind: 'live'; answered: boolean } | { kind: 'unknown' };

export interface Provider {
  readonly name: string;
  /** Resolves with the provider's call id once the provider has accepted the call. */
  placeCall(request: PlaceCallRequest): Promise<{ providerCallId: string }>;
  /**
   * Ends a live call. Hanging up a call that already ended is not an error. The phone number and
   * the attempt's provider state are given where known, for a call this process did not place
   * (a carrier's API needs the number's credentials; a SIP dialog needs its state).
   */
  hangUp(call: { providerCallId: string; phoneNumber?: PhoneNumber | null; providerState?: JsonObject | null }): Promise<void>;
  /** Reconciles a call placed by a process that is gone; a live call is adopted by this process. */
  lookUp(call: PlacedCall): Promise<CallLookup>;
  /**
   * Handles a carrier's callback or webhook. It must verify the request (a signature) before
   * anything changes, answer 403 when it cannot, and accept duplicates and any order.
   */
  handleCallback?(request: CallbackRequest): Promise<CallbackResponse>;
  close(): Promise<void>;
}

/** The callback URL of an attempt: `<public url>/v1/redial/callbacks/<provider>/<kind>/<batch id>/<seq>/<attempt>`. */
export function attemptCallbackUrl(publicUrl: string, provider: string, kind: string, call: CallTarget): string {
  return `${publicUrl}/v1/redial/callbacks/${provider}/${kind}/${encodeURIComponent(call.batchId)}/${call.seq}/${call.attemptNumber}`;
}

/** Parses the `/<kind>/<batch id>/<seq>/<attempt>` tail that `attemptCallbackUrl` built. */
export function parseAttemptCallbackPath(path: string): { kind: string; batchId: string; seq: number; attemptNumber: number } | null {
  // The route hands the path over decoded already; batch ids are plain ASCII.
  const match = /^\/([a-z_-]+)\/([A-Za-z0-9_-]{1,64})\/(\d{1,9})\/(\d{1,6})$/.exec(path);
  if (!match) return null;
  return { kind: match[1]!, batchId: match[2]!, seq: Number(match[3]), attemptNumber: Number(match[4]) };
}

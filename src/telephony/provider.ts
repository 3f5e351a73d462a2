/**
 * The provider seam: every way of reaching a person (the simulator, Twilio, a SIP trunk,
 * WhatsApp) implements this interface, and only `src/telephony/<name>/` talks to a carrier.
 *
 * A provider places a call for an attempt and then reports what happens to it through the
 * `CallEventSink` it was given. Failures to place a call are classified by the provider itself
 * (`ProviderCallError.kind`), so the engine never has to guess whether it may dial again.
 */
import type { FailureReason } from '../domain/status.js';
import type { Agent, AttemptRef, JsonObject, PhoneNumber, TelephonyCallConfig } from '../domain/types.js';

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
  ringingTimeoutSecs: number;
}

/** A call the provider acknowledged, as the engine knows it after a restart. */
export interface PlacedCall extends PlaceCallRequest {
  providerCallId: string;
  dialedAt: number;
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
}

export interface CallEventSink {
  report(events: ReportedCallEvent[]): void;
}

/**
 * A provider's refusal to place a call. Its reason says whether a retry may dial again
 * (`failureReasons` in status.ts: `provider_error` is transient, `invalid_number` permanent).
 */
export class ProviderCallError extends Error {
  constructor(
    message: string,
    readonly reason: FailureReason,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderCallError';
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
  /** Ends a live call. Hanging up a call that already ended is not an error. */
  hangUp(call: { providerCallId: string }): Promise<void>;
  /** Reconciles a call placed by a process that is gone; a live call is adopted by this process. */
  lookUp(call: PlacedCall): Promise<CallLookup>;
  close(): Promise<void>;
}

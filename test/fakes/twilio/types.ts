/**
 * The public shapes of the fake Twilio REST API (`startFakeTwilio` in `server.ts`).
 *
 * Glossary: an *account* is a Twilio AccountSid with its auth token; an *API key* (`SK…`) is a
 * second credential for one account. A *create* is one `POST …/Calls.json`. A *callback* is one
 * request the fake sends to the application: a status callback (`StatusCallback`) or an
 * answering-machine-detection result (`AsyncAmdStatusCallback`). A *fault* changes what the fake
 * does for one destination number until it is cleared.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../../../src/domain/clock.js';

export interface FakeTwilioAccount {
  /** `AC` + 32 hex digits. */
  accountSid: string;
  authToken: string;
}

export interface FakeTwilioApiKey {
  /** `SK` + 32 hex digits; the Basic-auth username. */
  sid: string;
  /** The Basic-auth password. */
  secret: string;
  /** The account the key belongs to; callbacks are still signed with that account's auth token. */
  accountSid: string;
}

export interface FakeTwilioOptions {
  accounts: FakeTwilioAccount[];
  apiKeys?: FakeTwilioApiKey[];
  /**
   * Multiplies every scripted duration: 1 = real time, 0.01 = a hundred times faster, 0 = the
   * whole call at once (its callbacks still go out one after another, in order). Default 0.
   */
  timeScale?: number;
  /** `scriptCall`'s seed for numbers outside the 555-01NN table. Default 0. */
  seed?: number;
  /** Source of the timestamps the fake reports (not of its timers). Default the system clock. */
  clock?: Clock;
  /** How long a callback receiver may take before the delivery is recorded as failed. Default 15000 (Twilio's). */
  callbackTimeoutMs?: number;
}

/** Changes what the fake does with creates to one destination number, until cleared. */
export type FakeTwilioFault =
  /** Every callback of the call is sent twice, with the same signature and idempotency token. */
  | { kind: 'duplicate' }
  /** No callback of the call is sent; each is recorded with `delivery.kind === 'dropped'`. */
  | { kind: 'drop_callbacks' }
  /** The call is created and runs, but the create's HTTP response is held for `ms`, then the socket is destroyed. */
  | { kind: 'hang'; ms: number }
  /** Status callbacks are held until the call ends; the final one is sent first, then the earlier ones in order. */
  | { kind: 'out_of_order' }
  /** The next `times` creates (default: every create until cleared) answer this status with Twilio's error body; no call is created. */
  | { kind: 'status'; status: 429 | 500 | 503; times?: number };

export type FormParams = Record<string, string | string[]>;

export interface RecordedRequest {
  method: string;
  /** The URL path without the query string. */
  path: string;
  query: FormParams;
  /** The form body; empty unless the request was `application/x-www-form-urlencoded`. */
  form: FormParams;
  headers: IncomingHttpHeaders;
  receivedAt: number;
  /** The HTTP status the fake answered; null while held or when the socket was destroyed (`hang`). */
  responseStatus: number | null;
}

export type CallbackDelivery =
  | { kind: 'pending' }
  /** The receiver answered with this HTTP status (any status: Twilio does not retry). */
  | { kind: 'answered'; status: number }
  | { kind: 'failed'; error: string }
  | { kind: 'dropped' };

export interface RecordedCallback {
  kind: 'status' | 'amd';
  accountSid: string;
  callSid: string;
  /** The exact URL requested and signed; for GET it includes the parameters. */
  url: string;
  method: 'GET' | 'POST';
  params: Record<string, string>;
  /** The `X-Twilio-Signature` header. */
  signature: string;
  /** The `I-Twilio-Idempotency-Token` header; equal on both copies of a duplicated callback. */
  idempotencyToken: string;
  /** 1, or 2 for the second copy under the `duplicate` fault. */
  copy: 1 | 2;
  sentAt: number;
  delivery: CallbackDelivery;
}

/** The Call resource as Twilio's 2010-04-01 API returns it (snake_case, times in RFC 2822). */
export interface TwilioCallResource {
  account_sid: string;
  annotation: null;
  answered_by: string | null;
  api_version: '2010-04-01';
  caller_name: null;
  date_created: string;
  date_updated: string;
  direction: 'outbound-api';
  /** Whole seconds as a string; null while the call is live. */
  duration: string | null;
  end_time: string | null;
  forwarded_from: null;
  from: string;
  from_formatted: string;
  group_sid: null;
  parent_call_sid: null;
  phone_number_sid: string;
  price: null;
  price_unit: 'USD';
  queue_time: string;
  sid: string;
  start_time: string | null;
  status: TwilioCallStatus;
  subresource_uris: Record<string, string>;
  to: string;
  to_formatted: string;
  trunk_sid: null;
  uri: string;
}

/** The Call resource's `status`; `initiated` exists only as a callback's `CallStatus`. */
export type TwilioCallStatus = 'busy' | 'canceled' | 'completed' | 'failed' | 'in-progress' | 'no-answer' | 'queued' | 'ringing';

export interface FakeTwilio {
  /** Base URL to use in place of `https://api.twilio.com`, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Every request received, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Every callback sent (or dropped), in the order the fake sent them. */
  readonly callbacks: readonly RecordedCallback[];
  /** Adds a fault for creates to `to`, replacing any fault of the same kind. */
  inject(to: string, fault: FakeTwilioFault): void;
  /** Removes the faults of `to`, or of every number. */
  clearFaults(to?: string): void;
  /** Gives the account a new auth token (returned); the old one is then refused. API keys keep working, as at Twilio. */
  rotateToken(accountSid: string): string;
  /** Deletes an API key; requests with it are then refused. */
  revokeKey(keySid: string): void;
  /** The Call resource as a fetch would return it, or undefined. */
  getCall(callSid: string): TwilioCallResource | undefined;
  /** How many creates for `to` passed validation: the attempt number the next create will be given, minus one. */
  createCount(to: string): number;
  /** Forgets the create counts of `to`, or of every number, so the attempt-dependent numbers start over. */
  resetCreateCounts(to?: string): void;
  /** Resolves when the call (or every call) has ended and all its callbacks have been delivered, failed or dropped. */
  settled(callSid?: string): Promise<void>;
  /** Stops every timer, aborts callbacks in flight, destroys held sockets and closes the server. */
  close(): Promise<void>;
}

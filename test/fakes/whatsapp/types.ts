/**
 * The public shapes of the fake Graph API (`startFakeGraph` in `server.ts`).
 *
 * Glossary: a *number* is a WhatsApp business phone number (Graph's phone number id, its access
 * token, and its app's secret and webhook URL). A *user* is a WhatsApp user id (`wa_id`, the
 * phone number's digits). A *webhook* is one POST the fake makes to a number's webhook URL. A
 * *fault* changes what the fake does with requests until it is used up or cleared.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../../../src/domain/clock.js';

export interface FakeGraphNumber {
  /** Graph's id of the business phone number (the `{phone-number-id}` in request paths). */
  phoneNumberId: string;
  /** Digits only, as Meta's `metadata.display_phone_number`. */
  displayPhoneNumber: string;
  /** The WhatsApp Business Account id (`entry[].id` of webhooks). */
  wabaId: string;
  accessToken: string;
  /** The Meta app's secret: webhooks are signed with it. */
  appSecret: string;
  /** The app's webhook callback URL. */
  webhookUrl: string;
}

export interface FakeGraphOptions {
  numbers: FakeGraphNumber[];
  /**
   * Multiplies every scripted duration (permission reply after 1 s, ringing 2–10 s, talking
   * 15–90 s): 1 = real time, 0.01 = a hundred times faster. Default 0.01.
   */
  timeScale?: number;
  /** `scriptCall`'s seed for users outside the 555-01NN table. Default 0. */
  seed?: number;
  /** Source of the timestamps in bodies (not of timers). Default the system clock. */
  clock?: Clock;
  /** Approved templates; when given, any other name/language is refused with Graph error 132001. Default: any. */
  templates?: { name: string; language: string }[];
  /** How long WhatsApp rings an unanswered call before ending it itself, in (scaled) seconds. Default 60. */
  ringLimitSecs?: number;
  /** How long a webhook receiver may take before the delivery counts as failed. Default 5000. */
  webhookTimeoutMs?: number;
}

export type FakeGraphEndpoint = 'messages' | 'calls' | 'call_permissions';

/** Changes what the fake does, until used up (`times`, default 1) or cleared. */
export type FakeGraphFault =
  /** Answers with this HTTP status and Graph's error body for it; does nothing else. */
  | { kind: 'status'; endpoint: FakeGraphEndpoint; action?: string; httpStatus: 429 | 500 | 503; times?: number }
  /** Does what the request asks, but answers only after `ms` (the client times out first). */
  | { kind: 'hold'; endpoint: FakeGraphEndpoint; action?: string; ms: number; times?: number }
  /** Every request is refused: 401, OAuthException code 190 (an expired token), until cleared. */
  | { kind: 'reject_credentials' };

export interface FakeGraphWebhookMode {
  /** Every webhook is sent twice, same body and signature (Meta's at-least-once delivery). */
  duplicate?: boolean;
  /** A call's webhooks are held until it ends, then sent newest first. */
  reverseCalls?: boolean;
  /** Every webhook goes out this many (real) milliseconds late, order kept. */
  delayMs?: number;
}

export interface RecordedGraphRequest {
  at: number;
  method: string;
  /** The path without the query, e.g. `/v23.0/1234/calls`. */
  path: string;
  query: Record<string, string>;
  endpoint: FakeGraphEndpoint | null;
  phoneNumberId: string | null;
  /** `action` of a calls request, `type` of a messages request. */
  action: string | null;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** The status the fake answered (or will answer, for a held request). */
  status: number;
}

export type WebhookKind = 'message_status' | 'permission_reply' | 'call_connect' | 'call_status' | 'call_terminate' | 'custom';

export interface RecordedWebhook {
  at: number;
  phoneNumberId: string;
  field: 'messages' | 'calls';
  kind: WebhookKind;
  /** `wamid.…` of the message, or `wacid.…` of the call, it is about. */
  subjectId: string | null;
  /** E.g. `RINGING`, `accept`, `sent`. */
  detail: string | null;
  url: string;
  body: string;
  signature: string;
  delivery: { kind: 'pending' } | { kind: 'answered'; status: number } | { kind: 'failed'; error: string };
}

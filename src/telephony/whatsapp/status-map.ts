/**
 * Meta's words for what happened, turned into redial's: Graph API errors into a failure reason
 * (and whether the whole batch is doomed), call webhooks into call events. Everything that knows
 * a Graph error code or a WhatsApp call status lives here, so a new one is one line.
 *
 * Sources: Meta's "Business-initiated calls" and "Obtain user call permissions" pages, the
 * Calling API error table ("Troubleshoot WhatsApp Calling Errors") and the Cloud API error-code
 * table. Codes marked "(unconfirmed)" are from the Cloud API error table as remembered, not read
 * again while writing this; an unknown code falls back on the HTTP status, which is always right
 * about transient versus not.
 */
import type { FailureReason } from '../../domain/status.js';
import { classifyHttpStatus } from '../carrier-http.js';
import type { CallEvent } from '../provider.js';

/** The `error` object of a Graph API error body. */
export interface GraphErrorBody {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  error_data?: { details?: string; messaging_product?: string };
  fbtrace_id?: string;
}

export interface GraphFailure {
  reason: FailureReason;
  /** No call of the batch can succeed (credentials, template, calling not enabled): fail the batch. */
  failsBatch: boolean;
  /** For the person reading the batch: what was wrong and what to do. */
  message: string;
}

/** Which request failed, for the message. */
export interface GraphAction {
  /** E.g. "sending the call permission request". */
  doing: string;
  /** Graph's id of the business phone number. */
  phoneNumberId: string;
  template?: { name: string; languageCode: string };
}

/** Invalid OAuth access token (expired, revoked, malformed). */
const invalidToken = 190;
/** Permission errors: the token is valid but may not act on this number. */
const permissionDenied = new Set([3, 10]);
const permissionRange = { from: 200, to: 299 };
/** Throttling and Meta-side trouble: the same request later may succeed. */
const transientCodes = new Set([
  1, // unknown error
  2, // service temporarily unavailable
  4, // application request limit
  613, // call permission lookups: more than 5 a second
  80007, // WhatsApp Business Account rate limit
  130429, // Cloud API throughput reached
  131000, // something went wrong
  131016, // service unavailable
  131048, // spam rate limit (unconfirmed)
  131056, // business/user pair rate limit
  138002, // concurrent calls limit (unconfirmed)
  138003, // a call to this user is already ongoing (unconfirmed)
  138005, // business-initiated call rate limit (unconfirmed)
]);
/** The user cannot be reached on WhatsApp at all. */
const invalidRecipientCodes = new Set([
  131026, // message undeliverable: not a WhatsApp user, or an app too old for call permission requests
  131030, // recipient not in the allowed list (test numbers)
  138001, // receiver uncallable (unconfirmed)
]);
/** The business number itself cannot do this: every recipient would fail the same way. */
const batchFatalCodes = new Map<number, string>([
  [131031, 'the WhatsApp Business Account is locked'],
  [131042, 'the WhatsApp Business Account has a payment problem'],
  [133010, 'the phone number is not registered with the Cloud API'],
  [138000, 'calling is not enabled on this business phone number (WhatsApp Manager → Phone numbers → Call settings)'],
]);
/** No approved call permission from the user (the user revoked it between our check and the call). */
const noCallPermission = 138006;

export function classifyGraphError(httpStatus: number, error: GraphErrorBody | null, action: GraphAction): GraphFailure {
  const code = error?.code;
  const said = describeGraphError(httpStatus, error);
  const number = `WhatsApp phone number id '${action.phoneNumberId}'`;
  if (code === invalidToken || classifyHttpStatus(httpStatus) === 'credentials') {
    return {
      reason: 'provider_error',
      failsBatch: true,
      message: `The Graph API rejected the access token of ${number} while ${action.doing} (${said}). Generate a new token with the whatsapp_business_messaging permission and update the phone number's access_token.`,
    };
  }
  if (code !== undefined && (permissionDenied.has(code) || (code >= permissionRange.from && code <= permissionRange.to))) {
    return {
      reason: 'provider_error',
      failsBatch: true,
      message: `The access token of ${number} may not act on it while ${action.doing} (${said}). Give the token's system user the whatsapp_business_messaging permission on this WhatsApp Business Account.`,
    };
  }
  if (code === 100 && error?.error_subcode === 33) {
    return {
      reason: 'provider_error',
      failsBatch: true,
      message: `The Graph API does not know ${number}, or its token cannot see it (${said}). Check the phone number's whatsapp_phone_number_id.`,
    };
  }
  if (code !== undefined && code >= 132000 && code < 133000) {
    const template = action.template ? `'${action.template.name}' (${action.template.languageCode})` : 'the call permission request template';
    return {
      reason: 'provider_error',
      failsBatch: true,
      message: `The call permission request template ${template} was refused by the Graph API (${said}). Check the template's name, language and approval status in WhatsApp Manager.`,
    };
  }
  const fatal = code === undefined ? undefined : batchFatalCodes.get(code);
  if (fatal) return { reason: 'provider_error', failsBatch: true, message: `${number}: ${fatal} (${said}).` };
  if (classifyHttpStatus(httpStatus) === 'transient' || (code !== undefined && transientCodes.has(code))) {
    return { reason: 'provider_error', failsBatch: false, message: `The Graph API failed while ${action.doing} (${said}); a retry may succeed.` };
  }
  if (code !== undefined && invalidRecipientCodes.has(code)) {
    return { reason: 'invalid_number', failsBatch: false, message: `The recipient cannot be reached on WhatsApp (${said}).` };
  }
  if (code === noCallPermission) {
    return { reason: 'permission_declined', failsBatch: false, message: `The recipient has not granted call permission (${said}).` };
  }
  return { reason: 'provider_error', failsBatch: false, message: `The Graph API refused ${action.doing} (${said}).` };
}

export function describeGraphError(httpStatus: number, error: GraphErrorBody | null): string {
  if (!error) return `HTTP ${httpStatus}`;
  const parts = [`HTTP ${httpStatus}`];
  if (error.code !== undefined) parts.push(`code ${error.code}${error.error_subcode !== undefined ? `/${error.error_subcode}` : ''}`);
  if (error.message) parts.push(error.message);
  if (error.error_data?.details) parts.push(error.error_data.details);
  if (error.fbtrace_id) parts.push(`fbtrace_id ${error.fbtrace_id}`);
  return parts.join(', ');
}

/** A `statuses[]` entry of a `calls` webhook. */
export type CallStatusSignal = { kind: 'status'; status: string };
/** A `calls[]` entry with `event: terminate`. */
export type CallTerminateSignal = { kind: 'terminate'; status: string | null; durationSecs: number | null; errorCode: number | null };

export interface MappedCallSignal {
  /** Null when the signal moves nothing (e.g. RINGING of a call already reported initiated is still `initiated`). */
  event: CallEvent | null;
  /** False for a value Meta does not document; the caller logs it. */
  known: boolean;
}

/**
 * What one call webhook means. `answered` is whether the call was seen ACCEPTED before: Meta's
 * ACCEPTED status "typically arrives after the call has been established" and may come after the
 * terminate, so a terminate with a duration counts as answered too.
 */
export function mapCallSignal(signal: CallStatusSignal | CallTerminateSignal, answered: boolean): MappedCallSignal {
  if (signal.kind === 'status') {
    switch (signal.status.toUpperCase()) {
      case 'RINGING':
        return { event: { kind: 'initiated' }, known: true };
      case 'ACCEPTED':
        return { event: { kind: 'answered' }, known: true };
      case 'REJECTED':
        return { event: { kind: 'ended', outcome: 'failed', reason: 'rejected' }, known: true };
      default:
        return { event: { kind: 'ended', outcome: 'failed', reason: 'provider_error' }, known: false };
    }
  }
  if (answered || (signal.durationSecs ?? 0) > 0) return { event: { kind: 'ended', outcome: 'completed' }, known: true };
  if (signal.errorCode !== null) {
    const failure = classifyGraphError(400, { code: signal.errorCode }, { doing: 'the call', phoneNumberId: '' });
    return { event: { kind: 'ended', outcome: 'failed', reason: failure.reason }, known: true };
  }
  switch ((signal.status ?? '').toUpperCase()) {
    // Ended before anyone answered and without an error: WhatsApp rang out, or the user let it ring.
    case 'FAILED':
    case 'COMPLETED':
      return { event: { kind: 'ended', outcome: 'failed', reason: 'no_answer' }, known: true };
    default:
      return { event: { kind: 'ended', outcome: 'failed', reason: 'provider_error' }, known: false };
  }
}

/** The user's answer to a call permission request (`interactive.call_permission_reply.response`). */
export function mapPermissionResponse(response: string): { granted: boolean } | { failed: FailureReason; known: false } {
  switch (response.toLowerCase()) {
    case 'accept':
      return { granted: true };
    case 'reject':
      return { granted: false };
    default:
      return { failed: 'provider_error', known: false };
  }
}

/** What a failed message status (`statuses[].errors[0].code`) of the permission request means. */
export function mapMessageFailure(errorCode: number | null, title: string | null, phoneNumberId: string): { reason: FailureReason; message: string } {
  if (errorCode === null) return { reason: 'provider_error', message: `The call permission request was not delivered${title ? ` (${title})` : ''}.` };
  const failure = classifyGraphError(400, { code: errorCode, ...(title ? { message: title } : {}) }, { doing: 'delivering the call permission request', phoneNumberId });
  return { reason: failure.reason, message: failure.message };
}

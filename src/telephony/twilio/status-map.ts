/**
 * The one place Twilio's wire statuses become redial's: a status callback's `CallStatus` (with
 * `AnsweredBy`, `ErrorCode` and `SipResponseCode` where Twilio gives them), or a fetched call's
 * `status`.
 */
import type { FailureReason } from '../../domain/status.js';
import type { CallEvent } from '../provider.js';

export interface TwilioCallFacts {
  status: string;
  /** `human`, `machine_start`, `machine_end_beep`, `fax`, `unknown`… from answering-machine detection. */
  answeredBy?: string | null;
  errorCode?: string | number | null;
  sipResponseCode?: string | number | null;
}

/** Twilio error codes that mean the destination itself is wrong, so dialing again cannot help. */
const invalidDestinationCodes = new Set([13223, 13224, 13225, 13226, 21211, 21214, 21215, 21216, 21217, 21401, 21407, 21421, 21612]);

export function isMachine(answeredBy: string | null | undefined): boolean {
  return typeof answeredBy === 'string' && (answeredBy.startsWith('machine') || answeredBy === 'fax');
}

/** Null for a status we know but that changes nothing; `unknown` is set for a status we do not know. */
export function twilioCallEvent(facts: TwilioCallFacts): { event: CallEvent | null; unknown: boolean } {
  switch (facts.status) {
    case 'queued':
    case 'initiated':
    case 'ringing':
      return { event: { kind: 'initiated' }, unknown: false };
    case 'in-progress':
    case 'answered':
      return { event: { kind: 'answered' }, unknown: false };
    case 'completed':
      return { event: isMachine(facts.answeredBy) ? { kind: 'ended', outcome: 'voicemail' } : { kind: 'ended', outcome: 'completed' }, unknown: false };
    case 'busy':
      return { event: failed('busy'), unknown: false };
    case 'no-answer':
      return { event: failed('no_answer'), unknown: false };
    case 'canceled':
      return { event: failed('cancelled'), unknown: false };
    case 'failed':
      return { event: failed(failureReasonOf(facts)), unknown: false };
    default:
      return { event: failed('provider_error'), unknown: true };
  }
}

function failureReasonOf(facts: TwilioCallFacts): FailureReason {
  const code = Number(facts.errorCode);
  if (invalidDestinationCodes.has(code)) return 'invalid_number';
  const sip = Number(facts.sipResponseCode);
  if (sip === 404 || sip === 484 || sip === 604) return 'invalid_number';
  if (sip === 486 || sip === 600) return 'busy';
  if (sip === 408 || sip === 480) return 'no_answer';
  if (sip === 603) return 'rejected';
  return 'provider_error';
}

function failed(reason: FailureReason): CallEvent {
  return { kind: 'ended', outcome: 'failed', reason };
}

/** Whether a REST error from creating a call means the destination is wrong (Twilio's 4xx codes). */
export function isInvalidDestinationError(code: number | undefined): boolean {
  return code !== undefined && invalidDestinationCodes.has(code);
}

/**
 * The one place SIP final responses become redial's failure reasons (as mailroom's
 * `StatusForRequest` does for each carrier). Unknown codes fall back by class, never through.
 */
import type { FailureReason } from '../../domain/status.js';

export interface SipFailure {
  reason: FailureReason;
  /** For logs and error messages: what the code means for this call. */
  description: string;
  /** The trunk will refuse every call of the batch the same way. */
  failsBatch?: boolean;
}

const byStatus: Partial<Record<number, SipFailure>> = {
  // 403 from a trunk means it will not carry our calls (IP not allowed, account or number
  // barred); 401/407 after our answer to its challenge mean the credentials are wrong.
  403: { reason: 'trunk_rejected', failsBatch: true, description: 'the trunk rejected the call (403 Forbidden): check its allowed addresses and the account' },
  401: { reason: 'trunk_rejected', failsBatch: true, description: 'the trunk refused our credentials (401): check the trunk username and password' },
  407: { reason: 'trunk_rejected', failsBatch: true, description: 'the trunk refused our credentials (407): check the trunk username and password' },
  404: { reason: 'invalid_number', description: 'the number does not exist (404 Not Found)' },
  408: { reason: 'no_answer', description: 'nobody answered (408 Request Timeout)' },
  410: { reason: 'invalid_number', description: 'the number is no longer in service (410 Gone)' },
  480: { reason: 'no_answer', description: 'the callee is unavailable (480 Temporarily Unavailable)' },
  484: { reason: 'invalid_number', description: 'the number is incomplete (484 Address Incomplete)' },
  485: { reason: 'invalid_number', description: 'the number is ambiguous (485 Ambiguous)' },
  486: { reason: 'busy', description: 'the line is busy (486 Busy Here)' },
  487: { reason: 'no_answer', description: 'the call was not answered before it was cancelled (487 Request Terminated)' },
  503: { reason: 'provider_error', description: 'the trunk is unavailable (503 Service Unavailable)' },
  600: { reason: 'busy', description: 'the callee is busy everywhere (600 Busy Everywhere)' },
  603: { reason: 'rejected', description: 'the callee declined the call (603 Decline)' },
  604: { reason: 'invalid_number', description: 'the number does not exist anywhere (604 Does Not Exist Anywhere)' },
  606: { reason: 'provider_error', description: 'no common media with the callee (606 Not Acceptable): check the trunk codecs' },
};

export function failureForStatus(status: number, reasonPhrase = ''): SipFailure {
  const known = byStatus[status];
  if (known) return known;
  const phrase = `${status}${reasonPhrase ? ` ${reasonPhrase}` : ''}`;
  if (status >= 300 && status < 400) return { reason: 'provider_error', description: `the trunk redirected the call (${phrase}); redial does not follow redirects` };
  if (status >= 600) return { reason: 'rejected', description: `the callee's side refused the call (${phrase})` };
  return { reason: 'provider_error', description: `the trunk could not place the call (${phrase})` };
}

/** Seconds from a Retry-After header (`120`, `120 (comment);duration=3600`), or null. */
export function retryAfterSeconds(value: string | undefined): number | null {
  const match = /^\s*(\d+)/.exec(value ?? '');
  return match ? Number(match[1]) : null;
}

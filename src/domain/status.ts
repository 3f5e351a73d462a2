/**
 * The two state machines. Every status change in redial is one of the transitions below; the
 * store applies them as compare-and-set updates and writes an event row for each in the same
 * transaction. Set-based operations (cancel, retry) take their "from" lists from these tables too,
 * so SQL and the pure functions can never disagree.
 */

export const recipientStatuses = [
  /** Waiting to be leased. In: submit, retry. Out: dispatch (dispatcher), cancel. */
  'pending',
  /** Leased and an attempt recorded; the provider has been or is being asked to dial. */
  'dispatched',
  /** The provider accepted the call and it is ringing. */
  'initiated',
  /** Answered and handed to the agent. */
  'in_progress',
  /** Terminal: the call was answered and ended normally. */
  'completed',
  /** Terminal (until a retry): ended without a conversation; `reason` says why. */
  'failed',
  /** Terminal: cancel reached it before it finished. */
  'cancelled',
  /** Terminal (until a retry): an answering machine picked up. */
  'voicemail',
] as const;
export type RecipientStatus = (typeof recipientStatuses)[number];

export const recipientTransitions = {
  dispatch: { from: ['pending'], to: 'dispatched' },
  initiate: { from: ['dispatched'], to: 'initiated' },
  answer: { from: ['dispatched', 'initiated'], to: 'in_progress' },
  complete: { from: ['in_progress'], to: 'completed' },
  fail: { from: ['dispatched', 'initiated', 'in_progress'], to: 'failed' },
  voicemail: { from: ['dispatched', 'initiated', 'in_progress'], to: 'voicemail' },
  cancel: { from: ['pending', 'dispatched', 'initiated', 'in_progress'], to: 'cancelled' },
  retry: { from: ['failed', 'voicemail'], to: 'pending' },
} as const satisfies Record<string, { from: readonly RecipientStatus[]; to: RecipientStatus }>;
export type RecipientTransition = keyof typeof recipientTransitions;

/** Statuses in which a call is live and the recipient is leased by a process. */
export const inFlightStatuses = ['dispatched', 'initiated', 'in_progress'] as const satisfies readonly RecipientStatus[];
export const terminalRecipientStatuses = ['completed', 'failed', 'cancelled', 'voicemail'] as const satisfies readonly RecipientStatus[];

export const batchStatuses = [
  /** Submitted; waiting for its start time or its first dispatch. */
  'pending',
  /** At least one recipient has been dispatched and some are still open. */
  'in_progress',
  /** Every recipient is terminal. Retry can take it back to in_progress. */
  'completed',
  /** The batch cannot run at all (e.g. its phone number's credentials were rejected). */
  'failed',
  /** Cancelled by the user; never dialed again. */
  'cancelled',
] as const;
export type BatchStatus = (typeof batchStatuses)[number];

export const batchTransitions = {
  start: { from: ['pending'], to: 'in_progress' },
  complete: { from: ['pending', 'in_progress'], to: 'completed' },
  fail: { from: ['pending', 'in_progress'], to: 'failed' },
  cancel: { from: ['pending', 'in_progress'], to: 'cancelled' },
  retry: { from: ['completed', 'failed', 'in_progress'], to: 'in_progress' },
  retryScheduled: { from: ['completed', 'failed', 'in_progress'], to: 'pending' },
} as const satisfies Record<string, { from: readonly BatchStatus[]; to: BatchStatus }>;
export type BatchTransition = keyof typeof batchTransitions;

/**
 * Why a recipient failed. Kept apart from the status (mailroom's call model): the status says
 * where the recipient is, the reason says why it got there.
 */
export const failureReasons = {
  busy: 'transient',
  cancelled: 'permanent',
  dispatch_uncertain: 'transient',
  invalid_number: 'permanent',
  no_answer: 'transient',
  /** WhatsApp: the user declined the call-permission request; asking again would pester them. */
  permission_declined: 'permanent',
  /** WhatsApp: no answer to the call-permission request in time. */
  permission_timeout: 'transient',
  provider_error: 'transient',
  rejected: 'transient',
  /**
   * A SIP trunk refused our calls (403, or our credentials): the batch fails with it, and once the
   * trunk is fixed a retry dials these recipients again.
   */
  trunk_rejected: 'transient',
} as const;
export type FailureReason = keyof typeof failureReasons;

export const retryableFailureReasons = (Object.keys(failureReasons) as FailureReason[]).filter(
  (reason) => failureReasons[reason] === 'transient',
);

export class InvalidTransitionError extends Error {
  constructor(
    readonly machine: 'recipient' | 'batch',
    readonly from: string,
    readonly transition: string,
  ) {
    super(`${machine} in status '${from}' cannot take transition '${transition}'`);
    this.name = 'InvalidTransitionError';
  }
}

export function nextRecipientStatus(from: RecipientStatus, transition: RecipientTransition): RecipientStatus {
  const rule = recipientTransitions[transition];
  if (!(rule.from as readonly RecipientStatus[]).includes(from)) {
    throw new InvalidTransitionError('recipient', from, transition);
  }
  return rule.to;
}

export function nextBatchStatus(from: BatchStatus, transition: BatchTransition): BatchStatus {
  const rule = batchTransitions[transition];
  if (!(rule.from as readonly BatchStatus[]).includes(from)) {
    throw new InvalidTransitionError('batch', from, transition);
  }
  return rule.to;
}

export function canTransitionRecipient(from: RecipientStatus, transition: RecipientTransition): boolean {
  return (recipientTransitions[transition].from as readonly RecipientStatus[]).includes(from);
}


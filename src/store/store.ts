/**
 * The one seam between redial and its database. Two implementations (SQLite, PostgreSQL) sit
 * behind it and one conformance suite (`test/store/conformance/`) runs against each. Only
 * `src/store/<dialect>/` holds SQL or imports a database driver.
 *
 * Rules every implementation keeps:
 * - Each method is one transaction; every status change in it writes its event rows in it too.
 * - Status changes are compare-and-set: a row whose status (or lease owner) moved on is left
 *   alone, and the caller is told, never silently overwritten.
 * - Set-based operations (submit, cancel, retry) are single statements over the recipient rows,
 *   never one statement per recipient.
 */
import type { FailureReason, RecipientStatus, RecipientTransition } from '../domain/status.js';
import type {
  Agent,
  Attempt,
  AttemptRef,
  Batch,
  BatchEvent,
  CarrierExchange,
  JsonObject,
  NewBatch,
  NewRecipient,
  PhoneNumber,
  Recipient,
} from '../domain/types.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface BatchListQuery {
  workspaceId: string;
  limit: number;
  /** Return batches older than this batch id (the previous page's last id). */
  before: string | null;
  agentId: string | null;
}

export type SubmitOutcome =
  | { kind: 'created'; batch: Batch }
  /** The idempotency key was seen before: the earlier batch and the hash of its request. */
  | { kind: 'replayed'; batch: Batch; requestHash: string | null };

export type BatchOperationOutcome<T> =
  | { kind: 'not_found' }
  | { kind: 'refused'; batch: Batch }
  | ({ kind: 'done'; batch: Batch } & T);

/** A live attempt that someone other than its owner wants ended (cancel, delete). */
export interface AttemptToHangUp extends AttemptRef {
  provider: string;
  providerCallId: string | null;
  leaseOwner: string | null;
  /** When the owner's lease runs out; a lease in the past means its process is gone. */
  leaseExpiresAt: number | null;
}

/** A recipient leased for dialing, with what the dialer needs to place its call. */
export interface LeasedCall extends AttemptRef {
  batchId: string;
  recipientId: string;
  phoneNumber: string | null;
  whatsappUserId: string | null;
  clientData: JsonObject | null;
  status: RecipientStatus;
  /** Set only for attempts reclaimed from another process that the provider had acknowledged. */
  providerCallId: string | null;
  /** Set only for reclaimed attempts whose provider kept state with them. */
  providerState: JsonObject | null;
  dialedAt: number;
}

/**
 * What happened to one attempt since the last write, already run through the state machine by
 * the engine and coalesced: the recipient moves from `fromStatus` (what the engine believes is
 * stored) to `toStatus` by `transitions`, in order. The store writes it as one compare-and-set
 * and one event row (the statuses passed through are kept in the event's `via`).
 */
export interface CallChange extends AttemptRef {
  fromStatus: RecipientStatus;
  toStatus: RecipientStatus;
  transitions: RecipientTransition[];
  /** When the last transition happened. */
  changedAt: number;
  providerCallId?: string;
  answeredAt?: number;
  endedAt?: number;
  reason?: FailureReason | null;
  conversationId?: string;
  /** Replaces the attempt's provider state. */
  providerState?: JsonObject;
}

export interface CallChangeResult {
  /** Changes that were written. */
  applied: CallChange[];
  /** Changes whose row had moved on (cancelled, reclaimed): nothing was written for them. */
  lost: CallChange[];
  /** Keys of the batches that became `completed` because of these changes. */
  completedBatchKeys: number[];
}

export interface Store {
  readonly dialect: 'postgres' | 'sqlite';
  close(): Promise<void>;

  agentDelete(workspaceId: string, agentId: string): Promise<'deleted' | 'in_use' | 'not_found'>;
  agentGet(workspaceId: string, agentId: string): Promise<Agent | null>;
  agentInsert(agent: Agent): Promise<void>;
  agentList(query: { workspaceId: string; limit: number; cursor: string | null; search: string | null }): Promise<Page<Agent>>;
  agentUpdate(agent: Agent): Promise<void>;

  phoneNumberDelete(workspaceId: string, phoneNumberId: string): Promise<'deleted' | 'in_use' | 'not_found'>;
  phoneNumberGet(workspaceId: string, phoneNumberId: string): Promise<PhoneNumber | null>;
  phoneNumberInsert(phoneNumber: PhoneNumber): Promise<void>;
  phoneNumberList(query: { workspaceId: string; agentId: string | null; provider: string | null }): Promise<PhoneNumber[]>;
  phoneNumberUpdate(phoneNumber: PhoneNumber): Promise<void>;

  /** Cancels the batch: open recipients become `cancelled`; returns live attempts to hang up. */
  batchCancel(workspaceId: string, batchId: string, now: number): Promise<BatchOperationOutcome<{ hangUp: AttemptToHangUp[] }>>;
  /** Removes the batch with its recipients, attempts and events. */
  batchDelete(workspaceId: string, batchId: string): Promise<{ deleted: boolean; hangUp: AttemptToHangUp[] }>;
  batchEvents(batchKey: number, afterId: number, limit: number): Promise<BatchEvent[]>;
  batchGet(workspaceId: string, batchId: string): Promise<Batch | null>;
  /** The batch an earlier submit with this Idempotency-Key created, with the hash of its request. */
  batchGetByIdempotencyKey(workspaceId: string, idempotencyKey: string): Promise<{ batch: Batch; requestHash: string | null } | null>;
  batchList(query: BatchListQuery): Promise<Page<Batch>>;
  /** Re-queues every voicemail and transient failure in one statement. */
  batchRetry(workspaceId: string, batchId: string, now: number): Promise<BatchOperationOutcome<{ requeued: number }>>;
  /** Writes the batch and all its recipients in one transaction (or returns the earlier batch for a reused idempotency key). */
  batchSubmit(batch: NewBatch, recipients: NewRecipient[]): Promise<SubmitOutcome>;

  /** Recipients in submission order, a page at a time, so large batches stream in bounded memory. */
  recipientPages(batchKey: number, pageSize: number, limit?: number): AsyncIterable<Recipient[]>;

  /** Writes what providers reported, compare-and-set on each recipient's status and lease. */
  callChangesApply(owner: string, changes: CallChange[], now: number): Promise<CallChangeResult>;
  /** Gives back every lease this owner holds by expiring them now, so another process reclaims them at once. */
  leaseExpireAll(owner: string, now: number): Promise<number>;
  /** Takes over leases whose owner stopped renewing them. */
  leaseReclaimExpired(owner: string, now: number, leaseUntil: number, limit: number): Promise<LeasedCall[]>;
  /** Extends this owner's leases on these attempts; returns those it still holds, as `batchKey:seq`. */
  leaseRenew(owner: string, now: number, leaseUntil: number, attempts: AttemptRef[]): Promise<Set<string>>;
  /**
   * Leases due recipients of running batches, at most `limit` in all and never more per batch
   * than its concurrency limit leaves free, records an attempt for each and starts batches
   * whose first recipient this is.
   */
  recipientLeaseDue(owner: string, now: number, leaseUntil: number, limit: number, providerOverride?: string): Promise<LeasedCall[]>;
  /** Attempt details the reconciler and tests need. */
  attemptList(batchKey: number): Promise<Attempt[]>;
  /** One attempt with its recipient; null when either is gone. */
  attemptGet(batchKey: number, seq: number, attemptNumber: number): Promise<{ attempt: Attempt; recipient: Recipient } | null>;

  // carriers
  /**
   * `callChangesApply` for a process that does not hold the lease: a carrier callback that
   * reached another process (an API-only one, say). Compare-and-set on status and attempt
   * number only; the lease and its owner are left as they are.
   */
  callChangesApplyUnowned(changes: CallChange[], now: number): Promise<CallChangeResult>;
  /** Keeps carrier HTTP exchanges beside their attempts (deleted with the batch). */
  exchangesAppend(exchanges: CarrierExchange[]): Promise<void>;
  /** One recipient's exchanges over all its attempts, oldest first. */
  exchangeList(batchKey: number, seq: number): Promise<CarrierExchange[]>;
  /**
   * Reserves `count` dial slots `intervalMs` apart on a pacing key (a phone number's calls per
   * second), atomically for every process sharing the database. Returns the time of the first
   * slot: not before `now`, and not before the end of the slots reserved earlier.
   */
  dialSlotsReserve(key: string, intervalMs: number, count: number, now: number): Promise<number>;
  /** A phone number in any workspace (carrier callbacks carry no workspace). */
  phoneNumberGetById(phoneNumberId: string): Promise<PhoneNumber | null>;
  /** A batch in any workspace, by its public id (carrier callbacks carry no workspace). */
  batchGetById(batchId: string): Promise<Batch | null>;
  /** Marks a batch that cannot run at all as failed, with a reason the user can act on. */
  batchFail(batchKey: number, reason: string, now: number): Promise<boolean>;
  batchGetByKey(batchKey: number): Promise<Batch | null>;
}

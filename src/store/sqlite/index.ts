import Database from 'better-sqlite3';
import { nextBatchStatus, recipientTransitions, type BatchStatus } from '../../domain/status.js';
import type { Agent, Attempt, AttemptRef, Batch, BatchEvent, CarrierExchange, NewBatch, NewRecipient, PhoneNumber, Recipient } from '../../domain/types.js';
import type {
  AttemptToHangUp,
  BatchListQuery,
  BatchOperationOutcome,
  CallChange,
  CallChangeResult,
  LeasedCall,
  Page,
  Store,
  SubmitOutcome,
} from '../store.js';
import { pageOf } from '../page.js';
import { migrations } from './migrations/index.js';
import {
  decodeAgent,
  decodeAttempt,
  decodeBatch,
  decodeCarrierExchange,
  decodeEvent,
  decodeLeasedAttempt,
  decodePhoneNumber,
  decodeRecipient,
  jsonOrNull,
  textOrNull,
  type AgentRow,
  type AttemptRow,
  type BatchRow,
  type CarrierExchangeRow,
  type EventRow,
  type PhoneNumberRow,
  type RecipientDetailRow,
  type RecipientRow,
} from '../rows.js';
import * as agentSql from './sql/agents.js';
import * as attemptSql from './sql/attempts.js';
import * as batchSql from './sql/batches.js';
import * as carrierExchangeSql from './sql/carrier-exchanges.js';
import * as dialPacingSql from './sql/dial-pacing.js';
import * as eventSql from './sql/events.js';
import * as phoneNumberSql from './sql/phone-numbers.js';
import * as recipientSql from './sql/recipients.js';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:'. */
  filename: string;
  /**
   * FULL (the default) makes every commit durable against power loss, not only against a process
   * crash. Group commit keeps the cost of the extra fsync small.
   */
  synchronous?: 'FULL' | 'NORMAL';
}

type LeasedRow = Pick<RecipientRow, 'batch_key' | 'seq' | 'status' | 'attempt_count'>;

export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const db = new Database(options.filename);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  // Several redial processes may share one file: wait for the writer instead of failing at once.
  db.pragma('busy_timeout = 10000');
  migrate(db);
  return new SqliteStore(db);
}

function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  db.transaction(() => {
    const applied = db.prepare(`SELECT max(version) AS version FROM schema_migrations`).get() as { version: number | null };
    const current = applied.version ?? 0;
    const latest = migrations[migrations.length - 1]?.version ?? 0;
    if (current > latest) {
      throw new Error(
        `The database is at schema version ${current}, but this redial knows only up to ${latest}. ` +
          `It was migrated by a newer redial: upgrade redial, or point it at another data directory.`,
      );
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      db.prepare(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`).run(migration.version, migration.name, Date.now());
    }
  }).immediate();
}

export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  #sql(text: string): Database.Statement {
    let statement = this.#statements.get(text);
    if (!statement) {
      statement = this.#db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  #write<T>(work: () => T): T {
    return this.#db.transaction(work).immediate();
  }

  // ---- agents

  async agentDelete(workspaceId: string, agentId: string): Promise<'deleted' | 'in_use' | 'not_found'> {
    return this.#write(() => {
      if (this.#sql(agentSql.agentUsedByOpenBatch).get({ agent_id: agentId })) return 'in_use';
      const { changes } = this.#sql(agentSql.agentDelete).run({ workspace_id: workspaceId, id: agentId });
      return changes > 0 ? 'deleted' : 'not_found';
    });
  }

  async agentGet(workspaceId: string, agentId: string): Promise<Agent | null> {
    const row = this.#sql(agentSql.agentGet).get({ workspace_id: workspaceId, id: agentId }) as AgentRow | undefined;
    return row ? decodeAgent(row) : null;
  }

  async agentInsert(agent: Agent): Promise<void> {
    this.#sql(agentSql.agentInsert).run(agentParams(agent));
  }

  async agentList(query: { workspaceId: string; limit: number; cursor: string | null; search: string | null }): Promise<Page<Agent>> {
    const rows = this.#sql(agentSql.agentList).all({
      workspace_id: query.workspaceId,
      cursor: query.cursor,
      search: query.search,
      limit: query.limit + 1,
    }) as AgentRow[];
    return pageOf(rows.map(decodeAgent), query.limit, (agent) => agent.id);
  }

  async agentUpdate(agent: Agent): Promise<void> {
    this.#sql(agentSql.agentUpdate).run(agentParams(agent));
  }

  // ---- phone numbers

  async phoneNumberDelete(workspaceId: string, phoneNumberId: string): Promise<'deleted' | 'in_use' | 'not_found'> {
    return this.#write(() => {
      if (this.#sql(phoneNumberSql.phoneNumberUsedByOpenBatch).get({ phone_number_id: phoneNumberId })) return 'in_use';
      const { changes } = this.#sql(phoneNumberSql.phoneNumberDelete).run({ workspace_id: workspaceId, id: phoneNumberId });
      return changes > 0 ? 'deleted' : 'not_found';
    });
  }

  async phoneNumberGet(workspaceId: string, phoneNumberId: string): Promise<PhoneNumber | null> {
    const row = this.#sql(phoneNumberSql.phoneNumberGet).get({ workspace_id: workspaceId, id: phoneNumberId }) as PhoneNumberRow | undefined;
    return row ? decodePhoneNumber(row) : null;
  }

  async phoneNumberGetById(phoneNumberId: string): Promise<PhoneNumber | null> {
    const row = this.#sql(phoneNumberSql.phoneNumberGetById).get({ id: phoneNumberId }) as PhoneNumberRow | undefined;
    return row ? decodePhoneNumber(row) : null;
  }

  async phoneNumberInsert(phoneNumber: PhoneNumber): Promise<void> {
    this.#sql(phoneNumberSql.phoneNumberInsert).run(phoneNumberParams(phoneNumber));
  }

  async phoneNumberList(query: { workspaceId: string; agentId: string | null; provider: string | null }): Promise<PhoneNumber[]> {
    const rows = this.#sql(phoneNumberSql.phoneNumberList).all({
      workspace_id: query.workspaceId,
      agent_id: query.agentId,
      provider: query.provider,
    }) as PhoneNumberRow[];
    return rows.map(decodePhoneNumber);
  }

  async phoneNumberUpdate(phoneNumber: PhoneNumber): Promise<void> {
    this.#sql(phoneNumberSql.phoneNumberUpdate).run(phoneNumberParams(phoneNumber));
  }

  // ---- batches

  async batchCancel(workspaceId: string, batchId: string, now: number): Promise<BatchOperationOutcome<{ hangUp: AttemptToHangUp[] }>> {
    return this.#write(() => {
      const batch = this.#batchRow(workspaceId, batchId);
      if (!batch) return { kind: 'not_found' };
      let status: BatchStatus;
      try {
        status = nextBatchStatus(batch.status as BatchStatus, 'cancel');
      } catch {
        return { kind: 'refused', batch: decodeBatch(batch) };
      }
      const batchKey = batch.key;
      const live = this.#liveAttempts(batchKey);
      const pending = this.#sql(recipientSql.recipientCancelPending).run({ batch_key: batchKey, now }).changes;
      const inFlight = this.#sql(recipientSql.recipientCancelInFlight).all({ batch_key: batchKey, now }) as { seq: number; attempt_count: number }[];
      const ended = inFlight.length
        ? this.#sql(attemptSql.attemptEndCancelled).run({
            rows: JSON.stringify(inFlight.map((r) => [batchKey, r.seq, r.attempt_count])),
            now,
          }).changes
        : 0;
      this.#sql(batchSql.batchCountersAdd).run({ rows: JSON.stringify([[batchKey, 0, ended]]), now });
      this.#sql(batchSql.batchSetStatus).run({ key: batchKey, status, now, retry_increment: 0 });
      this.#event({ batchKey, type: 'recipients:cancel', from: 'pending', to: 'cancelled', count: pending, at: now });
      if (inFlight.length) {
        this.#event({ batchKey, type: 'recipients:cancel', from: null, to: 'cancelled', count: inFlight.length, at: now });
      }
      this.#event({ batchKey, type: 'batch:cancel', from: batch.status, to: status, count: 1, at: now });
      return { kind: 'done', batch: this.#batchByKey(batchKey), hangUp: live };
    });
  }

  async batchDelete(workspaceId: string, batchId: string): Promise<{ deleted: boolean; hangUp: AttemptToHangUp[] }> {
    return this.#write(() => {
      const batch = this.#batchRow(workspaceId, batchId);
      if (!batch) return { deleted: false, hangUp: [] };
      const params = { batch_key: batch.key };
      const live = this.#liveAttempts(batch.key);
      this.#sql(eventSql.eventDeleteByBatch).run(params);
      this.#sql(carrierExchangeSql.carrierExchangeDeleteByBatch).run(params);
      this.#sql(attemptSql.attemptDeleteByBatch).run(params);
      this.#sql(recipientSql.recipientDeleteByBatch).run(params);
      this.#sql(recipientSql.recipientDetailDeleteByBatch).run(params);
      this.#sql(batchSql.batchDelete).run({ key: batch.key });
      return { deleted: true, hangUp: live };
    });
  }

  async batchEvents(batchKey: number, afterId: number, limit: number): Promise<BatchEvent[]> {
    const rows = this.#sql(eventSql.eventList).all({ batch_key: batchKey, after_id: afterId, limit }) as EventRow[];
    return rows.map(decodeEvent);
  }

  async batchFail(batchKey: number, reason: string, now: number): Promise<boolean> {
    return this.#write(() => {
      const before = this.#sql(batchSql.batchGetByKey).get({ key: batchKey }) as BatchRow | undefined;
      const { changes } = this.#sql(batchSql.batchFail).run({ key: batchKey, status_reason: reason, now });
      if (changes > 0 && before) this.#event({ batchKey, type: 'batch:fail', from: before.status, to: 'failed', reason, count: 1, at: now });
      return changes > 0;
    });
  }

  async batchGet(workspaceId: string, batchId: string): Promise<Batch | null> {
    const row = this.#batchRow(workspaceId, batchId);
    return row ? decodeBatch(row) : null;
  }

  async batchGetById(batchId: string): Promise<Batch | null> {
    const row = this.#sql(batchSql.batchGetById).get({ id: batchId }) as BatchRow | undefined;
    return row ? decodeBatch(row) : null;
  }

  async batchGetByIdempotencyKey(workspaceId: string, idempotencyKey: string): Promise<{ batch: Batch; requestHash: string | null } | null> {
    const row = this.#sql(batchSql.batchGetByIdempotencyKey).get({ workspace_id: workspaceId, idempotency_key: idempotencyKey }) as BatchRow | undefined;
    return row ? { batch: decodeBatch(row), requestHash: row.request_hash } : null;
  }

  async batchGetByKey(batchKey: number): Promise<Batch | null> {
    const row = this.#sql(batchSql.batchGetByKey).get({ key: batchKey }) as BatchRow | undefined;
    return row ? decodeBatch(row) : null;
  }

  async batchList(query: BatchListQuery): Promise<Page<Batch>> {
    const rows = this.#sql(batchSql.batchList).all({
      workspace_id: query.workspaceId,
      before: query.before,
      agent_id: query.agentId,
      limit: query.limit + 1,
    }) as BatchRow[];
    return pageOf(rows.map(decodeBatch), query.limit, (batch) => batch.id);
  }

  async batchRetry(workspaceId: string, batchId: string, now: number): Promise<BatchOperationOutcome<{ requeued: number }>> {
    return this.#write(() => {
      const batch = this.#batchRow(workspaceId, batchId);
      if (!batch) return { kind: 'not_found' };
      if (batch.status === 'cancelled') return { kind: 'refused', batch: decodeBatch(batch) };
      let status: BatchStatus;
      try {
        status = nextBatchStatus(batch.status as BatchStatus, batch.scheduled_at > now ? 'retryScheduled' : 'retry');
      } catch {
        return { kind: 'done', batch: decodeBatch(batch), requeued: 0 };
      }
      const requeued = this.#sql(recipientSql.recipientRetry).run({ batch_key: batch.key, now }).changes;
      if (requeued === 0) return { kind: 'done', batch: decodeBatch(batch), requeued };
      this.#sql(batchSql.batchSetStatus).run({ key: batch.key, status, now, retry_increment: 1 });
      this.#event({ batchKey: batch.key, type: 'recipients:retry', from: null, to: 'pending', count: requeued, at: now });
      this.#event({ batchKey: batch.key, type: 'batch:retry', from: batch.status, to: status, count: 1, at: now });
      return { kind: 'done', batch: this.#batchByKey(batch.key), requeued };
    });
  }

  async batchSubmit(batch: NewBatch, recipients: NewRecipient[]): Promise<SubmitOutcome> {
    const rows = JSON.stringify(recipients.map((r) => [r.id, r.phoneNumber, r.whatsappUserId, r.clientData]));
    return this.#write(() => {
      if (batch.idempotencyKey !== null) {
        const earlier = this.#sql(batchSql.batchGetByIdempotencyKey).get({
          workspace_id: batch.workspaceId,
          idempotency_key: batch.idempotencyKey,
        }) as BatchRow | undefined;
        if (earlier) return { kind: 'replayed', batch: decodeBatch(earlier), requestHash: earlier.request_hash };
      }
      const { key } = this.#sql(batchSql.batchInsert).get({
        id: batch.id,
        workspace_id: batch.workspaceId,
        name: batch.name,
        agent_id: batch.agentId,
        agent_name: batch.agentName,
        phone_number_id: batch.phoneNumberId,
        phone_provider: batch.phoneProvider,
        whatsapp_params: textOrNull(batch.whatsappParams),
        branch_id: batch.branchId,
        environment: batch.environment,
        timezone: batch.timezone,
        scheduled_at: batch.scheduledAt,
        telephony_call_config: JSON.stringify(batch.telephonyCallConfig),
        target_concurrency_limit: batch.targetConcurrencyLimit,
        concurrency_limit: batch.concurrencyLimit,
        total_calls_scheduled: recipients.length,
        dynamic_variable_names: JSON.stringify(batch.dynamicVariableNames),
        idempotency_key: batch.idempotencyKey,
        request_hash: batch.requestHash,
        created_at: batch.createdAt,
      }) as { key: number };
      this.#sql(recipientSql.recipientDetailInsertMany).run({ batch_key: key, rows, now: batch.createdAt });
      this.#sql(recipientSql.recipientInsertMany).run({
        batch_key: key,
        count: recipients.length,
        next_attempt_at: batch.scheduledAt,
        now: batch.createdAt,
      });
      this.#event({ batchKey: key, type: 'batch:submit', from: null, to: 'pending', count: recipients.length, at: batch.createdAt });
      return { kind: 'created', batch: this.#batchByKey(key) };
    });
  }

  async *recipientPages(batchKey: number, pageSize: number, limit?: number): AsyncIterable<Recipient[]> {
    let afterSeq = 0;
    let remaining = limit ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      const rows = this.#sql(recipientSql.recipientPage).all({
        batch_key: batchKey,
        after_seq: afterSeq,
        limit: Math.min(pageSize, remaining),
      }) as RecipientRow[];
      if (rows.length === 0) return;
      remaining -= rows.length;
      afterSeq = rows[rows.length - 1]!.seq;
      yield rows.map(decodeRecipient);
    }
  }

  // ---- dispatch

  async recipientLeaseDue(owner: string, now: number, leaseUntil: number, limit: number, providerOverride?: string): Promise<LeasedCall[]> {
    return this.#write(() => {
      const leased: LeasedCall[] = [];
      const runnable = this.#sql(batchSql.batchListDispatchable).all({ now }) as {
        key: number;
        status: string;
        phone_provider: string | null;
        free: number;
      }[];
      for (const batch of runnable) {
        const want = Math.min(batch.free, limit - leased.length);
        if (want <= 0) continue;
        const rows = this.#sql(recipientSql.recipientLeaseDue).all({
          owner,
          lease_until: leaseUntil,
          now,
          batch_key: batch.key,
          limit: want,
        }) as LeasedRow[];
        if (rows.length === 0) continue;
        this.#sql(attemptSql.attemptInsertMany).run({
          batch_key: batch.key,
          rows: JSON.stringify(rows.map((row) => [row.seq, row.attempt_count])),
          provider: providerOverride ?? batch.phone_provider ?? 'whatsapp',
          now,
        });
        const insertEvent = this.#sql(eventSql.eventInsertRecipient);
        for (const row of rows) insertEvent.run(batch.key, row.seq, row.attempt_count, 'recipient:dispatch', 'pending', 'dispatched', null, null, now);
        this.#sql(batchSql.batchCountersAdd).run({ rows: JSON.stringify([[batch.key, rows.length, 0]]), now });
        if (batch.status === 'pending') {
          const status = nextBatchStatus('pending', 'start');
          this.#sql(batchSql.batchSetStatus).run({ key: batch.key, status, now, retry_increment: 0 });
          this.#event({ batchKey: batch.key, type: 'batch:start', from: 'pending', to: status, count: 1, at: now });
        }
        leased.push(...this.#withDetails(rows, () => decodeLeasedAttempt(undefined, now)));
        if (leased.length >= limit) break;
      }
      return leased;
    });
  }

  async callChangesApply(owner: string, changes: CallChange[], now: number): Promise<CallChangeResult> {
    return this.#applyChanges(owner, changes, now);
  }

  async callChangesApplyUnowned(changes: CallChange[], now: number): Promise<CallChangeResult> {
    return this.#applyChanges(null, changes, now);
  }

  async leaseExpireAll(owner: string, now: number): Promise<number> {
    return this.#write(() => this.#sql(recipientSql.recipientLeaseExpireAll).run({ owner, now }).changes);
  }

  async leaseReclaimExpired(owner: string, now: number, leaseUntil: number, limit: number): Promise<LeasedCall[]> {
    return this.#write(() => {
      const rows = this.#sql(recipientSql.recipientLeaseReclaim).all({ owner, now, lease_until: leaseUntil, limit }) as LeasedRow[];
      if (rows.length === 0) return [];
      const attempts = this.#sql(attemptSql.attemptListByKeys).all({
        rows: JSON.stringify(rows.map((row) => [row.batch_key, row.seq, row.attempt_count])),
      }) as AttemptRow[];
      const byKey = new Map(attempts.map((a) => [`${a.batch_key}:${a.seq}`, a]));
      this.#sql(eventSql.eventInsertMany).run({
        rows: JSON.stringify(rows.map((row) => [row.batch_key, row.seq, row.attempt_count, 'recipient:reclaim', row.status, row.status, null, null, now])),
      });
      return this.#withDetails(rows, (row) => decodeLeasedAttempt(byKey.get(`${row.batch_key}:${row.seq}`), now));
    });
  }

  async leaseRenew(owner: string, _now: number, leaseUntil: number, attempts: AttemptRef[]): Promise<Set<string>> {
    return this.#write(() => {
      const renew = this.#sql(recipientSql.recipientLeaseRenew);
      const held = new Set<string>();
      for (const { batchKey, seq } of attempts) {
        if (renew.run(leaseUntil, batchKey, seq, owner).changes > 0) held.add(`${batchKey}:${seq}`);
      }
      return held;
    });
  }

  async attemptList(batchKey: number): Promise<Attempt[]> {
    return (this.#sql(attemptSql.attemptListByBatch).all({ batch_key: batchKey }) as AttemptRow[]).map(decodeAttempt);
  }

  async attemptGet(batchKey: number, seq: number, attemptNumber: number): Promise<{ attempt: Attempt; recipient: Recipient } | null> {
    const attempt = this.#sql(attemptSql.attemptGet).get({ batch_key: batchKey, seq, number: attemptNumber }) as AttemptRow | undefined;
    if (!attempt) return null;
    const recipient = this.#sql(recipientSql.recipientGet).get({ batch_key: batchKey, seq }) as RecipientRow | undefined;
    return recipient ? { attempt: decodeAttempt(attempt), recipient: decodeRecipient(recipient) } : null;
  }

  // ---- carriers

  async dialSlotsReserve(key: string, intervalMs: number, count: number, now: number): Promise<number> {
    // Whole milliseconds (1000 / 3 calls per second is 333.3…), rounded up so calls never come faster than asked.
    const spanMs = Math.ceil(intervalMs * count);
    const row = this.#sql(dialPacingSql.dialPacingReserve).get({ pacing_key: key, span_ms: spanMs, now }) as { first_slot_at: number };
    return row.first_slot_at;
  }

  async exchangeList(batchKey: number, seq: number): Promise<CarrierExchange[]> {
    return (this.#sql(carrierExchangeSql.carrierExchangeList).all({ batch_key: batchKey, seq }) as CarrierExchangeRow[]).map(decodeCarrierExchange);
  }

  async exchangesAppend(exchanges: CarrierExchange[]): Promise<void> {
    if (exchanges.length === 0) return;
    const rows = exchanges.map((e) => [e.batchKey, e.seq, e.attemptNumber, e.provider, e.at, e.durationMs, JSON.stringify(e.request), textOrNull(e.response), e.error]);
    this.#sql(carrierExchangeSql.carrierExchangeInsertMany).run({ rows: JSON.stringify(rows) });
  }

  // ---- helpers

  /** `callChangesApply`; with a null owner, for whoever holds the lease (`callChangesApplyUnowned`). */
  #applyChanges(owner: string | null, changes: CallChange[], now: number): CallChangeResult {
    if (changes.length === 0) return { applied: [], lost: [], completedBatchKeys: [] };
    const compareAndSet = owner === null ? recipientSql.recipientApplyChangeUnowned : recipientSql.recipientApplyChange;
    return this.#write(() => {
      const casRecipient = this.#sql(compareAndSet);
      const updateAttempt = this.#sql(attemptSql.attemptApplyChange);
      const insertEvent = this.#sql(eventSql.eventInsertRecipient);
      const applied: CallChange[] = [];
      const lost: CallChange[] = [];
      const finishedByBatch = new Map<number, number>();
      for (const c of changes) {
        const ends = c.endedAt !== undefined;
        const reason = c.toStatus === 'failed' ? (c.reason ?? 'provider_error') : null;
        const cas = [c.toStatus, reason, ends ? 1 : 0, ends ? 1 : 0, now, c.batchKey, c.seq, c.fromStatus, c.attemptNumber];
        const won = (owner === null ? casRecipient.run(...cas) : casRecipient.run(...cas, owner)).changes;
        if (won === 0) {
          lost.push(c);
          continue;
        }
        applied.push(c);
        updateAttempt.run(
          c.providerCallId ?? null,
          c.answeredAt ?? null,
          c.endedAt ?? null,
          ends ? c.toStatus : null,
          c.reason ?? null,
          c.conversationId ?? null,
          textOrNull(c.providerState),
          c.batchKey,
          c.seq,
          c.attemptNumber,
        );
        const last = c.transitions[c.transitions.length - 1];
        if (last) {
          const via = c.transitions.slice(0, -1).map((transition) => recipientTransitions[transition].to);
          const type = `recipient:${last}`;
          insertEvent.run(c.batchKey, c.seq, c.attemptNumber, type, c.fromStatus, c.toStatus, reason, via.length ? via.join('>') : null, c.changedAt);
        }
        finishedByBatch.set(c.batchKey, (finishedByBatch.get(c.batchKey) ?? 0) + (ends ? 1 : 0));
      }
      if (applied.length === 0) return { applied, lost, completedBatchKeys: [] };
      this.#sql(batchSql.batchCountersAdd).run({ rows: JSON.stringify([...finishedByBatch].map(([key, n]) => [key, 0, n])), now });
      const ended = [...finishedByBatch].filter(([, n]) => n > 0).map(([key]) => key);
      const completedBatchKeys = ended.length ? this.#completeFinishedBatches(ended, now) : [];
      return { applied, lost, completedBatchKeys };
    });
  }

  #batchRow(workspaceId: string, batchId: string): BatchRow | undefined {
    return this.#sql(batchSql.batchGet).get({ workspace_id: workspaceId, id: batchId }) as BatchRow | undefined;
  }

  #batchByKey(batchKey: number): Batch {
    return decodeBatch(this.#sql(batchSql.batchGetByKey).get({ key: batchKey }) as BatchRow);
  }

  #liveAttempts(batchKey: number): AttemptToHangUp[] {
    const rows = this.#sql(attemptSql.attemptListLiveByBatch).all({ batch_key: batchKey }) as {
      seq: number;
      number: number;
      provider: string;
      provider_call_id: string | null;
      lease_owner: string | null;
      lease_expires_at: number | null;
    }[];
    return rows.map((row) => ({
      batchKey,
      seq: row.seq,
      attemptNumber: row.number,
      provider: row.provider,
      providerCallId: row.provider_call_id,
      leaseOwner: row.lease_owner,
      leaseExpiresAt: row.lease_expires_at,
    }));
  }

  #withDetails(rows: LeasedRow[], attemptOf: (row: LeasedRow) => Pick<LeasedCall, 'dialedAt' | 'providerCallId' | 'providerState'>): LeasedCall[] {
    const getDetail = this.#sql(recipientSql.recipientDetailGet);
    const batchIds = new Map<number, string>();
    return rows.map((row) => {
      const detail = getDetail.get(row.batch_key, row.seq) as RecipientDetailRow;
      let batchId = batchIds.get(row.batch_key);
      if (batchId === undefined) {
        batchId = this.#batchByKey(row.batch_key).id;
        batchIds.set(row.batch_key, batchId);
      }
      return {
        batchId,
        batchKey: row.batch_key,
        seq: row.seq,
        attemptNumber: row.attempt_count,
        recipientId: detail.external_id,
        phoneNumber: detail.phone_number,
        whatsappUserId: detail.whatsapp_user_id,
        clientData: jsonOrNull(detail.client_data),
        status: row.status as LeasedCall['status'],
        ...attemptOf(row),
      };
    });
  }

  #completeFinishedBatches(batchKeys: number[], now: number): number[] {
    const done = this.#sql(batchSql.batchCompleteFinished).all({ keys: JSON.stringify(batchKeys), now }) as { key: number }[];
    for (const { key } of done) this.#event({ batchKey: key, type: 'batch:complete', from: 'in_progress', to: 'completed', count: 1, at: now });
    return done.map((row) => row.key);
  }

  #event(e: { batchKey: number; type: string; from: string | null; to: string | null; reason?: string; count: number; at: number }): void {
    this.#sql(eventSql.eventInsert).run({
      batch_key: e.batchKey,
      type: e.type,
      from_status: e.from,
      to_status: e.to,
      reason: e.reason ?? null,
      count: e.count,
      at: e.at,
    });
  }
}

function agentParams(agent: Agent) {
  return {
    id: agent.id,
    workspace_id: agent.workspaceId,
    name: agent.name,
    conversation_config: JSON.stringify(agent.conversationConfig),
    platform_settings: textOrNull(agent.platformSettings),
    workflow: textOrNull(agent.workflow),
    tags: JSON.stringify(agent.tags),
    handoff: textOrNull(agent.handoff),
    created_at: agent.createdAt,
    updated_at: agent.updatedAt,
  };
}

function phoneNumberParams(phoneNumber: PhoneNumber) {
  const bool = (value: boolean | null) => (value === null ? null : value ? 1 : 0);
  return {
    id: phoneNumber.id,
    workspace_id: phoneNumber.workspaceId,
    provider: phoneNumber.provider,
    phone_number: phoneNumber.phoneNumber,
    label: phoneNumber.label,
    agent_id: phoneNumber.agentId,
    supports_inbound: bool(phoneNumber.supportsInbound),
    supports_outbound: bool(phoneNumber.supportsOutbound),
    config: JSON.stringify(phoneNumber.config),
    secrets: JSON.stringify(phoneNumber.secrets),
    created_at: phoneNumber.createdAt,
    updated_at: phoneNumber.updatedAt,
  };
}

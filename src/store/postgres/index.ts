import pg from 'pg';
import { nextBatchStatus, recipientTransitions, type BatchStatus } from '../../domain/status.js';
import type { Agent, Attempt, AttemptRef, Batch, BatchEvent, CarrierExchange, NewBatch, NewRecipient, PhoneNumber, Recipient } from '../../domain/types.js';
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
  type RecipientRow,
} from '../rows.js';
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
import * as agentSql from './sql/agents.js';
import * as attemptSql from './sql/attempts.js';
import * as batchSql from './sql/batches.js';
import * as carrierExchangeSql from './sql/carrier-exchanges.js';
import * as dialPacingSql from './sql/dial-pacing.js';
import * as eventSql from './sql/events.js';
import * as phoneNumberSql from './sql/phone-numbers.js';
import * as recipientSql from './sql/recipients.js';

export interface PostgresStoreOptions {
  connectionString: string;
  /** Tables live in this schema (created if missing); tests give each run its own. */
  schema?: string;
  /** Connections in the pool. */
  maxConnections?: number;
}

type Db = pg.PoolClient | pg.Pool;

interface LeasedRow {
  batch_key: number;
  seq: number;
  status: string;
  attempt_count: number;
  external_id: string;
  phone_number: string | null;
  whatsapp_user_id: string | null;
  client_data: string | null;
}

// bigint columns hold unix milliseconds and counters, far below 2^53; jsonb stays text so both
// dialects hand the shared decoders (`../rows.ts`) the same row shape.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === 20) return (value: string) => Number(value);
    if (oid === 114 || oid === 3802) return (value: string) => value;
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

/** Errors after which Postgres has rolled the transaction back and it is safe to run it again. */
const retryableCodes = new Set(['40001', '40P01']);
const migrationLockId = 0x7265_6469; // 'redi'
// The batch_counters shard for counts written outside any dispatcher's leases: cancel, and
// changes from carrier callbacks that reached a process not holding the lease.
const apiShard = 'api';

export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const schema = options.schema ?? null;
  if (schema !== null && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`schema name '${schema}' must be lower-case letters, digits and _`);
  // The schema is a startup option of every connection, not a SET queued behind the pool's
  // 'connect' event: pg deprecates queueing a query on a client that is still busy (it warned as
  // soon as several connections opened at once) and pg 9 refuses it. `options` in the connection
  // string, if any, wins over this one.
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    types,
    ...(schema === null ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle connection that the server dropped (a Postgres restart) errors here; the pool
  // replaces it, and the query that needed it fails and is retried by its caller.
  pool.on('error', () => undefined);
  if (schema !== null) {
    // Two processes creating the same schema at once can both miss it and one then fails; the
    // advisory lock serialises them.
    await pool.query(`SELECT pg_advisory_xact_lock(${migrationLockId}); CREATE SCHEMA IF NOT EXISTS ${schema}`);
  }
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return new PostgresStore(pool);
}

/** Ten processes starting at once migrate once: the first takes the advisory lock, the rest wait and find nothing to do. */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  const onError = (): void => undefined;
  client.on('error', onError);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockId]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
      const current = rows[0]?.version ?? 0;
      const latest = migrations[migrations.length - 1]?.version ?? 0;
      if (current > latest) {
        throw new Error(
          `The database is at schema version ${current}, but this redial knows only up to ${latest}. ` +
            `It was migrated by a newer redial: upgrade redial, or point DATABASE_URL at another database.`,
        );
      }
      for (const migration of migrations) {
        if (migration.version <= current) continue;
        await client.query('BEGIN');
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
        await client.query('COMMIT');
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [migrationLockId]);
    }
  } finally {
    client.removeListener('error', onError);
    client.release();
  }
}

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #rows<T>(db: Db, text: string, values: unknown[]): Promise<T[]> {
    return (await db.query(text, values)).rows as T[];
  }

  async #tx<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#pool.connect();
      // A checked-out client has no pool listener: a connection the server drops (a Postgres
      // restart) would otherwise raise an unhandled 'error' and end the process. The query in
      // flight fails on its own, which is all the caller needs to know.
      const onError = (): void => undefined;
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        client.removeListener('error', onError);
        client.release();
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.removeListener('error', onError);
        // The connection may be the broken one: the pool drops it rather than hand it out again.
        client.release(error as Error);
        const code = (error as { code?: string }).code;
        if (attempt < 5 && code !== undefined && retryableCodes.has(code)) continue;
        throw error;
      }
    }
  }

  // ---- agents

  async agentDelete(workspaceId: string, agentId: string): Promise<'deleted' | 'in_use' | 'not_found'> {
    return this.#tx(async (db) => {
      if ((await db.query(agentSql.agentUsedByOpenBatch, [agentId])).rowCount) return 'in_use';
      return (await db.query(agentSql.agentDelete, [workspaceId, agentId])).rowCount ? 'deleted' : 'not_found';
    });
  }

  async agentGet(workspaceId: string, agentId: string): Promise<Agent | null> {
    const [row] = await this.#rows<AgentRow>(this.#pool, agentSql.agentGet, [workspaceId, agentId]);
    return row ? decodeAgent(row) : null;
  }

  async agentInsert(agent: Agent): Promise<void> {
    await this.#pool.query(agentSql.agentInsert, agentValues(agent));
  }

  async agentList(query: { workspaceId: string; limit: number; cursor: string | null; search: string | null }): Promise<Page<Agent>> {
    const rows = await this.#rows<AgentRow>(this.#pool, agentSql.agentList, [query.workspaceId, query.cursor, query.search, query.limit + 1]);
    return pageOf(rows.map(decodeAgent), query.limit, (agent) => agent.id);
  }

  async agentUpdate(agent: Agent): Promise<void> {
    await this.#pool.query(agentSql.agentUpdate, agentValues(agent));
  }

  // ---- phone numbers

  async phoneNumberDelete(workspaceId: string, phoneNumberId: string): Promise<'deleted' | 'in_use' | 'not_found'> {
    return this.#tx(async (db) => {
      if ((await db.query(phoneNumberSql.phoneNumberUsedByOpenBatch, [phoneNumberId])).rowCount) return 'in_use';
      return (await db.query(phoneNumberSql.phoneNumberDelete, [workspaceId, phoneNumberId])).rowCount ? 'deleted' : 'not_found';
    });
  }

  async phoneNumberGet(workspaceId: string, phoneNumberId: string): Promise<PhoneNumber | null> {
    const [row] = await this.#rows<PhoneNumberRow>(this.#pool, phoneNumberSql.phoneNumberGet, [workspaceId, phoneNumberId]);
    return row ? decodePhoneNumber(row) : null;
  }

  async phoneNumberGetById(phoneNumberId: string): Promise<PhoneNumber | null> {
    const [row] = await this.#rows<PhoneNumberRow>(this.#pool, phoneNumberSql.phoneNumberGetById, [phoneNumberId]);
    return row ? decodePhoneNumber(row) : null;
  }

  async phoneNumberInsert(phoneNumber: PhoneNumber): Promise<void> {
    await this.#pool.query(phoneNumberSql.phoneNumberInsert, phoneNumberValues(phoneNumber));
  }

  async phoneNumberList(query: { workspaceId: string; agentId: string | null; provider: string | null }): Promise<PhoneNumber[]> {
    const rows = await this.#rows<PhoneNumberRow>(this.#pool, phoneNumberSql.phoneNumberList, [query.workspaceId, query.agentId, query.provider]);
    return rows.map(decodePhoneNumber);
  }

  async phoneNumberUpdate(phoneNumber: PhoneNumber): Promise<void> {
    await this.#pool.query(phoneNumberSql.phoneNumberUpdate, phoneNumberValues(phoneNumber));
  }

  // ---- batches

  async batchCancel(workspaceId: string, batchId: string, now: number): Promise<BatchOperationOutcome<{ hangUp: AttemptToHangUp[] }>> {
    return this.#tx(async (db) => {
      const batch = await this.#lockBatch(db, workspaceId, batchId);
      if (!batch) return { kind: 'not_found' };
      let status: BatchStatus;
      try {
        status = nextBatchStatus(batch.status as BatchStatus, 'cancel');
      } catch {
        return { kind: 'refused', batch: decodeBatch(batch) };
      }
      const live = await this.#liveAttempts(db, batch.key);
      const pending = (await db.query(recipientSql.recipientCancelPending, [batch.key, now])).rowCount ?? 0;
      const inFlight = await this.#rows<{ seq: number; attempt_count: number }>(db, recipientSql.recipientCancelInFlight, [batch.key, now]);
      const ended = inFlight.length
        ? ((await db.query(attemptSql.attemptEndCancelled, [batch.key, inFlight.map((r) => r.seq), inFlight.map((r) => r.attempt_count), now])).rowCount ?? 0)
        : 0;
      await db.query(batchSql.batchCountersAdd, [[batch.key], [0], [ended], now, apiShard]);
      await db.query(batchSql.batchSetStatus, [batch.key, status, now, 0]);
      await this.#event(db, { batchKey: batch.key, type: 'recipients:cancel', from: 'pending', to: 'cancelled', count: pending, at: now });
      if (inFlight.length) {
        await this.#event(db, { batchKey: batch.key, type: 'recipients:cancel', from: null, to: 'cancelled', count: inFlight.length, at: now });
      }
      await this.#event(db, { batchKey: batch.key, type: 'batch:cancel', from: batch.status, to: status, count: 1, at: now });
      return { kind: 'done', batch: await this.#batchByKey(db, batch.key), hangUp: live };
    });
  }

  async batchDelete(workspaceId: string, batchId: string): Promise<{ deleted: boolean; hangUp: AttemptToHangUp[] }> {
    return this.#tx(async (db) => {
      const batch = await this.#lockBatch(db, workspaceId, batchId);
      if (!batch) return { deleted: false, hangUp: [] };
      const live = await this.#liveAttempts(db, batch.key);
      for (const statement of [
        eventSql.eventDeleteByBatch,
        carrierExchangeSql.carrierExchangeDeleteByBatch,
        attemptSql.attemptDeleteByBatch,
        recipientSql.recipientDeleteByBatch,
        recipientSql.recipientDetailDeleteByBatch,
        batchSql.batchCountersDelete,
      ]) {
        await db.query(statement, [batch.key]);
      }
      await db.query(batchSql.batchDelete, [batch.key]);
      return { deleted: true, hangUp: live };
    });
  }

  async batchEvents(batchKey: number, afterId: number, limit: number): Promise<BatchEvent[]> {
    return (await this.#rows<EventRow>(this.#pool, eventSql.eventList, [batchKey, afterId, limit])).map(decodeEvent);
  }

  async batchFail(batchKey: number, reason: string, now: number): Promise<boolean> {
    return this.#tx(async (db) => {
      const [before] = await this.#rows<BatchRow>(db, batchSql.batchGetByKey, [batchKey]);
      const changed = (await db.query(batchSql.batchFail, [batchKey, reason, now])).rowCount ?? 0;
      if (changed > 0 && before) await this.#event(db, { batchKey, type: 'batch:fail', from: before.status, to: 'failed', reason, count: 1, at: now });
      return changed > 0;
    });
  }

  async batchGet(workspaceId: string, batchId: string): Promise<Batch | null> {
    const [row] = await this.#rows<BatchRow>(this.#pool, batchSql.batchGet, [workspaceId, batchId]);
    return row ? decodeBatch(row) : null;
  }

  async batchGetById(batchId: string): Promise<Batch | null> {
    const [row] = await this.#rows<BatchRow>(this.#pool, batchSql.batchGetById, [batchId]);
    return row ? decodeBatch(row) : null;
  }

  async batchGetByIdempotencyKey(workspaceId: string, idempotencyKey: string): Promise<{ batch: Batch; requestHash: string | null } | null> {
    const [row] = await this.#rows<BatchRow>(this.#pool, batchSql.batchGetByIdempotencyKey, [workspaceId, idempotencyKey]);
    return row ? { batch: decodeBatch(row), requestHash: row.request_hash } : null;
  }

  async batchGetByKey(batchKey: number): Promise<Batch | null> {
    const [row] = await this.#rows<BatchRow>(this.#pool, batchSql.batchGetByKey, [batchKey]);
    return row ? decodeBatch(row) : null;
  }

  async batchList(query: BatchListQuery): Promise<Page<Batch>> {
    const rows = await this.#rows<BatchRow>(this.#pool, batchSql.batchList, [query.workspaceId, query.before, query.agentId, query.limit + 1]);
    return pageOf(rows.map(decodeBatch), query.limit, (batch) => batch.id);
  }

  async batchRetry(workspaceId: string, batchId: string, now: number): Promise<BatchOperationOutcome<{ requeued: number }>> {
    return this.#tx(async (db) => {
      const batch = await this.#lockBatch(db, workspaceId, batchId);
      if (!batch) return { kind: 'not_found' };
      if (batch.status === 'cancelled') return { kind: 'refused', batch: decodeBatch(batch) };
      let status: BatchStatus;
      try {
        status = nextBatchStatus(batch.status as BatchStatus, batch.scheduled_at > now ? 'retryScheduled' : 'retry');
      } catch {
        return { kind: 'done', batch: decodeBatch(batch), requeued: 0 };
      }
      const requeued = (await db.query(recipientSql.recipientRetry, [batch.key, now])).rowCount ?? 0;
      if (requeued === 0) return { kind: 'done', batch: decodeBatch(batch), requeued };
      await db.query(batchSql.batchSetStatus, [batch.key, status, now, 1]);
      await this.#event(db, { batchKey: batch.key, type: 'recipients:retry', from: null, to: 'pending', count: requeued, at: now });
      await this.#event(db, { batchKey: batch.key, type: 'batch:retry', from: batch.status, to: status, count: 1, at: now });
      return { kind: 'done', batch: await this.#batchByKey(db, batch.key), requeued };
    });
  }

  async batchSubmit(batch: NewBatch, recipients: NewRecipient[]): Promise<SubmitOutcome> {
    const replay = async (db: Db): Promise<SubmitOutcome | null> => {
      if (batch.idempotencyKey === null) return null;
      const [earlier] = await this.#rows<BatchRow>(db, batchSql.batchGetByIdempotencyKey, [batch.workspaceId, batch.idempotencyKey]);
      return earlier ? { kind: 'replayed', batch: decodeBatch(earlier), requestHash: earlier.request_hash } : null;
    };
    return this.#tx(async (db) => {
      const earlier = await replay(db);
      if (earlier) return earlier;
      const [inserted] = await this.#rows<{ key: number }>(db, batchSql.batchInsert, [
        batch.id,
        batch.workspaceId,
        batch.name,
        batch.agentId,
        batch.agentName,
        batch.phoneNumberId,
        batch.phoneProvider,
        textOrNull(batch.whatsappParams),
        batch.branchId,
        batch.environment,
        batch.timezone,
        batch.scheduledAt,
        JSON.stringify(batch.telephonyCallConfig),
        batch.targetConcurrencyLimit,
        batch.concurrencyLimit,
        recipients.length,
        JSON.stringify(batch.dynamicVariableNames),
        batch.idempotencyKey,
        batch.requestHash,
        batch.createdAt,
      ]);
      // The same key committed by another process between our check and our insert.
      if (!inserted) return (await replay(db))!;
      const key = inserted.key;
      await db.query(recipientSql.recipientDetailInsertMany, [
        key,
        recipients.map((r) => r.id),
        recipients.map((r) => r.phoneNumber),
        recipients.map((r) => r.whatsappUserId),
        recipients.map((r) => textOrNull(r.clientData)),
        batch.createdAt,
      ]);
      await db.query(recipientSql.recipientInsertMany, [key, recipients.length, batch.scheduledAt, batch.createdAt]);
      await this.#event(db, { batchKey: key, type: 'batch:submit', from: null, to: 'pending', count: recipients.length, at: batch.createdAt });
      return { kind: 'created', batch: await this.#batchByKey(db, key) };
    });
  }

  async *recipientPages(batchKey: number, pageSize: number, limit?: number): AsyncIterable<Recipient[]> {
    let afterSeq = 0;
    let remaining = limit ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      const rows = await this.#rows<RecipientRow>(this.#pool, recipientSql.recipientPage, [batchKey, afterSeq, Math.min(pageSize, remaining)]);
      if (rows.length === 0) return;
      remaining -= rows.length;
      afterSeq = rows[rows.length - 1]!.seq;
      yield rows.map(decodeRecipient);
    }
  }

  // ---- dispatch

  async recipientLeaseDue(owner: string, now: number, leaseUntil: number, limit: number, providerOverride?: string): Promise<LeasedCall[]> {
    return this.#tx(async (db) => {
      const leased: LeasedCall[] = [];
      const runnable = await this.#rows<{ key: number }>(db, batchSql.batchListDispatchable, [now]);
      for (const { key } of runnable) {
        if (leased.length >= limit) break;
        await db.query(batchSql.batchLockDispatch, [key]);
        const [state] = await this.#rows<{ status: string; phone_provider: string | null; concurrency_limit: number; live: number }>(
          db,
          batchSql.batchDispatchState,
          [key],
        );
        if (!state || (state.status !== 'pending' && state.status !== 'in_progress')) continue;
        const batch = { key, ...state };
        const want = Math.min(batch.concurrency_limit - batch.live, limit - leased.length);
        if (want <= 0) continue;
        const rows = await this.#rows<LeasedRow>(db, recipientSql.recipientLeaseDue, [batch.key, now, want, owner, leaseUntil]);
        if (rows.length === 0) continue;
        const seqs = rows.map((row) => row.seq);
        const numbers = rows.map((row) => row.attempt_count);
        await db.query(attemptSql.attemptInsertMany, [batch.key, seqs, numbers, providerOverride ?? batch.phone_provider ?? 'whatsapp', now]);
        await db.query(eventSql.eventInsertMany, [
          rows.map(() => batch.key),
          seqs,
          numbers,
          rows.map(() => 'recipient:dispatch'),
          rows.map(() => 'pending'),
          rows.map(() => 'dispatched'),
          rows.map(() => null),
          rows.map(() => null),
          rows.map(() => now),
        ]);
        await db.query(batchSql.batchCountersAdd, [[batch.key], [rows.length], [0], now, owner]);
        if (batch.status === 'pending') {
          const status = nextBatchStatus('pending', 'start');
          await db.query(batchSql.batchSetStatus, [batch.key, status, now, 0]);
          await this.#event(db, { batchKey: batch.key, type: 'batch:start', from: 'pending', to: status, count: 1, at: now });
        }
        const batchId = (await this.#batchByKey(db, batch.key)).id;
        for (const row of rows) leased.push(leasedCallOf(row, batchId, decodeLeasedAttempt(undefined, now)));
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
    return (await this.#pool.query(recipientSql.recipientLeaseExpireAll, [owner, now])).rowCount ?? 0;
  }

  async leaseReclaimExpired(owner: string, now: number, leaseUntil: number, limit: number): Promise<LeasedCall[]> {
    return this.#tx(async (db) => {
      const rows = await this.#rows<LeasedRow>(db, recipientSql.recipientLeaseReclaim, [owner, leaseUntil, now, limit]);
      if (rows.length === 0) return [];
      const attempts = await this.#rows<AttemptRow>(db, attemptSql.attemptListByKeys, [
        rows.map((row) => row.batch_key),
        rows.map((row) => row.seq),
        rows.map((row) => row.attempt_count),
      ]);
      const byKey = new Map(attempts.map((a) => [`${a.batch_key}:${a.seq}`, a]));
      await db.query(eventSql.eventInsertMany, [
        rows.map((row) => row.batch_key),
        rows.map((row) => row.seq),
        rows.map((row) => row.attempt_count),
        rows.map(() => 'recipient:reclaim'),
        rows.map((row) => row.status),
        rows.map((row) => row.status),
        rows.map(() => null),
        rows.map(() => null),
        rows.map(() => now),
      ]);
      const batchIds = new Map<number, string>();
      const leased: LeasedCall[] = [];
      for (const row of rows) {
        let batchId = batchIds.get(row.batch_key);
        if (batchId === undefined) {
          batchId = (await this.#batchByKey(db, row.batch_key)).id;
          batchIds.set(row.batch_key, batchId);
        }
        leased.push(leasedCallOf(row, batchId, decodeLeasedAttempt(byKey.get(`${row.batch_key}:${row.seq}`), now)));
      }
      return leased;
    });
  }

  async leaseRenew(owner: string, _now: number, leaseUntil: number, attempts: AttemptRef[]): Promise<Set<string>> {
    // The same process writes its group commits on another connection at the same time: rows in
    // key order on both sides, and a deadlock retried, so a renewal is never lost to one (a lease
    // not renewed expires, and its live calls end dispatch_uncertain in another process).
    const ordered = inKeyOrder(attempts);
    const rows = await this.#tx((db) =>
      this.#rows<{ batch_key: number; seq: number }>(db, recipientSql.recipientLeaseRenew, [
        owner,
        leaseUntil,
        ordered.map((a) => a.batchKey),
        ordered.map((a) => a.seq),
      ]),
    );
    return new Set(rows.map((row) => `${row.batch_key}:${row.seq}`));
  }

  async attemptList(batchKey: number): Promise<Attempt[]> {
    return (await this.#rows<AttemptRow>(this.#pool, attemptSql.attemptListByBatch, [batchKey])).map(decodeAttempt);
  }

  async attemptGet(batchKey: number, seq: number, attemptNumber: number): Promise<{ attempt: Attempt; recipient: Recipient } | null> {
    const [attempt] = await this.#rows<AttemptRow>(this.#pool, attemptSql.attemptGet, [batchKey, seq, attemptNumber]);
    if (!attempt) return null;
    const [recipient] = await this.#rows<RecipientRow>(this.#pool, recipientSql.recipientGet, [batchKey, seq]);
    return recipient ? { attempt: decodeAttempt(attempt), recipient: decodeRecipient(recipient) } : null;
  }

  // ---- carriers

  async dialSlotsReserve(key: string, intervalMs: number, count: number, now: number): Promise<number> {
    const spanMs = Math.ceil(intervalMs * count); // see the SQLite twin
    const [row] = await this.#rows<{ first_slot_at: number }>(this.#pool, dialPacingSql.dialPacingReserve, [key, spanMs, now]);
    return row!.first_slot_at;
  }

  async exchangeList(batchKey: number, seq: number): Promise<CarrierExchange[]> {
    return (await this.#rows<CarrierExchangeRow>(this.#pool, carrierExchangeSql.carrierExchangeList, [batchKey, seq])).map(decodeCarrierExchange);
  }

  async exchangesAppend(exchanges: CarrierExchange[]): Promise<void> {
    if (exchanges.length === 0) return;
    await this.#pool.query(carrierExchangeSql.carrierExchangeInsertMany, [
      exchanges.map((e) => e.batchKey),
      exchanges.map((e) => e.seq),
      exchanges.map((e) => e.attemptNumber),
      exchanges.map((e) => e.provider),
      exchanges.map((e) => e.at),
      exchanges.map((e) => e.durationMs),
      exchanges.map((e) => JSON.stringify(e.request)),
      exchanges.map((e) => textOrNull(e.response)),
      exchanges.map((e) => e.error),
    ]);
  }

  // ---- helpers

  /** `callChangesApply`; with a null owner, for whoever holds the lease (`callChangesApplyUnowned`). */
  async #applyChanges(owner: string | null, unordered: CallChange[], now: number): Promise<CallChangeResult> {
    if (unordered.length === 0) return { applied: [], lost: [], completedBatchKeys: [] };
    // Key order, as leaseRenew: two statements locking the same rows in different orders deadlock.
    const changes = inKeyOrder(unordered);
    const compareAndSet = owner === null ? recipientSql.recipientApplyChangesUnowned : recipientSql.recipientApplyChanges;
    return this.#tx(async (db) => {
      const won = new Set(
        (
          await this.#rows<{ batch_key: number; seq: number }>(db, compareAndSet, [
            changes.map((c) => c.batchKey),
            changes.map((c) => c.seq),
            changes.map((c) => c.attemptNumber),
            changes.map((c) => c.fromStatus),
            changes.map((c) => c.toStatus),
            changes.map((c) => (c.toStatus === 'failed' ? (c.reason ?? 'provider_error') : null)),
            changes.map((c) => c.endedAt !== undefined),
            now,
            ...(owner === null ? [] : [owner]),
          ])
        ).map((row) => `${row.batch_key}:${row.seq}`),
      );
      const applied = changes.filter((c) => won.has(`${c.batchKey}:${c.seq}`));
      const lost = changes.filter((c) => !won.has(`${c.batchKey}:${c.seq}`));
      if (applied.length === 0) return { applied, lost, completedBatchKeys: [] };
      await db.query(attemptSql.attemptApplyChanges, [
        applied.map((c) => c.batchKey),
        applied.map((c) => c.seq),
        applied.map((c) => c.attemptNumber),
        applied.map((c) => c.providerCallId ?? null),
        applied.map((c) => c.answeredAt ?? null),
        applied.map((c) => c.endedAt ?? null),
        applied.map((c) => (c.endedAt === undefined ? null : c.toStatus)),
        applied.map((c) => c.reason ?? null),
        applied.map((c) => c.conversationId ?? null),
        applied.map((c) => textOrNull(c.providerState)),
      ]);
      const withEvent = applied.filter((c) => c.transitions.length > 0);
      if (withEvent.length) {
        await db.query(eventSql.eventInsertMany, [
          withEvent.map((c) => c.batchKey),
          withEvent.map((c) => c.seq),
          withEvent.map((c) => c.attemptNumber),
          withEvent.map((c) => `recipient:${c.transitions[c.transitions.length - 1]}`),
          withEvent.map((c) => c.fromStatus),
          withEvent.map((c) => c.toStatus),
          withEvent.map((c) => (c.toStatus === 'failed' ? (c.reason ?? null) : null)),
          withEvent.map((c) => viaOf(c)),
          withEvent.map((c) => c.changedAt),
        ]);
      }
      const finishedByBatch = new Map<number, number>();
      for (const c of applied) finishedByBatch.set(c.batchKey, (finishedByBatch.get(c.batchKey) ?? 0) + (c.endedAt === undefined ? 0 : 1));
      const counted = [...finishedByBatch];
      await db.query(batchSql.batchCountersAdd, [counted.map(([key]) => key), counted.map(() => 0), counted.map(([, n]) => n), now, owner ?? apiShard]);
      const ended = counted.filter(([, n]) => n > 0).map(([key]) => key);
      const completedBatchKeys = ended.length ? await this.#completeFinishedBatches(db, ended, now) : [];
      return { applied, lost, completedBatchKeys };
    });
  }

  /** The batch row, locked, with its dispatch lock held (see `batchLockDispatch`). */
  async #lockBatch(db: pg.PoolClient, workspaceId: string, batchId: string): Promise<BatchRow | null> {
    const [batch] = await this.#rows<BatchRow>(db, batchSql.batchGet, [workspaceId, batchId]);
    if (!batch) return null;
    await db.query(batchSql.batchLockDispatch, [batch.key]);
    await db.query(batchSql.batchGetForUpdate, [workspaceId, batchId]);
    const [locked] = await this.#rows<BatchRow>(db, batchSql.batchGet, [workspaceId, batchId]);
    return locked ?? null;
  }

  async #batchByKey(db: Db, batchKey: number): Promise<Batch> {
    const [row] = await this.#rows<BatchRow>(db, batchSql.batchGetByKey, [batchKey]);
    return decodeBatch(row!);
  }

  async #liveAttempts(db: Db, batchKey: number): Promise<AttemptToHangUp[]> {
    const rows = await this.#rows<{
      seq: number;
      number: number;
      provider: string;
      provider_call_id: string | null;
      lease_owner: string | null;
      lease_expires_at: number | null;
    }>(
      db,
      attemptSql.attemptListLiveByBatch,
      [batchKey],
    );
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

  async #completeFinishedBatches(db: Db, batchKeys: number[], now: number): Promise<number[]> {
    const done = await this.#rows<{ key: number }>(db, batchSql.batchCompleteFinished, [batchKeys, now]);
    for (const { key } of done) await this.#event(db, { batchKey: key, type: 'batch:complete', from: 'in_progress', to: 'completed', count: 1, at: now });
    return done.map((row) => row.key);
  }

  async #event(db: Db, e: { batchKey: number; type: string; from: string | null; to: string | null; reason?: string; count: number; at: number }): Promise<void> {
    await db.query(eventSql.eventInsert, [e.batchKey, e.type, e.from, e.to, e.reason ?? null, e.count, e.at]);
  }
}

function viaOf(change: CallChange): string | null {
  const via = change.transitions.slice(0, -1).map((transition) => recipientTransitions[transition].to);
  return via.length ? via.join('>') : null;
}

function leasedCallOf(row: LeasedRow, batchId: string, attempt: Pick<LeasedCall, 'dialedAt' | 'providerCallId' | 'providerState'>): LeasedCall {
  return {
    batchId,
    batchKey: row.batch_key,
    seq: row.seq,
    attemptNumber: row.attempt_count,
    recipientId: row.external_id,
    phoneNumber: row.phone_number,
    whatsappUserId: row.whatsapp_user_id,
    clientData: jsonOrNull(row.client_data),
    status: row.status as LeasedCall['status'],
    ...attempt,
  };
}

function agentValues(agent: Agent): unknown[] {
  return [
    agent.id,
    agent.workspaceId,
    agent.name,
    JSON.stringify(agent.conversationConfig),
    textOrNull(agent.platformSettings),
    textOrNull(agent.workflow),
    JSON.stringify(agent.tags),
    textOrNull(agent.handoff),
    agent.createdAt,
    agent.updatedAt,
  ];
}

function phoneNumberValues(phoneNumber: PhoneNumber): unknown[] {
  return [
    phoneNumber.id,
    phoneNumber.workspaceId,
    phoneNumber.provider,
    phoneNumber.phoneNumber,
    phoneNumber.label,
    phoneNumber.agentId,
    phoneNumber.supportsInbound,
    phoneNumber.supportsOutbound,
    JSON.stringify(phoneNumber.config),
    JSON.stringify(phoneNumber.secrets),
    phoneNumber.createdAt,
    phoneNumber.updatedAt,
  ];
}

/** Rows sorted by (batch_key, seq), the order every multi-row update here locks them in. */
function inKeyOrder<T extends { batchKey: number; seq: number }>(rows: T[]): T[] {
  return [...rows].sort((a, b) => a.batchKey - b.batchKey || a.seq - b.seq);
}

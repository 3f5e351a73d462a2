import { batchTransitions } from '../../../domain/status.js';
import { sqlIn } from '../../sql-list.js';

// $1 batch_keys bigint[], $2 dispatched int[], $3 finished int[], $4 now, $5 shard (the writing process)
export const batchCountersAdd = `
INSERT INTO batch_counters (batch_key, shard, dispatched, finished, updated_at)
SELECT u.key, $5, u.dispatched, u.finished, $4 FROM unnest($1::bigint[], $2::int[], $3::int[]) AS u(key, dispatched, finished)
ON CONFLICT (batch_key, shard) DO UPDATE SET
  dispatched = batch_counters.dispatched + EXCLUDED.dispatched,
  finished = batch_counters.finished + EXCLUDED.finished,
  updated_at = greatest(batch_counters.updated_at, EXCLUDED.updated_at)`;
// $1 key
export const batchCountersDelete = `DELETE FROM batch_counters WHERE batch_key = $1`;
// $1 batch_keys bigint[], $2 now — batches with no open recipient left become completed
export const batchCompleteFinished = `
UPDATE batches SET status = 'completed', updated_at = $2
WHERE key = ANY($1::bigint[])
  AND ${sqlIn('status', batchTransitions.complete.from)}
  AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.batch_key = batches.key AND r.status = 'pending')
  AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.batch_key = batches.key AND r.lease_owner IS NOT NULL)
RETURNING key`;
// $1 key
export const batchDelete = `DELETE FROM batches WHERE key = $1`;
// $1 key, $2 status_reason, $3 now
export const batchFail = `
UPDATE batches SET status = 'failed', status_reason = $2, updated_at = $3
WHERE key = $1 AND ${sqlIn('status', batchTransitions.fail.from)}`;
// $1 workspace_id, $2 id
export const batchGet = `SELECT * FROM batches_with_counts WHERE workspace_id = $1 AND id = $2`;
// $1 workspace_id, $2 id — locks the batch row: cancel, retry and delete serialise on it
export const batchGetForUpdate = `SELECT key FROM batches WHERE workspace_id = $1 AND id = $2 FOR UPDATE`;
// $1 key — the batch's dispatch lock, held to the end of the transaction. Whoever leases from a
// batch, cancels, retries or deletes it takes it first, so a lease counts the batch's live calls
// and takes free slots with no other process doing the same (target_concurrency_limit holds
// across processes) and never leases from a batch being cancelled. Group commits do not take
// it: they only end calls, which frees slots, so they need not wait for a lease.
export const batchLockDispatch = `SELECT pg_advisory_xact_lock(29285, $1::int)`;
// $1 id — in any workspace
export const batchGetById = `SELECT * FROM batches_with_counts WHERE id = $1`;
// $1 key
export const batchGetByKey = `SELECT * FROM batches_with_counts WHERE key = $1`;
// $1 workspace_id, $2 idempotency_key
export const batchGetByIdempotencyKey = `SELECT * FROM batches_with_counts WHERE workspace_id = $1 AND idempotency_key = $2`;
// $1 id … $20 created_at (the columns in order)
export const batchInsert = `
INSERT INTO batches (id, workspace_id, name, agent_id, agent_name, phone_number_id, phone_provider, whatsapp_params, branch_id,
  environment, timezone, scheduled_at, status, telephony_call_config, target_concurrency_limit, concurrency_limit,
  total_calls_scheduled, dynamic_variable_names, idempotency_key, request_hash, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14, $15, $16, $17, $18, $19, $20, $20)
ON CONFLICT (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING key`;
// $1 workspace_id, $2 before (id or null), $3 agent_id (or null), $4 limit
export const batchList = `
SELECT * FROM batches_with_counts
WHERE workspace_id = $1 AND ($2::text IS NULL OR id < $2) AND ($3::text IS NULL OR agent_id = $3)
ORDER BY id DESC LIMIT $4`;
// $1 now — running batches whose start time has come, in key order (the order their dispatch
// locks are taken, so two leasing processes cannot deadlock)
export const batchListDispatchable = `
SELECT b.key FROM batches b
WHERE ${sqlIn('b.status', [...batchTransitions.start.from, 'in_progress'])} AND b.scheduled_at <= $1
ORDER BY b.key`;
// $1 batch_key — read under the dispatch lock: the batch may have been cancelled meanwhile
export const batchDispatchState = `
SELECT b.status, b.phone_provider, b.concurrency_limit,
  (SELECT count(*)::int FROM recipients r WHERE r.batch_key = b.key AND r.lease_owner IS NOT NULL) AS live
FROM batches b WHERE b.key = $1`;
// $1 key, $2 status, $3 now, $4 retry_increment — a batch that leaves \`failed\` leaves its reason behind too
export const batchSetStatus = `
UPDATE batches SET status = $2, status_reason = CASE WHEN $2 = 'failed' THEN status_reason END,
  retry_count = retry_count + $4, updated_at = $3
WHERE key = $1`;

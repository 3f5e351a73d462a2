import { batchTransitions } from '../../../domain/status.js';
import { sqlIn } from '../../sql-list.js';

// :key, :rows (JSON [[batch_key, dispatched, finished]]), :now
export const batchCountersAdd = `
UPDATE batches SET
  total_calls_dispatched = total_calls_dispatched + (u.value ->> 1),
  total_calls_finished = total_calls_finished + (u.value ->> 2),
  updated_at = :now
FROM json_each(:rows) AS u
WHERE batches.key = u.value ->> 0`;
// :keys (JSON array of batch keys), :now — batches with no open recipient left become completed
export const batchCompleteFinished = `
UPDATE batches SET status = 'completed', updated_at = :now
WHERE key IN (SELECT value FROM json_each(:keys))
  AND ${sqlIn('status', batchTransitions.complete.from)}
  AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.batch_key = batches.key AND r.status = 'pending')
  AND NOT EXISTS (SELECT 1 FROM recipients r INDEXED BY recipients_leased WHERE r.batch_key = batches.key AND r.lease_owner IS NOT NULL)
RETURNING key`;
// :key
export const batchDelete = `DELETE FROM batches WHERE key = :key`;
// :key, :status_reason, :now — only from the statuses the state machine lets `fail` leave
export const batchFail = `
UPDATE batches SET status = 'failed', status_reason = :status_reason, updated_at = :now
WHERE key = :key AND ${sqlIn('status', batchTransitions.fail.from)}`;
// :workspace_id, :id
export const batchGet = `SELECT * FROM batches WHERE workspace_id = :workspace_id AND id = :id`;
// :id — in any workspace
export const batchGetById = `SELECT * FROM batches WHERE id = :id`;
// :key
export const batchGetByKey = `SELECT * FROM batches WHERE key = :key`;
// :workspace_id, :idempotency_key
export const batchGetByIdempotencyKey = `SELECT * FROM batches WHERE workspace_id = :workspace_id AND idempotency_key = :idempotency_key`;
// every column of a new batch
export const batchInsert = `
INSERT INTO batches (id, workspace_id, name, agent_id, agent_name, phone_number_id, phone_provider, whatsapp_params, branch_id,
  environment, timezone, scheduled_at, status, telephony_call_config, target_concurrency_limit, concurrency_limit,
  total_calls_scheduled, dynamic_variable_names, idempotency_key, request_hash, created_at, updated_at)
VALUES (:id, :workspace_id, :name, :agent_id, :agent_name, :phone_number_id, :phone_provider, :whatsapp_params, :branch_id,
  :environment, :timezone, :scheduled_at, 'pending', :telephony_call_config, :target_concurrency_limit, :concurrency_limit,
  :total_calls_scheduled, :dynamic_variable_names, :idempotency_key, :request_hash, :created_at, :created_at)
RETURNING key`;
// :workspace_id, :before (id or null), :agent_id (or null), :limit — ids are time-ordered, so newest first
export const batchList = `
SELECT * FROM batches
WHERE workspace_id = :workspace_id
  AND (:before IS NULL OR id < :before)
  AND (:agent_id IS NULL OR agent_id = :agent_id)
ORDER BY id DESC LIMIT :limit`;
// :now — running batches whose start time has come, with how many more calls each may start.
// Live calls are exactly the leased rows (a CHECK on recipients keeps it so), hence the count.
// INDEXED BY: without ANALYZE statistics SQLite costs the primary key the same as the partial
// index and counted by scanning the whole batch on every lease (1.6 s of a 100,000-call dispatch).
export const batchListDispatchable = `
SELECT b.key, b.status, b.phone_provider,
  b.concurrency_limit - (SELECT count(*) FROM recipients r INDEXED BY recipients_leased WHERE r.batch_key = b.key AND r.lease_owner IS NOT NULL) AS free
FROM batches b
WHERE ${sqlIn('b.status', [...batchTransitions.start.from, 'in_progress'])} AND b.scheduled_at <= :now
ORDER BY b.key`;
// :key, :status, :now, :retry_increment — a batch that leaves `failed` leaves its reason behind too
export const batchSetStatus = `
UPDATE batches SET status = :status, status_reason = CASE WHEN :status = 'failed' THEN status_reason END,
  retry_count = retry_count + :retry_increment, updated_at = :now
WHERE key = :key`;

import { inFlightStatuses, recipientTransitions, retryableFailureReasons } from '../../../domain/status.js';
import { sqlIn } from './list.js';

// SQLite's RETURNING sees only the updated table, so leases return keys and the details follow.
const leasedColumns = `batch_key, seq, status, attempt_count`;

// :rows (JSON [[seq, from, to, reason, ends_lease, attempt_number, batch_key]]), :owner, :now
// Compare-and-set: a row whose status, lease or attempt moved on since the engine read it is left alone.
export const recipientApplyChanges = `
UPDATE recipients SET
  status = u.value ->> 2,
  reason = u.value ->> 3,
  lease_owner = CASE WHEN u.value ->> 4 THEN NULL ELSE recipients.lease_owner END,
  lease_expires_at = CASE WHEN u.value ->> 4 THEN NULL ELSE recipients.lease_expires_at END,
  updated_at = :now
FROM json_each(:rows) AS u
WHERE recipients.batch_key = u.value ->> 6
  AND recipients.seq = u.value ->> 0
  AND recipients.status = u.value ->> 1
  AND recipients.lease_owner = :owner
  AND recipients.attempt_count = u.value ->> 5
RETURNING recipients.batch_key, recipients.seq`;
// :batch_key, :now — live calls end cancelled and their leases are dropped
export const recipientCancelInFlight = `
UPDATE recipients INDEXED BY recipients_leased SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, updated_at = :now
WHERE batch_key = :batch_key AND lease_owner IS NOT NULL AND ${sqlIn('status', inFlightStatuses)}
RETURNING seq, attempt_count`;
// :batch_key, :now
export const recipientCancelPending = `
UPDATE recipients INDEXED BY recipients_due SET status = 'cancelled', updated_at = :now WHERE batch_key = :batch_key AND status = 'pending'`;
// :batch_key
export const recipientDeleteByBatch = `DELETE FROM recipients WHERE batch_key = :batch_key`;
// :batch_key
export const recipientDetailDeleteByBatch = `DELETE FROM recipient_details WHERE batch_key = :batch_key`;
// :batch_key, :rows (JSON [[external_id, phone_number, whatsapp_user_id, client_data]]), :now — seq is the position in the array, from 1
export const recipientDetailInsertMany = `
INSERT INTO recipient_details (batch_key, seq, external_id, phone_number, whatsapp_user_id, client_data, created_at)
SELECT :batch_key, key + 1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, :now FROM json_each(:rows)`;
// :batch_key, :count, :next_attempt_at, :now
export const recipientInsertMany = `
WITH RECURSIVE seqs(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM seqs WHERE seq < :count)
INSERT INTO recipients (batch_key, seq, status, next_attempt_at, updated_at)
SELECT :batch_key, seq, 'pending', :next_attempt_at, :now FROM seqs`;
// :owner, :now
export const recipientLeaseExpireAll = `UPDATE recipients SET lease_expires_at = :now WHERE lease_owner = :owner`;
// :owner, :lease_until, :now, :batch_key, :limit — due = pending and next_attempt_at passed, oldest first
export const recipientLeaseDue = `
UPDATE recipients SET
  status = 'dispatched', attempt_count = attempt_count + 1, lease_owner = :owner, lease_expires_at = :lease_until, updated_at = :now
WHERE batch_key = :batch_key
  AND seq IN (
    SELECT seq FROM recipients
    WHERE batch_key = :batch_key AND ${sqlIn('status', recipientTransitions.dispatch.from)} AND next_attempt_at <= :now
    ORDER BY next_attempt_at, seq LIMIT :limit
  )
RETURNING ${leasedColumns}`;
// :owner, :lease_until, :now, :limit — leases whose owner stopped renewing them
export const recipientLeaseReclaim = `
UPDATE recipients SET lease_owner = :owner, lease_expires_at = :lease_until
WHERE (batch_key, seq) IN (
    SELECT batch_key, seq FROM recipients WHERE lease_owner IS NOT NULL AND lease_expires_at <= :now LIMIT :limit
  )
RETURNING ${leasedColumns}`;
// :rows (JSON [[batch_key, seq]])
export const recipientDetailListByKeys = `
SELECT d.* FROM recipient_details d JOIN json_each(:rows) AS k ON d.batch_key = k.value ->> 0 AND d.seq = k.value ->> 1`;
// :owner, :lease_until
export const recipientLeaseRenew = `
UPDATE recipients SET lease_expires_at = :lease_until WHERE lease_owner = :owner RETURNING batch_key, seq`;
// :batch_key, :after_seq, :limit — with what the latest attempt says
export const recipientPage = `
SELECT r.batch_key, r.seq, r.status, r.reason, r.attempt_count, r.updated_at,
  d.external_id, d.phone_number, d.whatsapp_user_id, d.client_data, d.created_at,
  a.conversation_id, a.dialed_at AS last_attempt_at
FROM recipients r
JOIN recipient_details d ON d.batch_key = r.batch_key AND d.seq = r.seq
LEFT JOIN attempts a ON a.batch_key = r.batch_key AND a.seq = r.seq AND a.number = r.attempt_count
WHERE r.batch_key = :batch_key AND r.seq > :after_seq
ORDER BY r.seq LIMIT :limit`;
// :batch_key, :now — one statement for the whole batch: voicemail and transient failures go back to pending.
// next_attempt_at is left as it was (in the past): the batch's own start time gates a rescheduled batch.
export const recipientRetry = `
UPDATE recipients SET status = 'pending', reason = NULL, updated_at = :now
WHERE batch_key = :batch_key
  AND ${sqlIn('status', recipientTransitions.retry.from)}
  AND (status = 'voicemail' OR ${sqlIn('reason', retryableFailureReasons)})`;

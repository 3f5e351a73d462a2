import { inFlightStatuses, recipientTransitions, retryableFailureReasons } from '../../../domain/status.js';
import { sqlIn } from '../../sql-list.js';

const leasedColumns = `r.batch_key, r.seq, r.status, r.attempt_count, d.external_id, d.phone_number, d.whatsapp_user_id, d.client_data`;

// $1 batch_keys, $2 seqs, $3 attempt_numbers, $4 from_statuses, $5 to_statuses, $6 reasons, $7 ends_lease, $8 now[, $9 owner]
// Compare-and-set for a whole group commit in one statement: rows whose status, lease or attempt
// moved on are left alone and are missing from what it returns.
const recipientApplyChangesWhere = (leaseCheck: string) => `
UPDATE recipients r SET
  status = u.to_status,
  reason = u.reason,
  lease_owner = CASE WHEN u.ends THEN NULL ELSE r.lease_owner END,
  lease_expires_at = CASE WHEN u.ends THEN NULL ELSE r.lease_expires_at END,
  updated_at = $8
FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::bool[])
  AS u(batch_key, seq, attempt, from_status, to_status, reason, ends)
WHERE r.batch_key = u.batch_key AND r.seq = u.seq AND r.status = u.from_status AND r.attempt_count = u.attempt${leaseCheck}
RETURNING r.batch_key, r.seq`;
// $1 … $9 as above: only the process that holds the lease writes
export const recipientApplyChanges = recipientApplyChangesWhere(' AND r.lease_owner = $9');
// $1 … $8 as above, no owner: whoever holds the lease (callChangesApplyUnowned)
export const recipientApplyChangesUnowned = recipientApplyChangesWhere('');
// $1 batch_key, $2 now
export const recipientCancelInFlight = `
UPDATE recipients SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, updated_at = $2
WHERE batch_key = $1 AND lease_owner IS NOT NULL AND ${sqlIn('status', inFlightStatuses)}
RETURNING seq, attempt_count`;
// $1 batch_key, $2 now
export const recipientCancelPending = `UPDATE recipients SET status = 'cancelled', updated_at = $2 WHERE batch_key = $1 AND status = 'pending'`;
// $1 batch_key
export const recipientDeleteByBatch = `DELETE FROM recipients WHERE batch_key = $1`;
// $1 batch_key
export const recipientDetailDeleteByBatch = `DELETE FROM recipient_details WHERE batch_key = $1`;
// $1 batch_key, $2 external_ids, $3 phone_numbers, $4 whatsapp_user_ids, $5 client_data (jsonb[]), $6 now
export const recipientDetailInsertMany = `
INSERT INTO recipient_details (batch_key, seq, external_id, phone_number, whatsapp_user_id, client_data, created_at)
SELECT $1, u.ord, u.external_id, u.phone_number, u.whatsapp_user_id, u.client_data, $6
FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS u(external_id, phone_number, whatsapp_user_id, client_data, ord)`;
// $1 batch_key, $2 count, $3 next_attempt_at, $4 now
export const recipientInsertMany = `
INSERT INTO recipients (batch_key, seq, status, next_attempt_at, updated_at)
SELECT $1, seq, 'pending', $3, $4 FROM generate_series(1, $2::int) AS seq`;
// $1 owner, $2 now
export const recipientLeaseExpireAll = `UPDATE recipients SET lease_expires_at = $2 WHERE lease_owner = $1`;
// $1 batch_key, $2 now, $3 limit, $4 owner, $5 lease_until — due = pending and next_attempt_at
// passed, oldest first; SKIP LOCKED so processes leasing at once take different rows
export const recipientLeaseDue = `
WITH due AS (
  SELECT batch_key, seq FROM recipients
  WHERE batch_key = $1 AND ${sqlIn('status', recipientTransitions.dispatch.from)} AND next_attempt_at <= $2
  ORDER BY next_attempt_at, seq LIMIT $3
  FOR UPDATE SKIP LOCKED
)
UPDATE recipients r SET
  status = 'dispatched', attempt_count = r.attempt_count + 1, lease_owner = $4, lease_expires_at = $5, updated_at = $2
FROM due JOIN recipient_details d ON d.batch_key = due.batch_key AND d.seq = due.seq
WHERE r.batch_key = due.batch_key AND r.seq = due.seq
RETURNING ${leasedColumns}`;
// $1 owner, $2 lease_until, $3 now, $4 limit — leases whose owner stopped renewing them
export const recipientLeaseReclaim = `
WITH expired AS (
  SELECT batch_key, seq FROM recipients
  WHERE lease_owner IS NOT NULL AND lease_expires_at <= $3
  ORDER BY lease_expires_at LIMIT $4
  FOR UPDATE SKIP LOCKED
)
UPDATE recipients r SET lease_owner = $1, lease_expires_at = $2
FROM expired JOIN recipient_details d ON d.batch_key = expired.batch_key AND d.seq = expired.seq
WHERE r.batch_key = expired.batch_key AND r.seq = expired.seq
RETURNING ${leasedColumns}`;
// $1 owner, $2 lease_until, $3 batch_keys, $4 seqs — the live calls whose leases to extend
export const recipientLeaseRenew = `
UPDATE recipients r SET lease_expires_at = $2
FROM unnest($3::bigint[], $4::int[]) AS k(batch_key, seq)
WHERE r.batch_key = k.batch_key AND r.seq = k.seq AND r.lease_owner = $1
RETURNING r.batch_key, r.seq`;
// a recipient with what its latest attempt says
const recipientSelect = `
SELECT r.batch_key, r.seq, r.status, r.reason, r.attempt_count, r.updated_at,
  d.external_id, d.phone_number, d.whatsapp_user_id, d.client_data, d.created_at,
  a.conversation_id, a.dialed_at AS last_attempt_at
FROM recipients r
JOIN recipient_details d ON d.batch_key = r.batch_key AND d.seq = r.seq
LEFT JOIN attempts a ON a.batch_key = r.batch_key AND a.seq = r.seq AND a.number = r.attempt_count`;
// $1 batch_key, $2 seq
export const recipientGet = `${recipientSelect}
WHERE r.batch_key = $1 AND r.seq = $2`;
// $1 batch_key, $2 after_seq, $3 limit
export const recipientPage = `${recipientSelect}
WHERE r.batch_key = $1 AND r.seq > $2
ORDER BY r.seq LIMIT $3`;
// $1 batch_key, $2 now — one statement for the whole batch (see the SQLite twin)
export const recipientRetry = `
UPDATE recipients SET status = 'pending', reason = NULL, updated_at = $2
WHERE batch_key = $1
  AND ${sqlIn('status', recipientTransitions.retry.from)}
  AND (status = 'voicemail' OR ${sqlIn('reason', retryableFailureReasons)})`;

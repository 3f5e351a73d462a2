// ? provider_call_id, answered_at, ended_at, outcome, reason, conversation_id, provider_state (each
// null when unchanged), batch_key, seq, number — positional for speed (see recipientApplyChange)
export const attemptApplyChange = `
UPDATE attempts SET
  provider_call_id = coalesce(?, provider_call_id),
  answered_at = coalesce(?, answered_at),
  ended_at = coalesce(?, ended_at),
  outcome = coalesce(?, outcome),
  reason = coalesce(?, reason),
  conversation_id = coalesce(?, conversation_id),
  provider_state = coalesce(?, provider_state)
WHERE batch_key = ? AND seq = ? AND number = ?`;
// :batch_key
export const attemptDeleteByBatch = `DELETE FROM attempts WHERE batch_key = :batch_key`;
// :rows (JSON [[batch_key, seq, number]]), :now — the keys come from the rows, not a parameter, so
// that SQLite drives the join from them instead of scanning every attempt of the batch.
export const attemptEndCancelled = `
UPDATE attempts SET ended_at = :now, outcome = 'cancelled', reason = 'cancelled'
FROM json_each(:rows) AS u
WHERE attempts.batch_key = u.value ->> 0 AND attempts.seq = u.value ->> 1 AND attempts.number = u.value ->> 2
  AND attempts.ended_at IS NULL`;
// :batch_key, :rows (JSON [[seq, number]]), :provider, :now
export const attemptInsertMany = `
INSERT INTO attempts (batch_key, seq, number, provider, dialed_at)
SELECT :batch_key, value ->> 0, value ->> 1, :provider, :now FROM json_each(:rows)`;
// :batch_key, :seq, :number
export const attemptGet = `SELECT * FROM attempts WHERE batch_key = :batch_key AND seq = :seq AND number = :number`;
// :batch_key
export const attemptListByBatch = `SELECT * FROM attempts WHERE batch_key = :batch_key ORDER BY seq, number`;
// :rows (JSON [[batch_key, seq, number]])
export const attemptListByKeys = `
SELECT a.* FROM attempts a JOIN json_each(:rows) AS k
  ON a.batch_key = k.value ->> 0 AND a.seq = k.value ->> 1 AND a.number = k.value ->> 2`;
// :batch_key — live attempts of a batch with the process that holds each (for hanging up)
export const attemptListLiveByBatch = `
SELECT a.seq, a.number, a.provider, a.provider_call_id, r.lease_owner, r.lease_expires_at
FROM recipients r INDEXED BY recipients_leased JOIN attempts a ON a.batch_key = r.batch_key AND a.seq = r.seq AND a.number = r.attempt_count
WHERE r.batch_key = :batch_key AND r.lease_owner IS NOT NULL`;

// $1 batch_keys, $2 seqs, $3 numbers, $4 provider_call_ids, $5 answered_ats, $6 ended_ats, $7 outcomes, $8 reasons, $9 conversation_ids,
// $10 provider_states (JSON text) — each element null when unchanged
export const attemptApplyChanges = `
UPDATE attempts a SET
  provider_call_id = coalesce(u.provider_call_id, a.provider_call_id),
  answered_at = coalesce(u.answered_at, a.answered_at),
  ended_at = coalesce(u.ended_at, a.ended_at),
  outcome = coalesce(u.outcome, a.outcome),
  reason = coalesce(u.reason, a.reason),
  conversation_id = coalesce(u.conversation_id, a.conversation_id),
  provider_state = coalesce(u.provider_state::jsonb, a.provider_state)
FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[])
  AS u(batch_key, seq, number, provider_call_id, answered_at, ended_at, outcome, reason, conversation_id, provider_state)
WHERE a.batch_key = u.batch_key AND a.seq = u.seq AND a.number = u.number`;
// $1 batch_key
export const attemptDeleteByBatch = `DELETE FROM attempts WHERE batch_key = $1`;
// $1 batch_key, $2 seqs, $3 numbers, $4 now
export const attemptEndCancelled = `
UPDATE attempts a SET ended_at = $4, outcome = 'cancelled', reason = 'cancelled'
FROM unnest($2::int[], $3::int[]) AS u(seq, number)
WHERE a.batch_key = $1 AND a.seq = u.seq AND a.number = u.number AND a.ended_at IS NULL`;
// $1 batch_key, $2 seqs, $3 numbers, $4 provider, $5 now
export const attemptInsertMany = `
INSERT INTO attempts (batch_key, seq, number, provider, dialed_at)
SELECT $1, u.seq, u.number, $4, $5 FROM unnest($2::int[], $3::int[]) AS u(seq, number)`;
// $1 batch_key, $2 seq, $3 number
export const attemptGet = `SELECT * FROM attempts WHERE batch_key = $1 AND seq = $2 AND number = $3`;
// $1 batch_key
export const attemptListByBatch = `SELECT * FROM attempts WHERE batch_key = $1 ORDER BY seq, number`;
// $1 batch_keys, $2 seqs, $3 numbers
export const attemptListByKeys = `
SELECT a.* FROM attempts a JOIN unnest($1::bigint[], $2::int[], $3::int[]) AS k(batch_key, seq, number)
  ON a.batch_key = k.batch_key AND a.seq = k.seq AND a.number = k.number`;
// $1 batch_key — live attempts of a batch with the process that holds each
export const attemptListLiveByBatch = `
SELECT a.seq, a.number, a.provider, a.provider_call_id, r.lease_owner, r.lease_expires_at
FROM recipients r JOIN attempts a ON a.batch_key = r.batch_key AND a.seq = r.seq AND a.number = r.attempt_count
WHERE r.batch_key = $1 AND r.lease_owner IS NOT NULL`;

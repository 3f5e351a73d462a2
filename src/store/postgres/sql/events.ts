// $1 batch_key
export const eventDeleteByBatch = `DELETE FROM events WHERE batch_key = $1`;
// $1 batch_key, $2 type, $3 from_status, $4 to_status, $5 reason, $6 count, $7 at — a batch-level or set-based event
export const eventInsert = `
INSERT INTO events (batch_key, type, from_status, to_status, reason, count, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
// $1 batch_keys, $2 seqs, $3 attempt_numbers, $4 types, $5 from_statuses, $6 to_statuses, $7 reasons, $8 vias, $9 ats
export const eventInsertMany = `
INSERT INTO events (batch_key, seq, attempt_number, type, from_status, to_status, reason, via, at)
SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[])`;
// $1 batch_key, $2 after_id, $3 limit
export const eventList = `SELECT * FROM events WHERE batch_key = $1 AND id > $2 ORDER BY id LIMIT $3`;

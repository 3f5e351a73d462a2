// :batch_key
export const eventDeleteByBatch = `DELETE FROM events WHERE batch_key = :batch_key`;
// :batch_key, :type, :from_status, :to_status, :reason, :count, :at — a batch-level or set-based event
export const eventInsert = `
INSERT INTO events (batch_key, type, from_status, to_status, reason, count, at)
VALUES (:batch_key, :type, :from_status, :to_status, :reason, :count, :at)`;
// ? batch_key, seq, attempt_number, type, from_status, to_status, reason, via, at —
// one recipient's change; positional for speed (see recipientApplyChange)
export const eventInsertRecipient = `
INSERT INTO events (batch_key, seq, attempt_number, type, from_status, to_status, reason, via, at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
// :rows (JSON [[batch_key, seq, attempt_number, type, from_status, to_status, reason, via, at]])
export const eventInsertMany = `
INSERT INTO events (batch_key, seq, attempt_number, type, from_status, to_status, reason, via, at)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8
FROM json_each(:rows)`;
// :batch_key, :after_id, :limit
export const eventList = `SELECT * FROM events WHERE batch_key = :batch_key AND id > :after_id ORDER BY id LIMIT :limit`;

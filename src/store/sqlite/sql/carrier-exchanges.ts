// :batch_key
export const carrierExchangeDeleteByBatch = `DELETE FROM carrier_exchanges WHERE batch_key = :batch_key`;
// :rows (JSON [[batch_key, seq, number, provider, at, duration_ms, request, response, error]], request
// and response already JSON text) — ids follow the array's order
export const carrierExchangeInsertMany = `
INSERT INTO carrier_exchanges (batch_key, seq, number, provider, at, duration_ms, request, response, error)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8
FROM json_each(:rows)`;
// :batch_key, :seq — over all the recipient's attempts, oldest first
export const carrierExchangeList = `SELECT * FROM carrier_exchanges WHERE batch_key = :batch_key AND seq = :seq ORDER BY id`;

// $1 batch_key
export const carrierExchangeDeleteByBatch = `DELETE FROM carrier_exchanges WHERE batch_key = $1`;
// $1 batch_keys, $2 seqs, $3 numbers, $4 providers, $5 ats, $6 duration_mss, $7 requests, $8 responses, $9 errors
// (request and response already JSON text) — ids follow the arrays' order
export const carrierExchangeInsertMany = `
INSERT INTO carrier_exchanges (batch_key, seq, number, provider, at, duration_ms, request, response, error)
SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::bigint[], $6::int[], $7::text[], $8::text[], $9::text[])`;
// $1 batch_key, $2 seq — over all the recipient's attempts, oldest first
export const carrierExchangeList = `SELECT * FROM carrier_exchanges WHERE batch_key = $1 AND seq = $2 ORDER BY id`;

// $1 workspace_id, $2 id
export const phoneNumberDelete = `DELETE FROM phone_numbers WHERE workspace_id = $1 AND id = $2`;
// $1 workspace_id, $2 id
export const phoneNumberGet = `SELECT * FROM phone_numbers WHERE workspace_id = $1 AND id = $2`;
// $1 id — in any workspace
export const phoneNumberGetById = `SELECT * FROM phone_numbers WHERE id = $1`;
// $1 id, $2 workspace_id, $3 provider, $4 phone_number, $5 label, $6 agent_id, $7 supports_inbound, $8 supports_outbound,
// $9 config, $10 secrets, $11 created_at, $12 updated_at
export const phoneNumberInsert = `
INSERT INTO phone_numbers (id, workspace_id, provider, phone_number, label, agent_id, supports_inbound, supports_outbound,
  config, secrets, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;
// $1 workspace_id, $2 agent_id (or null), $3 provider (or null)
export const phoneNumberList = `
SELECT * FROM phone_numbers
WHERE workspace_id = $1 AND ($2::text IS NULL OR agent_id = $2) AND ($3::text IS NULL OR provider = $3)
ORDER BY id`;
// same parameters as phoneNumberInsert
export const phoneNumberUpdate = `
UPDATE phone_numbers SET label = $5, agent_id = $6, supports_inbound = $7, supports_outbound = $8, config = $9, secrets = $10,
  updated_at = $12
WHERE id = $1 AND workspace_id = $2 AND provider = $3 AND phone_number = $4 AND created_at = $11`;
// $1 phone_number_id
export const phoneNumberUsedByOpenBatch = `SELECT 1 FROM batches WHERE phone_number_id = $1 AND status IN ('pending', 'in_progress') LIMIT 1`;

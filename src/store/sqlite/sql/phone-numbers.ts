// :workspace_id, :id
export const phoneNumberDelete = `DELETE FROM phone_numbers WHERE workspace_id = :workspace_id AND id = :id`;
// :workspace_id, :id
export const phoneNumberGet = `SELECT * FROM phone_numbers WHERE workspace_id = :workspace_id AND id = :id`;
// :id — in any workspace
export const phoneNumberGetById = `SELECT * FROM phone_numbers WHERE id = :id`;
// every column
export const phoneNumberInsert = `
INSERT INTO phone_numbers (id, workspace_id, provider, phone_number, label, agent_id, supports_inbound, supports_outbound,
  config, secrets, created_at, updated_at)
VALUES (:id, :workspace_id, :provider, :phone_number, :label, :agent_id, :supports_inbound, :supports_outbound,
  :config, :secrets, :created_at, :updated_at)`;
// :workspace_id, :agent_id (or null), :provider (or null)
export const phoneNumberList = `
SELECT * FROM phone_numbers
WHERE workspace_id = :workspace_id
  AND (:agent_id IS NULL OR agent_id = :agent_id)
  AND (:provider IS NULL OR provider = :provider)
ORDER BY id`;
// every column
export const phoneNumberUpdate = `
UPDATE phone_numbers SET label = :label, agent_id = :agent_id, supports_inbound = :supports_inbound,
  supports_outbound = :supports_outbound, config = :config, secrets = :secrets, updated_at = :updated_at
WHERE workspace_id = :workspace_id AND id = :id`;
// :phone_number_id
export const phoneNumberUsedByOpenBatch = `
SELECT 1 FROM batches WHERE phone_number_id = :phone_number_id AND status IN ('pending', 'in_progress') LIMIT 1`;

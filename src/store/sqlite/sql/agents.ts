// :workspace_id, :id
export const agentDelete = `DELETE FROM agents WHERE workspace_id = :workspace_id AND id = :id`;
// :workspace_id, :id
export const agentGet = `SELECT * FROM agents WHERE workspace_id = :workspace_id AND id = :id`;
// every column
export const agentInsert = `
INSERT INTO agents (id, workspace_id, name, conversation_config, platform_settings, workflow, tags, handoff, created_at, updated_at)
VALUES (:id, :workspace_id, :name, :conversation_config, :platform_settings, :workflow, :tags, :handoff, :created_at, :updated_at)`;
// :workspace_id, :cursor (id or null), :search (substring or null), :limit
export const agentList = `
SELECT * FROM agents
WHERE workspace_id = :workspace_id
  AND (:cursor IS NULL OR id < :cursor)
  AND (:search IS NULL OR instr(lower(name), lower(:search)) > 0)
ORDER BY id DESC LIMIT :limit`;
// every column
export const agentUpdate = `
UPDATE agents SET name = :name, conversation_config = :conversation_config, platform_settings = :platform_settings,
  workflow = :workflow, tags = :tags, handoff = :handoff, updated_at = :updated_at
WHERE workspace_id = :workspace_id AND id = :id`;
// :agent_id
export const agentUsedByOpenBatch = `
SELECT 1 FROM batches WHERE agent_id = :agent_id AND status IN ('pending', 'in_progress') LIMIT 1`;

// $1 workspace_id, $2 id
export const agentDelete = `DELETE FROM agents WHERE workspace_id = $1 AND id = $2`;
// $1 workspace_id, $2 id
export const agentGet = `SELECT * FROM agents WHERE workspace_id = $1 AND id = $2`;
// $1 id, $2 workspace_id, $3 name, $4 conversation_config, $5 platform_settings, $6 workflow, $7 tags, $8 handoff, $9 created_at, $10 updated_at
export const agentInsert = `
INSERT INTO agents (id, workspace_id, name, conversation_config, platform_settings, workflow, tags, handoff, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
// $1 workspace_id, $2 cursor (id or null), $3 search (or null), $4 limit
export const agentList = `
SELECT * FROM agents
WHERE workspace_id = $1 AND ($2::text IS NULL OR id < $2) AND ($3::text IS NULL OR strpos(lower(name), lower($3)) > 0)
ORDER BY id DESC LIMIT $4`;
// same parameters as agentInsert
export const agentUpdate = `
UPDATE agents SET name = $3, conversation_config = $4, platform_settings = $5, workflow = $6, tags = $7, handoff = $8, updated_at = $10
WHERE id = $1 AND workspace_id = $2 AND created_at = $9`;
// $1 agent_id
export const agentUsedByOpenBatch = `SELECT 1 FROM batches WHERE agent_id = $1 AND status IN ('pending', 'in_progress') LIMIT 1`;

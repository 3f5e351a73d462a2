// Forward-only: once merged, never edit this file; add 0002_… instead. Mirrors the SQLite
// migration of the same number; the differences are types (jsonb, bigint, identity) only.
export const name = 'init';
export const sql = `
CREATE TABLE agents (
  id                  text PRIMARY KEY,
  workspace_id        text NOT NULL,
  name                text NOT NULL,
  conversation_config jsonb NOT NULL,
  platform_settings   jsonb,
  workflow            jsonb,
  tags                jsonb NOT NULL DEFAULT '[]',
  handoff             jsonb,
  created_at          bigint NOT NULL,
  updated_at          bigint NOT NULL
);
CREATE INDEX agents_workspace ON agents (workspace_id, id);

CREATE TABLE phone_numbers (
  id                text PRIMARY KEY,
  workspace_id      text NOT NULL,
  provider          text NOT NULL,
  phone_number      text NOT NULL,
  label             text NOT NULL,
  agent_id          text,
  supports_inbound  boolean,
  supports_outbound boolean,
  config            jsonb NOT NULL DEFAULT '{}',
  secrets           jsonb NOT NULL DEFAULT '{}',
  created_at        bigint NOT NULL,
  updated_at        bigint NOT NULL
);
CREATE INDEX phone_numbers_workspace ON phone_numbers (workspace_id, id);

CREATE TABLE batches (
  key                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id                       text NOT NULL UNIQUE,
  workspace_id             text NOT NULL,
  name                     text NOT NULL,
  agent_id                 text NOT NULL,
  agent_name               text NOT NULL,
  phone_number_id          text,
  phone_provider           text,
  whatsapp_params          jsonb,
  branch_id                text,
  environment              text,
  timezone                 text,
  scheduled_at             bigint NOT NULL,
  status                   text NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed', 'failed', 'cancelled')),
  status_reason            text,
  telephony_call_config    jsonb NOT NULL DEFAULT '{}',
  target_concurrency_limit integer CHECK (target_concurrency_limit IS NULL OR target_concurrency_limit >= 1),
  concurrency_limit        integer NOT NULL CHECK (concurrency_limit >= 1),
  total_calls_scheduled    integer NOT NULL,
  total_calls_dispatched   integer NOT NULL DEFAULT 0,
  total_calls_finished     integer NOT NULL DEFAULT 0,
  retry_count              integer NOT NULL DEFAULT 0,
  dynamic_variable_names   jsonb NOT NULL DEFAULT '[]',
  idempotency_key          text,
  request_hash             text,
  created_at               bigint NOT NULL,
  updated_at               bigint NOT NULL,
  CHECK (status <> 'failed' OR status_reason IS NOT NULL)
);
CREATE INDEX batches_workspace ON batches (workspace_id, id);
CREATE INDEX batches_running ON batches (scheduled_at) WHERE status IN ('pending', 'in_progress');
CREATE UNIQUE INDEX batches_idempotency ON batches (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Counters that every lease and group commit adds to live in one row per batch and process
-- (\`shard\`), not in the batch row: with them in the batch row, every worker's writes to one
-- batch queued on that single row. Reads add the shards up (batches_with_counts).
CREATE TABLE batch_counters (
  batch_key  bigint NOT NULL,
  shard      text NOT NULL,
  dispatched integer NOT NULL DEFAULT 0,
  finished   integer NOT NULL DEFAULT 0,
  updated_at bigint NOT NULL,
  PRIMARY KEY (batch_key, shard)
);

CREATE VIEW batches_with_counts AS
SELECT b.key, b.id, b.workspace_id, b.name, b.agent_id, b.agent_name, b.phone_number_id, b.phone_provider, b.whatsapp_params, b.branch_id, b.environment, b.timezone, b.scheduled_at, b.status, b.status_reason, b.telephony_call_config, b.target_concurrency_limit, b.concurrency_limit, b.total_calls_scheduled, b.retry_count, b.dynamic_variable_names, b.idempotency_key, b.request_hash, b.created_at,
  b.total_calls_dispatched + coalesce(c.dispatched, 0) AS total_calls_dispatched,
  b.total_calls_finished + coalesce(c.finished, 0) AS total_calls_finished,
  greatest(b.updated_at, coalesce(c.updated_at, 0)) AS updated_at
FROM batches b
LEFT JOIN LATERAL (
  SELECT sum(dispatched)::int AS dispatched, sum(finished)::int AS finished, max(updated_at) AS updated_at
  FROM batch_counters WHERE batch_key = b.key
) c ON true;

-- The recipient row is the queue (see the SQLite migration for why it is narrow).
CREATE TABLE recipients (
  batch_key        bigint NOT NULL,
  seq              integer NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'dispatched', 'initiated', 'in_progress', 'completed', 'failed', 'cancelled', 'voicemail')),
  reason           text,
  attempt_count    integer NOT NULL DEFAULT 0,
  next_attempt_at  bigint NOT NULL,
  lease_owner      text,
  lease_expires_at bigint,
  updated_at       bigint NOT NULL,
  PRIMARY KEY (batch_key, seq),
  CHECK (status <> 'failed' OR reason IS NOT NULL),
  CHECK ((status IN ('dispatched', 'initiated', 'in_progress')) = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);
CREATE INDEX recipients_due ON recipients (batch_key, next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX recipients_leased ON recipients (batch_key) WHERE lease_owner IS NOT NULL;
CREATE INDEX recipients_lease_expiry ON recipients (lease_expires_at) WHERE lease_owner IS NOT NULL;

CREATE TABLE recipient_details (
  batch_key        bigint NOT NULL,
  seq              integer NOT NULL,
  external_id      text NOT NULL,
  phone_number     text,
  whatsapp_user_id text,
  client_data      jsonb,
  created_at       bigint NOT NULL,
  PRIMARY KEY (batch_key, seq),
  CHECK ((phone_number IS NULL) <> (whatsapp_user_id IS NULL))
);
CREATE UNIQUE INDEX recipient_details_external ON recipient_details (batch_key, external_id);

CREATE TABLE attempts (
  batch_key        bigint NOT NULL,
  seq              integer NOT NULL,
  number           integer NOT NULL CHECK (number >= 1),
  provider         text NOT NULL,
  provider_call_id text,
  outcome          text,
  reason           text,
  conversation_id  text,
  dialed_at        bigint NOT NULL,
  answered_at      bigint,
  ended_at         bigint,
  PRIMARY KEY (batch_key, seq, number),
  CHECK ((outcome IS NULL) = (ended_at IS NULL))
);

CREATE TABLE events (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_key      bigint NOT NULL,
  seq            integer,
  attempt_number integer,
  type           text NOT NULL,
  from_status    text,
  to_status      text,
  reason         text,
  via            text,
  count          integer NOT NULL DEFAULT 1,
  at             bigint NOT NULL
);
CREATE INDEX events_batch ON events (batch_key, id);
`;

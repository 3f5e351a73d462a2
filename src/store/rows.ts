/**
 * Row types mirror the snake_case columns and never leave `src/store/`; the decoders turn them
 * into the camelCase domain types the rest of redial sees. Both dialects hand rows over in this
 * one shape: JSON columns as text (the Postgres pool is told not to parse jsonb) and booleans
 * as SQLite's 0/1 or Postgres's true/false.
 */
import type { BatchStatus, FailureReason, RecipientStatus } from '../domain/status.js';
import type { Agent, Attempt, Batch, BatchEvent, CarrierExchange, JsonObject, PhoneNumber, PhoneProvider, Recipient } from '../domain/types.js';
import type { LeasedCall } from './store.js';

export interface AgentRow {
  id: string;
  workspace_id: string;
  name: string;
  conversation_config: string;
  platform_settings: string | null;
  workflow: string | null;
  tags: string;
  handoff: string | null;
  created_at: number;
  updated_at: number;
}

export interface PhoneNumberRow {
  id: string;
  workspace_id: string;
  provider: string;
  phone_number: string;
  label: string;
  agent_id: string | null;
  supports_inbound: boolean | number | null;
  supports_outbound: boolean | number | null;
  config: string;
  secrets: string;
  created_at: number;
  updated_at: number;
}

export interface BatchRow {
  key: number;
  id: string;
  workspace_id: string;
  name: string;
  agent_id: string;
  agent_name: string;
  phone_number_id: string | null;
  phone_provider: string | null;
  whatsapp_params: string | null;
  branch_id: string | null;
  environment: string | null;
  timezone: string | null;
  scheduled_at: number;
  status: string;
  status_reason: string | null;
  telephony_call_config: string;
  target_concurrency_limit: number | null;
  concurrency_limit: number;
  total_calls_scheduled: number;
  total_calls_dispatched: number;
  total_calls_finished: number;
  retry_count: number;
  dynamic_variable_names: string;
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: number;
  updated_at: number;
}

/** A `recipients` row joined with its details and its latest attempt (`recipientPage`). */
export interface RecipientRow {
  batch_key: number;
  seq: number;
  status: string;
  reason: string | null;
  attempt_count: number;
  updated_at: number;
  external_id: string;
  phone_number: string | null;
  whatsapp_user_id: string | null;
  client_data: string | null;
  created_at: number;
  conversation_id: string | null;
  last_attempt_at: number | null;
}

export interface RecipientDetailRow {
  batch_key: number;
  seq: number;
  external_id: string;
  phone_number: string | null;
  whatsapp_user_id: string | null;
  client_data: string | null;
  created_at: number;
}

export interface AttemptRow {
  batch_key: number;
  seq: number;
  number: number;
  provider: string;
  provider_call_id: string | null;
  outcome: string | null;
  reason: string | null;
  conversation_id: string | null;
  dialed_at: number;
  answered_at: number | null;
  ended_at: number | null;
  provider_state: string | null;
}

export interface CarrierExchangeRow {
  id: number;
  batch_key: number;
  seq: number;
  number: number;
  provider: string;
  at: number;
  duration_ms: number;
  request: string;
  response: string | null;
  error: string | null;
}

export interface EventRow {
  id: number;
  batch_key: number;
  seq: number | null;
  attempt_number: number | null;
  type: string;
  from_status: string | null;
  to_status: string | null;
  reason: string | null;
  via: string | null;
  count: number;
  at: number;
}

export function jsonOrNull<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

function boolOrNull(value: boolean | number | null): boolean | null {
  return value === null ? null : Boolean(value);
}

export function decodeAgent(row: AgentRow): Agent {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    conversationConfig: JSON.parse(row.conversation_config) as JsonObject,
    platformSettings: jsonOrNull(row.platform_settings),
    workflow: jsonOrNull(row.workflow),
    tags: JSON.parse(row.tags) as string[],
    handoff: jsonOrNull(row.handoff),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function decodePhoneNumber(row: PhoneNumberRow): PhoneNumber {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    provider: row.provider as PhoneProvider,
    phoneNumber: row.phone_number,
    label: row.label,
    agentId: row.agent_id,
    supportsInbound: boolOrNull(row.supports_inbound),
    supportsOutbound: boolOrNull(row.supports_outbound),
    config: JSON.parse(row.config) as JsonObject,
    secrets: JSON.parse(row.secrets) as JsonObject,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function decodeBatch(row: BatchRow): Batch {
  return {
    id: row.id,
    key: row.key,
    workspaceId: row.workspace_id,
    name: row.name,
    agentId: row.agent_id,
    agentName: row.agent_name,
    phoneNumberId: row.phone_number_id,
    phoneProvider: row.phone_provider as PhoneProvider | null,
    whatsappParams: jsonOrNull(row.whatsapp_params),
    branchId: row.branch_id,
    environment: row.environment,
    timezone: row.timezone,
    scheduledAt: row.scheduled_at,
    status: row.status as BatchStatus,
    statusReason: row.status_reason,
    telephonyCallConfig: JSON.parse(row.telephony_call_config) as Batch['telephonyCallConfig'],
    targetConcurrencyLimit: row.target_concurrency_limit,
    concurrencyLimit: row.concurrency_limit,
    totalCallsScheduled: row.total_calls_scheduled,
    totalCallsDispatched: row.total_calls_dispatched,
    totalCallsFinished: row.total_calls_finished,
    retryCount: row.retry_count,
    dynamicVariableNames: JSON.parse(row.dynamic_variable_names) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function decodeRecipient(row: RecipientRow): Recipient {
  return {
    batchKey: row.batch_key,
    seq: row.seq,
    id: row.external_id,
    phoneNumber: row.phone_number,
    whatsappUserId: row.whatsapp_user_id,
    clientData: jsonOrNull(row.client_data),
    status: row.status as RecipientStatus,
    reason: row.reason as FailureReason | null,
    attemptCount: row.attempt_count,
    conversationId: row.conversation_id,
    lastAttemptAt: row.last_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function decodeAttempt(row: AttemptRow): Attempt {
  return {
    batchKey: row.batch_key,
    seq: row.seq,
    number: row.number,
    provider: row.provider,
    providerCallId: row.provider_call_id,
    outcome: row.outcome as RecipientStatus | null,
    reason: row.reason as FailureReason | null,
    conversationId: row.conversation_id,
    dialedAt: row.dialed_at,
    answeredAt: row.answered_at,
    endedAt: row.ended_at,
    providerState: jsonOrNull(row.provider_state),
  };
}

/**
 * What a lease carries over from its attempt: for a fresh lease (no attempt row read) nothing
 * but `now`, for a reclaimed one what the attempt had stored.
 */
export function decodeLeasedAttempt(row: AttemptRow | undefined, now: number): Pick<LeasedCall, 'dialedAt' | 'providerCallId' | 'providerState'> {
  return {
    dialedAt: row?.dialed_at ?? now,
    providerCallId: row?.provider_call_id ?? null,
    providerState: jsonOrNull(row?.provider_state ?? null),
  };
}

export function decodeCarrierExchange(row: CarrierExchangeRow): CarrierExchange {
  return {
    batchKey: row.batch_key,
    seq: row.seq,
    attemptNumber: row.number,
    provider: row.provider,
    at: row.at,
    durationMs: row.duration_ms,
    request: JSON.parse(row.request) as CarrierExchange['request'],
    response: jsonOrNull(row.response),
    error: row.error,
  };
}

export function decodeEvent(row: EventRow): BatchEvent {
  return {
    id: row.id,
    batchKey: row.batch_key,
    seq: row.seq,
    attemptNumber: row.attempt_number,
    type: row.type,
    fromStatus: row.from_status,
    toStatus: row.to_status,
    reason: row.reason,
    via: row.via === null ? [] : row.via.split('>'),
    count: row.count,
    at: row.at,
  };
}

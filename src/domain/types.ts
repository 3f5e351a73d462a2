/**
 * Glossary
 * - workspace: the tenant; an API key belongs to exactly one.
 * - agent: who talks once a call is answered, and where to hand the call (`handoff`).
 * - phone number: the caller ID and the provider account behind it.
 * - batch: the campaign: agent, phone number, schedule, limits, telephony config, status.
 * - recipient: one person to reach; the recipient row *is* the queue (due = pending and
 *   next_attempt_at has passed).
 * - attempt: one dial of one recipient, identified by (recipient, attempt number).
 * - event: an append-only record of a status change or a set-based operation.
 *
 * Times inside the domain are unix milliseconds; the wire's `*_unix` fields are seconds.
 */
import type { BatchStatus, FailureReason, RecipientStatus } from './status.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface AgentHandoff {
  sipUri?: string;
  streamUrl?: string;
  twimlUrl?: string;
  /** WhatsApp calls: the agent's HTTP endpoint that makes the SDP offer and takes the answer. */
  sdpUrl?: string;
}

export interface Agent {
  id: string;
  workspaceId: string;
  name: string;
  conversationConfig: JsonObject;
  platformSettings: JsonObject | null;
  workflow: JsonObject | null;
  tags: string[];
  handoff: AgentHandoff | null;
  createdAt: number;
  updatedAt: number;
}

export type PhoneProvider = 'simulated' | 'sip_trunk' | 'twilio' | 'whatsapp';

export interface PhoneNumber {
  id: string;
  workspaceId: string;
  provider: PhoneProvider;
  phoneNumber: string;
  label: string;
  agentId: string | null;
  supportsInbound: boolean | null;
  supportsOutbound: boolean | null;
  /** Provider settings that may be shown (trunk address, SID, headers…). */
  config: JsonObject;
  /** Provider secrets (Twilio token, SIP password): stored, never returned by the API. */
  secrets: JsonObject;
  createdAt: number;
  updatedAt: number;
}

export interface TelephonyCallConfig {
  ringing_timeout_secs?: number;
  twilio_call_recording_enabled?: boolean;
  twilio_machine_detection?: { mode?: 'enable' | 'detect_message_end' };
}

export interface WhatsAppParams {
  whatsapp_phone_number_id?: string | null;
  whatsapp_call_permission_request_template_name: string;
  whatsapp_call_permission_request_template_language_code: string;
}

export interface Batch {
  id: string;
  /** Internal compact handle of the batch, carried by its recipient, attempt and event rows. */
  key: number;
  workspaceId: string;
  name: string;
  agentId: string;
  agentName: string;
  phoneNumberId: string | null;
  phoneProvider: PhoneProvider | null;
  whatsappParams: WhatsAppParams | null;
  branchId: string | null;
  environment: string | null;
  timezone: string | null;
  /** When dispatch may start (ms). */
  scheduledAt: number;
  status: BatchStatus;
  statusReason: string | null;
  telephonyCallConfig: TelephonyCallConfig;
  targetConcurrencyLimit: number | null;
  /** The limit the dispatcher enforces: the target, or the server default when none was given. */
  concurrencyLimit: number;
  totalCallsScheduled: number;
  totalCallsDispatched: number;
  totalCallsFinished: number;
  retryCount: number;
  dynamicVariableNames: string[];
  createdAt: number;
  updatedAt: number;
}

/** Identifies one attempt: the recipient (its batch and position in it) and the attempt number. */
export interface AttemptRef {
  batchKey: number;
  /** The recipient's position in its batch, from 1. */
  seq: number;
  attemptNumber: number;
}

export interface Recipient {
  batchKey: number;
  seq: number;
  /** The id the user gave (or one generated at submit); unique within the batch. */
  id: string;
  phoneNumber: string | null;
  whatsappUserId: string | null;
  clientData: JsonObject | null;
  status: RecipientStatus;
  reason: FailureReason | null;
  attemptCount: number;
  /** From the latest attempt. */
  conversationId: string | null;
  /** When the latest attempt was dialed. */
  lastAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface Attempt {
  batchKey: number;
  seq: number;
  number: number;
  provider: string;
  providerCallId: string | null;
  outcome: RecipientStatus | null;
  reason: FailureReason | null;
  conversationId: string | null;
  dialedAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  /** What the provider keeps to end or look up the call from another process (a SIP dialog). */
  providerState: JsonObject | null;
}

/** One HTTP request to a carrier and its answer, kept with its attempt, secrets already redacted. */
export interface CarrierExchange extends AttemptRef {
  provider: string;
  at: number;
  durationMs: number;
  request: { method: string; url: string; headers: Record<string, string>; body: string | null };
  /** Null when no answer came (timeout, connection refused); `error` then says what happened. */
  response: { status: number; headers: Record<string, string>; body: string | null } | null;
  error: string | null;
}

export interface BatchEvent {
  id: number;
  batchKey: number;
  seq: number | null;
  attemptNumber: number | null;
  type: string;
  fromStatus: string | null;
  toStatus: string | null;
  reason: string | null;
  /** Statuses a recipient passed through within this one change. */
  via: string[];
  count: number;
  at: number;
}

/** What submit hands to the store after validation: everything already normalised. */
export type NewBatch = Pick<
  Batch,
  | 'id'
  | 'workspaceId'
  | 'name'
  | 'agentId'
  | 'agentName'
  | 'phoneNumberId'
  | 'phoneProvider'
  | 'whatsappParams'
  | 'branchId'
  | 'environment'
  | 'timezone'
  | 'scheduledAt'
  | 'telephonyCallConfig'
  | 'targetConcurrencyLimit'
  | 'concurrencyLimit'
  | 'dynamicVariableNames'
  | 'createdAt'
> & { idempotencyKey: string | null; requestHash: string | null };

export interface NewRecipient {
  id: string;
  phoneNumber: string | null;
  whatsappUserId: string | null;
  clientData: JsonObject | null;
}

/**
 * One serializer per response type, producing the wire shapes of the ElevenLabs API exactly as
 * the official SDK parses them (`contract/elevenlabs-api.md`). Required keys are always present
 * and never null; optional ones are left out rather than invented.
 */
import { toUnixSeconds } from '../domain/clock.js';
import type { Agent, Batch, PhoneNumber, Recipient } from '../domain/types.js';

type Wire = Record<string, unknown>;

function withOptional(target: Wire, optional: Wire): Wire {
  for (const [key, value] of Object.entries(optional)) if (value !== null && value !== undefined) target[key] = value;
  return target;
}

/** `BatchCallResponse`: submit, cancel, retry, and each entry of the list. */
export function serializeBatch(batch: Batch): Wire {
  return withOptional(
    {
      id: batch.id,
      name: batch.name,
      agent_id: batch.agentId,
      agent_name: batch.agentName,
      created_at_unix: toUnixSeconds(batch.createdAt),
      scheduled_time_unix: toUnixSeconds(batch.scheduledAt),
      last_updated_at_unix: toUnixSeconds(batch.updatedAt),
      status: batch.status,
      total_calls_dispatched: batch.totalCallsDispatched,
      total_calls_scheduled: batch.totalCallsScheduled,
      total_calls_finished: batch.totalCallsFinished,
      retry_count: batch.retryCount,
      telephony_call_config: batch.telephonyCallConfig,
    },
    {
      phone_number_id: batch.phoneNumberId,
      phone_provider: batch.phoneProvider,
      whatsapp_params: batch.whatsappParams,
      branch_id: batch.branchId,
      environment: batch.environment,
      timezone: batch.timezone,
      target_concurrency_limit: batch.targetConcurrencyLimit,
      // redial's own addition: why a batch failed.
      status_reason: batch.statusReason,
    },
  );
}

/** `OutboundCallRecipientResponseModel`. */
export function serializeRecipient(recipient: Recipient): Wire {
  return withOptional(
    {
      id: recipient.id,
      status: recipient.status,
      created_at_unix: toUnixSeconds(recipient.createdAt),
      updated_at_unix: toUnixSeconds(recipient.updatedAt),
    },
    {
      phone_number: recipient.phoneNumber,
      whatsapp_user_id: recipient.whatsappUserId,
      conversation_id: recipient.conversationId,
      conversation_initiation_client_data: recipient.clientData,
      // redial's own additions: why it failed and how often it was dialed.
      reason: recipient.reason,
      attempts: recipient.attemptCount,
    },
  );
}

/** `GetAgentResponseModel`, plus redial's `handoff`. */
export function serializeAgent(agent: Agent, phoneNumbers: PhoneNumber[] = []): Wire {
  return withOptional(
    {
      agent_id: agent.id,
      name: agent.name,
      conversation_config: agent.conversationConfig,
      metadata: { created_at_unix_secs: toUnixSeconds(agent.createdAt), updated_at_unix_secs: toUnixSeconds(agent.updatedAt) },
      tags: agent.tags,
      phone_numbers: phoneNumbers.map((phoneNumber) => serializePhoneNumber(phoneNumber, agent)),
    },
    {
      platform_settings: agent.platformSettings,
      // The SDK requires these three keys on a returned workflow, though a request may leave them out.
      workflow: agent.workflow ? { edges: {}, nodes: {}, prevent_subagent_loops: false, ...agent.workflow } : null,
      handoff: agent.handoff ? handoffWire(agent.handoff) : null,
    },
  );
}

function handoffWire(handoff: NonNullable<Agent['handoff']>): Wire {
  return withOptional({}, { stream_url: handoff.streamUrl, twiml_url: handoff.twimlUrl, sip_uri: handoff.sipUri, sdp_url: handoff.sdpUrl });
}

/** `AgentSummaryResponseModel`, one entry of the agent list. */
export function serializeAgentSummary(agent: Agent): Wire {
  const tts = agent.conversationConfig.tts;
  const voiceId = tts && typeof tts === 'object' && !Array.isArray(tts) && typeof tts.voice_id === 'string' ? tts.voice_id : '';
  return {
    agent_id: agent.id,
    name: agent.name,
    voice_id: voiceId,
    tags: agent.tags,
    created_at_unix_secs: toUnixSeconds(agent.createdAt),
    access_info: { is_creator: true, creator_name: 'redial', creator_email: '', role: 'admin' },
  };
}

/** The provider-tagged phone number of get/list/update. Secrets never leave the store. */
export function serializePhoneNumber(phoneNumber: PhoneNumber, agent: Agent | null): Wire {
  const wire = withOptional(
    {
      provider: phoneNumber.provider,
      phone_number: phoneNumber.phoneNumber,
      label: phoneNumber.label,
      phone_number_id: phoneNumber.id,
    },
    {
      supports_inbound: phoneNumber.supportsInbound,
      supports_outbound: phoneNumber.supportsOutbound,
      assigned_agent: agent ? { agent_id: agent.id, agent_name: agent.name } : null,
    },
  );
  const config = phoneNumber.config;
  if (phoneNumber.provider === 'sip_trunk') {
    wire.livekit_stack = typeof config.livekit_stack === 'string' ? config.livekit_stack : 'standard';
    const outbound = config.outbound_trunk;
    if (outbound && typeof outbound === 'object') {
      wire.outbound_trunk = outbound;
      wire.provider_config = outbound;
    }
    if (config.inbound_trunk && typeof config.inbound_trunk === 'object') wire.inbound_trunk = config.inbound_trunk;
    if (typeof config.store_sip_messages === 'boolean') wire.store_sip_messages = config.store_sip_messages;
  }
  if (typeof config.calls_per_second === 'number') wire.calls_per_second = config.calls_per_second;
  if (phoneNumber.provider === 'whatsapp') wire.whatsapp_phone_number_id = config.whatsapp_phone_number_id ?? null;
  if (phoneNumber.provider === 'twilio' && typeof config.sid === 'string') {
    // redial's addition: which account places the calls (the SID is not a secret; the token is).
    wire.twilio_account_sid = config.sid;
  }
  return wire;
}

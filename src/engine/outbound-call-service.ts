/**
 * Single outbound calls (`/v1/convai/<provider>/outbound-call`) take the batch path: a batch of
 * one recipient, so the call is recorded, dispatched, followed, limited and retried exactly as a
 * batch's calls are. The request returns once the carrier has taken the call (or refused it).
 */
import type { Clock } from '../domain/clock.js';
import { validationError } from '../domain/errors.js';
import type { Batch, PhoneProvider } from '../domain/types.js';
import type { PhoneOutboundCallBody, WhatsAppOutboundCallBody } from '../domain/wire/outbound-call.js';
import type { SubmitBody } from '../domain/wire/submit.js';
import type { Store } from '../store/store.js';
import type { BatchService } from './batch-service.js';

export interface OutboundCallResult {
  success: boolean;
  message: string;
  batchId: string;
  providerCallId: string | null;
  conversationId: string | null;
}

const pollMs = 50;

export class OutboundCallService {
  constructor(
    private readonly store: Store,
    private readonly batches: BatchService,
    private readonly clock: Clock,
    /** How long to wait for the carrier to take the call. */
    private readonly waitMs: number,
  ) {}

  async placePhoneCall(workspaceId: string, provider: Exclude<PhoneProvider, 'whatsapp' | 'simulated'>, body: PhoneOutboundCallBody): Promise<OutboundCallResult> {
    const phoneNumber = await this.store.phoneNumberGet(workspaceId, body.agent_phone_number_id);
    if (phoneNumber && phoneNumber.provider !== provider && phoneNumber.provider !== 'simulated') {
      throw validationError([
        {
          loc: ['body', 'agent_phone_number_id'],
          msg: `'${phoneNumber.id}' is a ${phoneNumber.provider} number; place its calls with POST /v1/convai/${phoneNumber.provider === 'sip_trunk' ? 'sip-trunk' : phoneNumber.provider}/outbound-call`,
          type: 'value_error',
        },
      ]);
    }
    const config = { ...(body.telephony_call_config ?? {}) };
    if (body.call_recording_enabled !== undefined && body.call_recording_enabled !== null) config.twilio_call_recording_enabled = body.call_recording_enabled;
    return this.#place(workspaceId, {
      call_name: `outbound call to ${body.to_number}`,
      agent_id: body.agent_id,
      agent_phone_number_id: body.agent_phone_number_id,
      recipients: [{ phone_number: body.to_number, conversation_initiation_client_data: body.conversation_initiation_client_data ?? null }],
      telephony_call_config: config,
    });
  }

  async placeWhatsAppCall(workspaceId: string, body: WhatsAppOutboundCallBody): Promise<OutboundCallResult> {
    return this.#place(workspaceId, {
      call_name: `WhatsApp call to ${body.whatsapp_user_id}`,
      agent_id: body.agent_id,
      whatsapp_params: {
        whatsapp_phone_number_id: body.whatsapp_phone_number_id,
        whatsapp_call_permission_request_template_name: body.whatsapp_call_permission_request_template_name,
        whatsapp_call_permission_request_template_language_code: body.whatsapp_call_permission_request_template_language_code,
      },
      recipients: [{ whatsapp_user_id: body.whatsapp_user_id, conversation_initiation_client_data: body.conversation_initiation_client_data ?? null }],
    });
  }

  async #place(workspaceId: string, submit: SubmitBody): Promise<OutboundCallResult> {
    const batch = await this.batches.submit(workspaceId, submit, null);
    const deadline = this.clock.now() + this.waitMs;
    for (;;) {
      // The call is committed: an error from here on must not become a 5xx, or the SDK would
      // send the request again and the person would be called twice.
      const outcome = await this.#outcome(batch).catch(() => null);
      if (outcome) return outcome;
      if (this.clock.now() >= deadline) {
        return {
          success: true,
          message: `The call is queued but the carrier has not taken it yet; follow it with GET /v1/convai/batch-calling/${batch.id}`,
          batchId: batch.id,
          providerCallId: null,
          conversationId: null,
        };
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  async #outcome(submitted: Batch): Promise<OutboundCallResult | null> {
    const [attempt] = await this.store.attemptList(submitted.key);
    const batch = await this.store.batchGetByKey(submitted.key);
    const base = { batchId: submitted.id, providerCallId: attempt?.providerCallId ?? null, conversationId: attempt?.conversationId ?? null };
    if (batch?.status === 'failed') return { ...base, success: false, message: batch.statusReason ?? 'the call could not be placed' };
    if (!attempt) return null;
    if (attempt.outcome === 'failed' || attempt.outcome === 'cancelled') {
      return { ...base, success: false, message: `The call was not placed: ${attempt.reason ?? attempt.outcome}` };
    }
    if (attempt.providerCallId === null && attempt.endedAt === null) return null;
    return { ...base, success: true, message: 'The call was placed' };
  }
}

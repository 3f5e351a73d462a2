/**
 * Webhook bodies shaped like Meta's (Cloud API "webhooks" and the Calling API's "Business-initiated
 * calls" samples), their signature, and their delivery.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { deliverCallback } from '../deliver-callback.js';
import type { FakeGraphNumber, RecordedWebhook } from './types.js';

export function envelope(number: FakeGraphNumber, field: 'messages' | 'calls', value: Record<string, unknown>): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: number.wabaId,
        changes: [
          {
            field,
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: number.displayPhoneNumber, phone_number_id: number.phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

export function messageStatus(messageId: string, user: string, status: 'sent' | 'delivered' | 'failed', timestamp: number, error?: { code: number; title: string; details: string }): Record<string, unknown> {
  const entry: Record<string, unknown> = { id: messageId, status, timestamp: String(timestamp), recipient_id: user };
  if (status !== 'failed') {
    entry.conversation = { id: randomHex(16), origin: { type: 'utility' } };
    entry.pricing = { billable: true, pricing_model: 'PMP', category: 'utility' };
  }
  if (error) entry.errors = [{ code: error.code, title: error.title, message: error.title, error_data: { details: error.details } }];
  return { statuses: [entry] };
}

/** The user's reply to a call permission request (Meta's "User calling permission request webhook"). */
export function permissionReply(number: FakeGraphNumber, requestId: string, user: string, accepted: boolean, timestamp: number): Record<string, unknown> {
  const reply: Record<string, unknown> = { response: accepted ? 'accept' : 'reject', is_permanent: false, response_source: 'user_action' };
  if (accepted) reply.expiration_timestamp = timestamp + 7 * 24 * 3600;
  return {
    contacts: [{ profile: { name: `User ${user.slice(-4)}` }, wa_id: user }],
    messages: [
      {
        from: user,
        id: `wamid.${randomId()}`,
        timestamp: String(timestamp),
        context: { from: number.displayPhoneNumber, id: requestId },
        type: 'interactive',
        interactive: { type: 'call_permission_reply', call_permission_reply: reply },
      },
    ],
  };
}

export function callConnect(number: FakeGraphNumber, callId: string, user: string, sdpAnswer: string, timestamp: number, opaque: string | null): Record<string, unknown> {
  return {
    contacts: [{ profile: { name: `User ${user.slice(-4)}` }, wa_id: user }],
    calls: [
      {
        id: callId,
        to: user,
        from: number.displayPhoneNumber,
        event: 'connect',
        timestamp: String(timestamp),
        direction: 'BUSINESS_INITIATED',
        session: { sdp_type: 'answer', sdp: sdpAnswer },
        ...(opaque !== null ? { biz_opaque_callback_data: opaque } : {}),
      },
    ],
  };
}

export function callStatus(callId: string, user: string, status: 'RINGING' | 'ACCEPTED' | 'REJECTED', timestamp: number, opaque: string | null): Record<string, unknown> {
  return {
    statuses: [{ id: callId, timestamp: String(timestamp), type: 'call', status, recipient_id: user, ...(opaque !== null ? { biz_opaque_callback_data: opaque } : {}) }],
  };
}

export function callTerminate(
  number: FakeGraphNumber,
  callId: string,
  user: string,
  timestamp: number,
  opaque: string | null,
  talked: { startTime: number; endTime: number } | null,
): Record<string, unknown> {
  const call: Record<string, unknown> = {
    id: callId,
    to: user,
    from: number.displayPhoneNumber,
    event: 'terminate',
    direction: 'BUSINESS_INITIATED',
    timestamp: String(timestamp),
    status: talked ? 'COMPLETED' : 'FAILED',
    ...(opaque !== null ? { biz_opaque_callback_data: opaque } : {}),
  };
  if (talked) {
    call.start_time = String(talked.startTime);
    call.end_time = String(talked.endTime);
    call.duration = talked.endTime - talked.startTime;
  }
  return { calls: [call] };
}

export function sign(body: string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/**
 * Sends one webhook. One request, no retry (Meta retries failed deliveries for days; the fake
 * does not). node:http without keep-alive, so no pooled socket outlives `close()`.
 */
export function deliver(webhook: Pick<RecordedWebhook, 'url' | 'body' | 'signature'>, timeoutMs: number, signal: AbortSignal): Promise<RecordedWebhook['delivery']> {
  const headers = { 'content-type': 'application/json', 'x-hub-signature-256': webhook.signature, 'user-agent': 'facebookexternalua' };
  return deliverCallback({ url: webhook.url, method: 'POST', body: webhook.body, headers }, timeoutMs, signal);
}

export function randomId(): string {
  return randomBytes(18).toString('base64url');
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Meta's webhooks for WhatsApp: the GET verification handshake, the `X-Hub-Signature-256` check,
 * and the payload read into the few items the provider acts on. Pure functions: nothing here
 * changes state, so the provider can verify before it touches anything.
 *
 * Payload shape (Cloud API webhooks): `{ object: 'whatsapp_business_account', entry: [{ id: <WABA id>,
 * changes: [{ field: 'messages' | 'calls', value: { messaging_product, metadata: { display_phone_number,
 * phone_number_id }, contacts?, messages?, statuses?, calls?, errors? } }] }] }`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { CallbackResponse } from '../provider.js';

export type WebhookItem =
  /** `messages[]` with `interactive.type = call_permission_reply`: the user answered our permission request. */
  | {
      kind: 'permission_reply';
      phoneNumberId: string;
      /** The user's WhatsApp id (`from`). */
      from: string;
      /** `context.id`: the permission request message it answers (or the call id of a missed call). */
      contextId: string | null;
      response: string;
      /** Unix seconds, as Meta sent it. */
      timestamp: number | null;
    }
  /** `statuses[]` of field `messages`: sent, delivered, read, failed. */
  | { kind: 'message_status'; phoneNumberId: string; messageId: string; status: string; errorCode: number | null; errorTitle: string | null }
  /** `calls[]` with `event: connect`: for a business-initiated call, the SDP answer. */
  | {
      kind: 'call_connect';
      phoneNumberId: string;
      callId: string;
      to: string | null;
      direction: string | null;
      sdpType: string | null;
      sdp: string | null;
      opaque: string | null;
      timestamp: number | null;
    }
  /** `statuses[]` of field `calls`: RINGING, ACCEPTED, REJECTED. */
  | { kind: 'call_status'; phoneNumberId: string; callId: string; status: string; opaque: string | null }
  /** `calls[]` with `event: terminate`. */
  | {
      kind: 'call_terminate';
      phoneNumberId: string;
      callId: string;
      direction: string | null;
      status: string | null;
      durationSecs: number | null;
      errorCode: number | null;
      opaque: string | null;
    };

/** `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the app secret>`, compared in constant time. */
export function verifySignature(rawBody: Buffer, header: string | string[] | undefined, appSecret: string): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || !appSecret) return false;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(value.trim());
  if (!match) return false;
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(match[1]!.toLowerCase(), 'hex'), expected);
}

/** The GET handshake Meta makes when the webhook URL is saved in the app dashboard. */
export function answerHandshake(query: Record<string, string>, verifyToken: string): CallbackResponse {
  const given = query['hub.verify_token'] ?? '';
  if (query['hub.mode'] !== 'subscribe' || !verifyToken || !sameSecret(given, verifyToken)) {
    return { status: 403, contentType: 'text/plain', body: 'verify token mismatch' };
  }
  return { status: 200, contentType: 'text/plain', body: query['hub.challenge'] ?? '' };
}

/** Equal-time comparison of two strings of any lengths (hashing first hides the length). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Reads the items the provider acts on; anything else (text messages, pricing, templates) is skipped. */
export function parseWebhook(payload: unknown): WebhookItem[] {
  const items: WebhookItem[] = [];
  if (!isObject(payload) || payload.object !== 'whatsapp_business_account') return items;
  for (const entry of arrayOf(payload.entry)) {
    for (const change of arrayOf(entry.changes)) {
      const value = isObject(change.value) ? change.value : null;
      if (!value) continue;
      const phoneNumberId = isObject(value.metadata) ? text(value.metadata.phone_number_id) : null;
      if (!phoneNumberId) continue;
      if (change.field === 'messages') items.push(...messagesItems(phoneNumberId, value));
      if (change.field === 'calls') items.push(...callsItems(phoneNumberId, value));
    }
  }
  return items;
}

function messagesItems(phoneNumberId: string, value: Record<string, unknown>): WebhookItem[] {
  const items: WebhookItem[] = [];
  for (const message of arrayOf(value.messages)) {
    const interactive = isObject(message.interactive) ? message.interactive : null;
    if (!interactive || interactive.type !== 'call_permission_reply' || !isObject(interactive.call_permission_reply)) continue;
    const from = text(message.from);
    const response = text(interactive.call_permission_reply.response);
    if (!from || !response) continue;
    items.push({
      kind: 'permission_reply',
      phoneNumberId,
      from,
      contextId: isObject(message.context) ? text(message.context.id) : null,
      response,
      timestamp: integer(message.timestamp),
    });
  }
  for (const status of arrayOf(value.statuses)) {
    const messageId = text(status.id);
    const state = text(status.status);
    if (!messageId || !state) continue;
    const error = arrayOf(status.errors)[0];
    items.push({
      kind: 'message_status',
      phoneNumberId,
      messageId,
      status: state,
      errorCode: error ? integer(error.code) : null,
      errorTitle: error ? (text(error.title) ?? text(error.message)) : null,
    });
  }
  return items;
}

function callsItems(phoneNumberId: string, value: Record<string, unknown>): WebhookItem[] {
  const items: WebhookItem[] = [];
  for (const call of arrayOf(value.calls)) {
    const callId = text(call.id);
    if (!callId) continue;
    const opaque = text(call.biz_opaque_callback_data);
    const direction = text(call.direction);
    if (call.event === 'connect') {
      const session = isObject(call.session) ? call.session : null;
      items.push({
        kind: 'call_connect',
        phoneNumberId,
        callId,
        to: text(call.to),
        direction,
        sdpType: session ? text(session.sdp_type) : null,
        sdp: session ? text(session.sdp) : null,
        opaque,
        timestamp: integer(call.timestamp),
      });
    } else if (call.event === 'terminate') {
      // Meta's samples show `status` both as a string and as a one-element list.
      const status = Array.isArray(call.status) ? text(call.status[0]) : text(call.status);
      const error = arrayOf(call.errors)[0] ?? arrayOf(value.errors)[0];
      items.push({
        kind: 'call_terminate',
        phoneNumberId,
        callId,
        direction,
        status,
        durationSecs: integer(call.duration),
        errorCode: error ? integer(error.code) : null,
        opaque,
      });
    }
  }
  for (const status of arrayOf(value.statuses)) {
    const callId = text(status.id);
    const state = text(status.status);
    if (!callId || !state || (status.type !== undefined && status.type !== 'call')) continue;
    items.push({ kind: 'call_status', phoneNumberId, callId, status: state, opaque: text(status.biz_opaque_callback_data) });
  }
  return items;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayOf(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function text(value: unknown): string | null {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** Meta sends timestamps and durations as strings or numbers. */
function integer(value: unknown): number | null {
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(parsed) ? parsed : null;
}

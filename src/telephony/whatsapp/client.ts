/**
 * The four Graph API requests WhatsApp calling needs, each through `CarrierHttp` so the exchange
 * is kept with its attempt (access token and app secret blanked) and an unanswered request is a
 * `CarrierUnansweredError`:
 *
 * - `GET /{phone-number-id}/call_permissions?user_wa_id=…`: may we call this user already?
 * - `POST /{phone-number-id}/messages` (template): the call permission request.
 * - `POST /{phone-number-id}/calls` `action: connect`: start the call with the agent's SDP offer.
 * - `POST /{phone-number-id}/calls` `action: terminate`.
 *
 * A non-2xx answer is a `GraphError` carrying Graph's `{ error: {...} }` body for
 * `classifyGraphError`.
 */
import type { AttemptRef } from '../../domain/types.js';
import type { CarrierHttp, CarrierResponse } from '../carrier-http.js';
import { describeGraphError, type GraphErrorBody } from './status-map.js';

/** A business phone number as the Graph API knows it, with what to blank out of recorded exchanges. */
export interface GraphNumber {
  phoneNumberId: string;
  accessToken: string;
  secrets: string[];
}

export class GraphError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly body: GraphErrorBody | null,
    /** What was being done, for messages: "sending the call permission request". */
    readonly doing: string,
  ) {
    super(`Graph API ${doing}: ${describeGraphError(httpStatus, body)}`);
    this.name = 'GraphError';
  }
}

export interface CallPermissionState {
  /** `no_permission`, `temporary` or `permanent`. */
  status: string;
  /** `actions[start_call].can_perform_action`; true when Meta did not say. */
  canStartCall: boolean;
}

export class GraphClient {
  constructor(
    private readonly http: CarrierHttp,
    /** E.g. `https://graph.facebook.com/v23.0`: with the version, no trailing slash. */
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async callPermission(number: GraphNumber, user: string, attempt: AttemptRef | null): Promise<CallPermissionState> {
    const url = `${this.#numberUrl(number)}/call_permissions?user_wa_id=${encodeURIComponent(user)}`;
    const body = await this.#send(number, 'GET', url, null, attempt, 'looking up the call permission');
    const permission = isObject(body.permission) ? body.permission : {};
    const actions = Array.isArray(body.actions) ? body.actions.filter(isObject) : [];
    const startCall = actions.find((action) => action.action_name === 'start_call');
    return {
      status: typeof permission.status === 'string' ? permission.status : 'no_permission',
      canStartCall: startCall?.can_perform_action !== false,
    };
  }

  /** Sends the call permission request template; resolves with the message id (`wamid.…`). */
  async sendPermissionRequest(number: GraphNumber, to: string, template: { name: string; languageCode: string }, attempt: AttemptRef): Promise<{ messageId: string }> {
    const payload = {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to,
      type: 'template',
      template: { name: template.name, language: { code: template.languageCode } },
    };
    const body = await this.#send(number, 'POST', `${this.#numberUrl(number)}/messages`, payload, attempt, 'sending the call permission request');
    const message = Array.isArray(body.messages) && isObject(body.messages[0]) ? body.messages[0] : null;
    if (!message || typeof message.id !== 'string') throw new GraphError(200, { message: 'answer without messages[0].id' }, 'sending the call permission request');
    return { messageId: message.id };
  }

  /**
   * Starts a call. `opaque` comes back in the call's webhooks (`biz_opaque_callback_data`, at
   * most 512 characters), which is how a call whose connect answer was lost is still recognised.
   */
  async connect(number: GraphNumber, to: string, sdpOffer: string, opaque: string, attempt: AttemptRef): Promise<{ callId: string }> {
    const payload = { messaging_product: 'whatsapp', to, action: 'connect', session: { sdp_type: 'offer', sdp: sdpOffer }, biz_opaque_callback_data: opaque };
    const body = await this.#send(number, 'POST', `${this.#numberUrl(number)}/calls`, payload, attempt, 'starting the call');
    const call = Array.isArray(body.calls) && isObject(body.calls[0]) ? body.calls[0] : null;
    if (!call || typeof call.id !== 'string') throw new GraphError(200, { message: 'answer without calls[0].id' }, 'starting the call');
    return { callId: call.id };
  }

  async terminate(number: GraphNumber, callId: string, attempt: AttemptRef | null): Promise<void> {
    const payload = { messaging_product: 'whatsapp', call_id: callId, action: 'terminate' };
    await this.#send(number, 'POST', `${this.#numberUrl(number)}/calls`, payload, attempt, 'ending the call');
  }

  #numberUrl(number: GraphNumber): string {
    return `${this.baseUrl}/${encodeURIComponent(number.phoneNumberId)}`;
  }

  async #send(number: GraphNumber, method: string, url: string, payload: unknown, attempt: AttemptRef | null, doing: string): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { authorization: `Bearer ${number.accessToken}`, accept: 'application/json' };
    if (payload !== null) headers['content-type'] = 'application/json';
    const response = await this.http.request({
      method,
      url,
      headers,
      body: payload === null ? null : JSON.stringify(payload),
      timeoutMs: this.timeoutMs,
      attempt,
      secrets: number.secrets,
    });
    const body = parseJson(response);
    if (response.status < 200 || response.status >= 300) {
      throw new GraphError(response.status, isObject(body) && isObject(body.error) ? (body.error as GraphErrorBody) : null, doing);
    }
    return isObject(body) ? body : {};
  }
}

function parseJson(response: CarrierResponse): unknown {
  try {
    return JSON.parse(response.body) as unknown;
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

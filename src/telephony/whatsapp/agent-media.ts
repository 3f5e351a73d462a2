/**
 * The agent's side of a WhatsApp call. WhatsApp's Calling API only signals: the business brings
 * a WebRTC peer (ICE, DTLS-SRTP, Opus) and trades SDP through the Graph API. redial holds no
 * media, so the agent's own endpoint (`agent.handoff.sdp_url`) makes the offer and takes the
 * answer. Every request is `POST {sdp_url}` with a JSON body and `content-type: application/json`:
 *
 * 1. `{ "action": "offer", "call": <call>, "dynamic_variables": {...}, "client_data": {...} | null }`
 *    → 200 `{ "sdp": "v=0\r\n…" }`: a WebRTC offer for this call. Sent once the user has granted
 *    permission, just before the call is placed.
 * 2. `{ "action": "answer", "call": <call>, "sdp": "v=0\r\n…" }` → any 2xx: WhatsApp's SDP answer
 *    (from the `connect` webhook), to apply to the peer made in step 1.
 * 3. `{ "action": "terminate", "call": <call>, "reason": "completed" | "<failure reason>" | "hung_up" }`
 *    → any 2xx: the call is over; release the peer. Sent once per call that got an offer.
 *
 * `<call>` is `{ "provider_call_id", "batch_id", "recipient_id", "attempt", "whatsapp_user_id",
 * "whatsapp_call_id" | null }`; `provider_call_id` is the same for all three requests of a call,
 * so the agent can key its peers by it. Any other answer (non-2xx, no `sdp`, no answer within
 * the request timeout) fails the attempt with `provider_error`.
 */
import type { AttemptRef, JsonObject } from '../../domain/types.js';
import type { CarrierHttp } from '../carrier-http.js';

export interface AgentCallRef {
  provider_call_id: string;
  batch_id: string;
  recipient_id: string;
  attempt: number;
  whatsapp_user_id: string;
  whatsapp_call_id: string | null;
}

export class AgentMediaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentMediaError';
  }
}

export class AgentMediaClient {
  constructor(
    private readonly http: CarrierHttp,
    private readonly timeoutMs: number,
  ) {}

  async offer(sdpUrl: string, call: AgentCallRef, clientData: JsonObject | null, attempt: AttemptRef): Promise<string> {
    const dynamicVariables = clientData && isObject(clientData.dynamic_variables) ? clientData.dynamic_variables : {};
    const body = await this.#post(sdpUrl, { action: 'offer', call, dynamic_variables: dynamicVariables, client_data: clientData }, attempt);
    const sdp = isObject(body) ? body.sdp : undefined;
    if (typeof sdp !== 'string' || !sdp.startsWith('v=0')) {
      throw new AgentMediaError(`The agent's SDP endpoint ${sdpUrl} answered the offer request without an SDP offer ({"sdp":"v=0…"}).`);
    }
    return sdp;
  }

  async answer(sdpUrl: string, call: AgentCallRef, sdp: string, attempt: AttemptRef): Promise<void> {
    await this.#post(sdpUrl, { action: 'answer', call, sdp }, attempt);
  }

  async terminate(sdpUrl: string, call: AgentCallRef, reason: string, attempt: AttemptRef | null): Promise<void> {
    await this.#post(sdpUrl, { action: 'terminate', call, reason }, attempt);
  }

  async #post(sdpUrl: string, payload: Record<string, unknown>, attempt: AttemptRef | null): Promise<unknown> {
    const response = await this.http.request({
      method: 'POST',
      url: sdpUrl,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(payload),
      timeoutMs: this.timeoutMs,
      attempt,
      secrets: [],
    });
    if (response.status < 200 || response.status >= 300) {
      throw new AgentMediaError(`The agent's SDP endpoint ${sdpUrl} answered '${String(payload.action)}' with HTTP ${response.status}.`);
    }
    try {
      return response.body ? (JSON.parse(response.body) as unknown) : null;
    } catch {
      return null;
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * WhatsApp Business calling (Meta's Calling API over the Graph API) as a redial provider.
 *
 * One attempt, in order (see README.md in this folder for the whole story):
 * 1. permission: `GET call_permissions`; if the user already lets this number call them, skip to 2.
 *    Otherwise send the call permission request template and wait up to `permissionTimeoutMs`
 *    for the `call_permission_reply` webhook (correlated by business number and user, since a
 *    permission belongs to that pair, not to one request).
 * 2. connecting: ask the agent's SDP endpoint for an offer, report `initiated`, `POST /calls
 *    action: connect`. The call's webhooks carry our provider call id back
 *    (`biz_opaque_callback_data`), so a connect whose answer was lost is still followed.
 * 3. calling: hand the `connect` webhook's SDP answer to the agent; ACCEPTED → `answered`;
 *    REJECTED → `rejected`; `terminate` → the end; no ACCEPTED within `ringingTimeoutSecs` →
 *    `terminate` it ourselves, `no_answer`.
 *
 * `placeCall` resolves once the first write to the Graph API was accepted (the permission
 * request, or the connect when permission was already held): credential and template errors
 * surface there and fail the batch. A write that got no answer in time is never sent again.
 *
 * The provider call id is made by redial, `wa.<batch id>.<seq>.<attempt>`: stable before Meta
 * has said anything, and enough to find the attempt from the id alone (`hangUp` of a call whose
 * process died). The WhatsApp call id (`wacid.…`) is kept in the attempt's provider state.
 */
import type { Logger } from 'pino';
import { coerceError } from '../../domain/errors.js';
import type { FailureReason } from '../../domain/status.js';
import type { AttemptRef, JsonObject, PhoneNumber } from '../../domain/types.js';
import { CarrierHttp, CarrierUnansweredError } from '../carrier-http.js';
import {
  ProviderCallError,
  type CallbackRequest,
  type CallbackResponse,
  type CallEvent,
  type CallLookup,
  type CallTarget,
  type PlaceCallRequest,
  type PlacedCall,
  type Provider,
  type ProviderContext,
} from '../provider.js';
import { AgentMediaClient, AgentMediaError, type AgentCallRef } from './agent-media.js';
import { GraphClient, GraphError, type GraphNumber } from './client.js';
import { classifyGraphError, mapCallSignal, mapMessageFailure, mapPermissionResponse, type GraphFailure } from './status-map.js';
import { answerHandshake, parseWebhook, verifySignature, type WebhookItem } from './webhook.js';

export interface WhatsAppProviderOptions {
  /** The Graph API base with its version and no trailing slash, e.g. `https://graph.facebook.com/v23.0`. */
  graphApiUrl: string;
  /** How long a user has to answer the call permission request before the attempt fails `permission_timeout`. */
  permissionTimeoutMs: number;
  /** How long one request to the Graph API or the agent's SDP endpoint may take. Default 10 s. */
  requestTimeoutMs?: number;
}

export function createWhatsAppProvider(context: ProviderContext, options: WhatsAppProviderOptions): Provider {
  return new WhatsAppProvider(context, options);
}

/** Where Meta must post this number's webhooks (set it as the app's callback URL in the app dashboard). */
export function whatsappWebhookUrl(publicUrl: string, phoneNumberId: string): string {
  return `${publicUrl}/v1/redial/callbacks/whatsapp/${encodeURIComponent(phoneNumberId)}`;
}

const defaultRequestTimeoutMs = 10_000;
/**
 * After a connect that got no answer, how long past the ringing timeout the call's webhooks may
 * still name it before the attempt ends `dispatch_uncertain`.
 */
const uncertainConnectGraceMs = 30_000;
/** A permission reply stamped this much before our request answers an earlier one (or is a replay). */
const replySkewSecs = 60;
/** Ids of calls that ended here, so late webhooks for them are recognised and ignored. */
const recentlyEndedLimit = 10_000;

type Phase = 'permission' | 'connecting' | 'calling' | 'ended';
type EndedEvent = CallEvent & { kind: 'ended' };

interface WhatsAppNumber extends GraphNumber {
  appSecret: string;
}

interface LiveCall {
  ref: AttemptRef;
  target: CallTarget;
  providerCallId: string;
  number: WhatsAppNumber;
  /** The user's WhatsApp id, digits only when it is a phone number. */
  user: string;
  sdpUrl: string;
  ringingTimeoutMs: number;
  phase: Phase;
  /** When the permission request went out (for an adopted attempt: when it was dialed). */
  askedAt: number;
  messageId: string | null;
  /** The permission request got no answer in time: it may or may not have reached the user. */
  requestUncertain: boolean;
  callId: string | null;
  /** The connect got no answer in time: only the call's webhooks can tell us its id. */
  connectUncertain: boolean;
  answered: boolean;
  /** The agent made an offer for this call, so it must hear `terminate`. */
  offered: boolean;
  answerForwarded: boolean;
  timer: NodeJS.Timeout | null;
  /** The end's side effects (terminate, agent notice), for `hangUp` to wait on. */
  ending: Promise<void> | null;
}

class WhatsAppProvider implements Provider {
  readonly name = 'whatsapp';
  readonly #context: ProviderContext;
  readonly #options: WhatsAppProviderOptions;
  readonly #log: Logger;
  readonly #graph: GraphClient;
  readonly #agent: AgentMediaClient;
  readonly #calls = new Map<string, LiveCall>();
  readonly #byCallId = new Map<string, LiveCall>();
  /** Attempts waiting for a permission reply, by `<business phone number id>:<user>`. */
  readonly #awaiting = new Map<string, Set<LiveCall>>();
  readonly #recentlyEnded = new Set<string>();
  /**
   * Attempts that ended while their connect was unanswered: Meta may have placed the call, and
   * nobody knows its id. If a webhook names one (by our opaque id) before the grace runs out, the
   * call is ended there.
   */
  readonly #unclaimed = new Map<string, { number: WhatsAppNumber; ref: AttemptRef; timer: NodeJS.Timeout }>();
  #closed = false;

  constructor(context: ProviderContext, options: WhatsAppProviderOptions) {
    this.#context = context;
    this.#options = options;
    this.#log = context.logger.child({ provider: 'whatsapp' });
    const http = new CarrierHttp('whatsapp', context.sink, context.clock);
    const timeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
    this.#graph = new GraphClient(http, options.graphApiUrl.replace(/\/+$/, ''), timeoutMs);
    this.#agent = new AgentMediaClient(http, timeoutMs);
  }

  async placeCall(request: PlaceCallRequest): Promise<{ providerCallId: string }> {
    const template = templateOf(request);
    const call = liveCallOf(request, this.#context.clock.now());
    if (this.#calls.has(call.providerCallId)) return { providerCallId: call.providerCallId };
    this.#calls.set(call.providerCallId, call);
    try {
      if (await this.#permissionHeld(call)) await this.#connect(call);
      else await this.#askPermission(call, template);
    } catch (error) {
      void this.#end(call, null, 'not_placed');
      throw this.#refusal(error, call, template);
    }
    return { providerCallId: call.providerCallId };
  }

  async hangUp(target: { providerCallId: string }): Promise<void> {
    const call = this.#calls.get(target.providerCallId);
    if (call) {
      await this.#end(call, null, 'hung_up');
      return;
    }
    if (this.#recentlyEnded.has(target.providerCallId)) return;
    // Not followed here: its process died (the API hangs up orphaned calls of a cancelled batch).
    const ref = parseProviderCallId(target.providerCallId);
    const placed = ref ? await this.#context.directory.attempt(ref) : null;
    const callId = placed?.providerState?.call_id;
    if (!placed || placed.providerCallId !== target.providerCallId || typeof callId !== 'string') return;
    const number = numberOf(placed.phoneNumber);
    if (typeof number === 'string') return;
    this.#markEnded(target.providerCallId, callId);
    await this.#terminate(number, callId, placed, { quiet: false });
  }

  /**
   * After a crash: a call with a WhatsApp call id is ended (nobody holds its signalling any more;
   * answered → `completed`, else `unknown`, i.e. `dispatch_uncertain`). A connect whose id never
   * came back is `unknown`. An attempt still waiting for permission is adopted: Meta allows one
   * permission request a day per user, so waiting on beats asking again.
   */
  async lookUp(placed: PlacedCall): Promise<CallLookup> {
    const live = this.#calls.get(placed.providerCallId);
    if (live) return { kind: 'live', answered: live.answered };
    const state = placed.providerState;
    const number = numberOf(placed.phoneNumber);
    if (typeof number === 'string') return { kind: 'unknown' };
    const callId = typeof state?.call_id === 'string' ? state.call_id : null;
    if (callId) {
      this.#markEnded(placed.providerCallId, callId);
      await this.#terminate(number, callId, placed, { quiet: true });
      return state?.phase === 'answered' ? { kind: 'ended', event: { kind: 'ended', outcome: 'completed' }, at: this.#context.clock.now() } : { kind: 'unknown' };
    }
    if (state !== null) return { kind: 'unknown' };
    return this.#adopt(placed);
  }

  async handleCallback(request: CallbackRequest): Promise<CallbackResponse> {
    const match = /^\/([^/]+)\/?$/.exec(request.path);
    if (!match) return { status: 404, contentType: 'text/plain', body: 'expected /v1/redial/callbacks/whatsapp/<phone number id>' };
    const phone = await this.#context.directory.phoneNumber(decodeURIComponent(match[1]!));
    const secrets = phone?.provider === 'whatsapp' ? phone.secrets : null;
    if (request.method === 'GET') return answerHandshake(request.query, stringOf(secrets?.webhook_verify_token));
    if (request.method !== 'POST') return { status: 405, contentType: 'text/plain', body: 'GET or POST' };
    const appSecret = stringOf(secrets?.app_secret);
    if (!appSecret || !verifySignature(request.rawBody, request.headers['x-hub-signature-256'], appSecret)) {
      this.#log.warn({ path: request.path }, 'whatsapp:webhook:refused');
      return { status: 403, contentType: 'text/plain', body: 'signature mismatch' };
    }
    let payload: unknown;
    try {
      payload = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      return { status: 400, contentType: 'text/plain', body: 'body is not JSON' };
    }
    for (const item of parseWebhook(payload)) this.#apply(item, appSecret);
    return { status: 200 };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const call of this.#calls.values()) {
      if (call.timer) clearTimeout(call.timer);
      // No terminate: the attempt's lease is given back and the next process reconciles it.
      call.phase = 'ended';
    }
    for (const unclaimed of this.#unclaimed.values()) clearTimeout(unclaimed.timer);
    this.#calls.clear();
    this.#byCallId.clear();
    this.#awaiting.clear();
    this.#unclaimed.clear();
  }

  // ---- permission

  async #permissionHeld(call: LiveCall): Promise<boolean> {
    try {
      const state = await this.#graph.callPermission(call.number, call.user, call.ref);
      const held = state.status === 'temporary' || state.status === 'permanent';
      if (held && !state.canStartCall) {
        throw new ProviderCallError(
          `WhatsApp does not let this number call user ${call.user} now (call_permissions: start_call not allowed, a daily limit); a later retry may succeed.`,
          'provider_error',
        );
      }
      return held;
    } catch (error) {
      if (error instanceof ProviderCallError) throw error;
      if (error instanceof GraphError && classifyGraphError(error.httpStatus, error.body, { doing: error.doing, phoneNumberId: call.number.phoneNumberId }).failsBatch) {
        throw error;
      }
      // A failed lookup is no reason to fail the attempt: asking for permission works either way.
      this.#log.info({ err: coerceError(error), providerCallId: call.providerCallId }, 'whatsapp:permission:lookup_failed');
      return false;
    }
  }

  async #askPermission(call: LiveCall, template: { name: string; languageCode: string }): Promise<void> {
    call.phase = 'permission';
    call.askedAt = this.#context.clock.now();
    // Listed before the request goes out: the reply may come before the request's answer does.
    this.#awaitReply(call);
    try {
      call.messageId = (await this.#graph.sendPermissionRequest(call.number, call.user, template, call.ref)).messageId;
    } catch (error) {
      if (!(error instanceof CarrierUnansweredError && error.mayHaveActed)) throw error;
      // Never sent again: it may have reached the user, whose reply still counts.
      call.requestUncertain = true;
      this.#log.warn({ providerCallId: call.providerCallId }, 'whatsapp:permission:request_unanswered');
    }
    if (call.phase === 'permission') this.#arm(call, this.#options.permissionTimeoutMs, () => this.#permissionTimedOut(call));
  }

  #permissionTimedOut(call: LiveCall): void {
    if (call.phase !== 'permission') return;
    void this.#end(call, failed(call.requestUncertain ? 'dispatch_uncertain' : 'permission_timeout'), 'permission_timeout');
  }

  #onPermissionReply(item: Extract<WebhookItem, { kind: 'permission_reply' }>, appSecret: string): void {
    const waiting = this.#awaiting.get(pairKey(item.phoneNumberId, normaliseUser(item.from)));
    if (!waiting) return;
    const mapped = mapPermissionResponse(item.response);
    for (const call of [...waiting]) {
      if (call.number.appSecret !== appSecret || !replyAnswers(item, call)) continue;
      if ('failed' in mapped) {
        this.#log.warn({ response: item.response, providerCallId: call.providerCallId }, 'whatsapp:permission:unknown_response');
        void this.#end(call, failed(mapped.failed), 'provider_error');
      } else if (!mapped.granted) {
        void this.#end(call, failed('permission_declined'), 'permission_declined');
      } else {
        if (call.timer) clearTimeout(call.timer);
        this.#stopAwaiting(call);
        this.#connect(call).catch((error: unknown) => this.#failAfterPlacing(call, error));
      }
    }
  }

  #onMessageStatus(item: Extract<WebhookItem, { kind: 'message_status' }>, appSecret: string): void {
    if (item.status !== 'failed') return;
    for (const waiting of this.#awaiting.values()) {
      for (const call of waiting) {
        if (call.messageId !== item.messageId || call.number.appSecret !== appSecret) continue;
        const failure = mapMessageFailure(item.errorCode, item.errorTitle, call.number.phoneNumberId);
        this.#log.info({ providerCallId: call.providerCallId, errorCode: item.errorCode, reason: failure.reason }, `whatsapp:permission:undelivered: ${failure.message}`);
        void this.#end(call, failed(failure.reason), failure.reason);
      }
    }
  }

  /** Takes over an attempt still waiting for permission from a process that is gone. */
  async #adopt(placed: PlacedCall): Promise<CallLookup> {
    let call: LiveCall;
    try {
      call = liveCallOf(placed, placed.dialedAt);
    } catch {
      return { kind: 'unknown' };
    }
    this.#calls.set(call.providerCallId, call);
    let held = false;
    try {
      const state = await this.#graph.callPermission(call.number, call.user, call.ref);
      held = (state.status === 'temporary' || state.status === 'permanent') && state.canStartCall;
    } catch (error) {
      this.#log.info({ err: coerceError(error), providerCallId: call.providerCallId }, 'whatsapp:permission:lookup_failed');
    }
    if (call.phase === 'ended') return { kind: 'unknown' };
    if (held) {
      this.#connect(call).catch((error: unknown) => this.#failAfterPlacing(call, error));
      return { kind: 'live', answered: false };
    }
    const deadline = placed.dialedAt + this.#options.permissionTimeoutMs;
    const remaining = deadline - this.#context.clock.now();
    if (remaining <= 0) {
      void this.#end(call, null, 'permission_timeout');
      return { kind: 'ended', event: failed('permission_timeout'), at: deadline };
    }
    call.phase = 'permission';
    this.#awaitReply(call);
    this.#arm(call, remaining, () => this.#permissionTimedOut(call));
    return { kind: 'live', answered: false };
  }

  // ---- the call

  async #connect(call: LiveCall): Promise<void> {
    call.phase = 'connecting';
    const sdp = await this.#agent.offer(call.sdpUrl, agentRef(call), call.target.clientData, call.ref);
    call.offered = true;
    if (call.phase !== 'connecting') {
      // Hung up (or closed) while the agent was making its offer.
      void this.#tellAgent(call, 'hung_up');
      return;
    }
    this.#report(call, [{ kind: 'initiated' }]);
    try {
      const { callId } = await this.#graph.connect(call.number, call.user, sdp, call.providerCallId, call.ref);
      this.#learnCallId(call, callId);
    } catch (error) {
      if (!(error instanceof CarrierUnansweredError && error.mayHaveActed)) throw error;
      // Never sent again: Meta may have placed the call, and its webhooks name it by our id.
      call.connectUncertain = true;
      this.#log.warn({ providerCallId: call.providerCallId }, 'whatsapp:call:connect_unanswered');
      if (call.phase === 'connecting' && call.callId === null) {
        this.#arm(call, call.ringingTimeoutMs + uncertainConnectGraceMs, () => {
          if (call.callId === null) void this.#end(call, failed('dispatch_uncertain'), 'dispatch_uncertain');
        });
      }
    }
  }

  #learnCallId(call: LiveCall, callId: string): void {
    if (call.callId !== null) return;
    call.callId = callId;
    if (call.phase === 'ended') {
      // Hung up while the connect was under way: now that the call has an id, end it.
      this.#markEnded(call.providerCallId, callId);
      void this.#terminate(call.number, callId, call.ref, { quiet: true });
      return;
    }
    this.#byCallId.set(callId, call);
    call.phase = 'calling';
    this.#report(call, [{ kind: 'initiated' }]);
    if (!call.answered) this.#arm(call, call.ringingTimeoutMs, () => this.#ringingTimedOut(call));
  }

  #ringingTimedOut(call: LiveCall): void {
    if (call.phase !== 'calling' || call.answered) return;
    void this.#end(call, failed('no_answer'), 'no_answer');
  }

  #onCallConnect(item: Extract<WebhookItem, { kind: 'call_connect' }>, appSecret: string): void {
    if (item.direction !== null && item.direction !== 'BUSINESS_INITIATED') return;
    const call = this.#callFor(item.callId, item.opaque, appSecret) ?? this.#uncertainConnectTo(item, appSecret);
    if (!call) return this.#claim(item.callId, item.opaque, appSecret, { live: true });
    this.#learnCallId(call, item.callId);
    if (call.phase !== 'calling' || call.answerForwarded || !item.sdp || (item.sdpType !== null && item.sdpType !== 'answer')) return;
    call.answerForwarded = true;
    this.#agent.answer(call.sdpUrl, agentRef(call), item.sdp, call.ref).catch((error: unknown) => {
      this.#log.warn({ err: coerceError(error), providerCallId: call.providerCallId }, 'whatsapp:agent:answer_failed');
      void this.#end(call, failed('provider_error'), 'provider_error');
    });
  }

  #onCallStatus(item: Extract<WebhookItem, { kind: 'call_status' }>, appSecret: string): void {
    const call = this.#callFor(item.callId, item.opaque, appSecret);
    if (!call) return this.#claim(item.callId, item.opaque, appSecret, { live: item.status.toUpperCase() !== 'REJECTED' });
    this.#learnCallId(call, item.callId);
    if (call.phase !== 'calling') return;
    const { event, known } = mapCallSignal({ kind: 'status', status: item.status }, call.answered);
    if (!known) this.#log.warn({ status: item.status, providerCallId: call.providerCallId }, 'whatsapp:call:unknown_status');
    if (event?.kind === 'answered' && !call.answered) {
      call.answered = true;
      if (call.timer) clearTimeout(call.timer);
      this.#report(call, [event]);
    } else if (event?.kind === 'ended') {
      // REJECTED is followed by Meta's own terminate; an unknown status is ended here to be safe.
      void this.#end(call, event, endReason(event), { terminate: !known });
    }
  }

  #onCallTerminate(item: Extract<WebhookItem, { kind: 'call_terminate' }>, appSecret: string): void {
    if (item.direction !== null && item.direction !== 'BUSINESS_INITIATED') return;
    const call = this.#callFor(item.callId, item.opaque, appSecret);
    if (!call) return this.#claim(item.callId, item.opaque, appSecret, { live: false });
    this.#learnCallId(call, item.callId);
    if (call.phase !== 'calling') return;
    const { event, known } = mapCallSignal({ kind: 'terminate', status: item.status, durationSecs: item.durationSecs, errorCode: item.errorCode }, call.answered);
    if (!known) this.#log.warn({ status: item.status, providerCallId: call.providerCallId }, 'whatsapp:call:unknown_terminate_status');
    if (event?.kind === 'ended') void this.#end(call, event, endReason(event), { terminate: false });
  }

  /** The call a webhook names, by WhatsApp call id or by the provider call id we gave as opaque data. */
  #callFor(callId: string, opaque: string | null, appSecret: string): LiveCall | null {
    const call = this.#byCallId.get(callId) ?? (opaque ? this.#calls.get(opaque) : undefined);
    // Only the app that placed the call may speak for it; and opaque data naming our attempt on another call is not ours.
    if (!call || call.number.appSecret !== appSecret || (call.callId !== null && call.callId !== callId)) return null;
    return call;
  }

  /** A webhook names a call whose attempt ended while its connect was unanswered: end the call if it is still live. */
  #claim(callId: string, opaque: string | null, appSecret: string, options: { live: boolean }): void {
    const unclaimed = opaque ? this.#unclaimed.get(opaque) : undefined;
    if (!opaque || !unclaimed || unclaimed.number.appSecret !== appSecret) return;
    clearTimeout(unclaimed.timer);
    this.#unclaimed.delete(opaque);
    this.#markEnded(opaque, callId);
    if (options.live) void this.#terminate(unclaimed.number, callId, unclaimed.ref, { quiet: true });
  }

  /** A connect webhook without our opaque data, for a call whose connect got no answer: matched by number and user. */
  #uncertainConnectTo(item: Extract<WebhookItem, { kind: 'call_connect' }>, appSecret: string): LiveCall | null {
    if (!item.to) return null;
    const user = normaliseUser(item.to);
    for (const call of this.#calls.values()) {
      if (call.phase === 'connecting' && call.connectUncertain && call.callId === null && call.user === user && call.number.phoneNumberId === item.phoneNumberId && call.number.appSecret === appSecret) {
        return call;
      }
    }
    return null;
  }

  #apply(item: WebhookItem, appSecret: string): void {
    if (this.#closed) return;
    switch (item.kind) {
      case 'permission_reply':
        return this.#onPermissionReply(item, appSecret);
      case 'message_status':
        return this.#onMessageStatus(item, appSecret);
      case 'call_connect':
        return this.#onCallConnect(item, appSecret);
      case 'call_status':
        return this.#onCallStatus(item, appSecret);
      case 'call_terminate':
        return this.#onCallTerminate(item, appSecret);
    }
  }

  // ---- ending

  /**
   * Ends the attempt here: reports `event` (none for a hang-up or a refused dial, which the
   * engine records itself), ends the WhatsApp call if one exists and Meta has not ended it, and
   * tells the agent. Only the first end counts.
   */
  #end(call: LiveCall, event: EndedEvent | null, agentReason: string, options: { terminate: boolean; failsBatch?: string } = { terminate: true }): Promise<void> {
    if (call.phase === 'ended') return call.ending ?? Promise.resolve();
    call.phase = 'ended';
    if (call.timer) clearTimeout(call.timer);
    this.#stopAwaiting(call);
    this.#calls.delete(call.providerCallId);
    if (call.callId) this.#byCallId.delete(call.callId);
    this.#markEnded(call.providerCallId, call.callId);
    if (call.connectUncertain && call.callId === null) {
      const timer = setTimeout(() => this.#unclaimed.delete(call.providerCallId), call.ringingTimeoutMs + uncertainConnectGraceMs);
      this.#unclaimed.set(call.providerCallId, { number: call.number, ref: call.ref, timer });
    }
    if (event) this.#report(call, [event], options.failsBatch);
    const terminate = options.terminate && call.callId ? this.#terminate(call.number, call.callId, call.ref, { quiet: true }) : Promise.resolve();
    call.ending = Promise.all([terminate, call.offered ? this.#tellAgent(call, agentReason) : undefined]).then(() => undefined);
    return call.ending;
  }

  #failAfterPlacing(call: LiveCall, error: unknown): void {
    const failure = this.#failureOf(error, call, null);
    (failure.failsBatch ? this.#log.error : this.#log.info).call(this.#log, { providerCallId: call.providerCallId, reason: failure.reason }, `whatsapp:call:failed: ${failure.message}`);
    // A token revoked after the permission request fails every call of the batch alike.
    void this.#end(call, failed(failure.reason), failure.reason, { terminate: true, ...(failure.failsBatch ? { failsBatch: failure.message } : {}) });
  }

  /**
   * Ends a WhatsApp call. `quiet` swallows every failure (logged); otherwise only Graph's
   * refusals that mean the call is already over (a 4xx other than credentials) are swallowed.
   */
  async #terminate(number: WhatsAppNumber, callId: string, ref: AttemptRef | null, options: { quiet: boolean }): Promise<void> {
    try {
      await this.#graph.terminate(number, callId, ref);
    } catch (error) {
      const failure = error instanceof GraphError ? classifyGraphError(error.httpStatus, error.body, { doing: error.doing, phoneNumberId: number.phoneNumberId }) : null;
      const alreadyOver = failure !== null && !failure.failsBatch && error instanceof GraphError && error.httpStatus < 500 && error.httpStatus !== 429;
      this.#log[alreadyOver ? 'debug' : 'warn']({ err: coerceError(error), callId }, 'whatsapp:call:terminate_failed');
      if (!options.quiet && !alreadyOver) throw error;
    }
  }

  async #tellAgent(call: LiveCall, reason: string): Promise<void> {
    try {
      await this.#agent.terminate(call.sdpUrl, agentRef(call), reason, call.ref);
    } catch (error) {
      this.#log.warn({ err: coerceError(error), providerCallId: call.providerCallId }, 'whatsapp:agent:terminate_failed');
    }
  }

  #markEnded(providerCallId: string, callId: string | null): void {
    if (this.#recentlyEnded.size >= recentlyEndedLimit) {
      // Sets iterate in insertion order: drop the oldest half.
      let drop = recentlyEndedLimit / 2;
      for (const id of this.#recentlyEnded) {
        if (drop-- <= 0) break;
        this.#recentlyEnded.delete(id);
      }
    }
    this.#recentlyEnded.add(providerCallId);
    if (callId) this.#recentlyEnded.add(callId);
  }

  // ---- helpers

  #awaitReply(call: LiveCall): void {
    const key = pairKey(call.number.phoneNumberId, call.user);
    const set = this.#awaiting.get(key) ?? new Set<LiveCall>();
    set.add(call);
    this.#awaiting.set(key, set);
  }

  #stopAwaiting(call: LiveCall): void {
    const key = pairKey(call.number.phoneNumberId, call.user);
    const set = this.#awaiting.get(key);
    if (!set) return;
    set.delete(call);
    if (set.size === 0) this.#awaiting.delete(key);
  }

  #arm(call: LiveCall, ms: number, fire: () => void): void {
    if (call.timer) clearTimeout(call.timer);
    call.timer = setTimeout(fire, Math.max(0, ms));
  }

  #report(call: LiveCall, events: CallEvent[], failsBatch?: string): void {
    if (this.#closed) return;
    const at = this.#context.clock.now();
    const providerState = stateOf(call);
    this.#context.sink.report(events.map((event) => ({ ...call.ref, providerCallId: call.providerCallId, event, at, providerState, ...(failsBatch ? { failsBatch } : {}) })));
  }

  #refusal(error: unknown, call: LiveCall, template: { name: string; languageCode: string }): ProviderCallError {
    if (error instanceof ProviderCallError) return error;
    const failure = this.#failureOf(error, call, template);
    return new ProviderCallError(failure.message, failure.reason, { cause: error, failsBatch: failure.failsBatch });
  }

  #failureOf(error: unknown, call: LiveCall, template: { name: string; languageCode: string } | null): GraphFailure {
    if (error instanceof ProviderCallError) return { reason: error.reason, failsBatch: error.failsBatch, message: error.message };
    if (error instanceof GraphError) {
      return classifyGraphError(error.httpStatus, error.body, { doing: error.doing, phoneNumberId: call.number.phoneNumberId, ...(template ? { template } : {}) });
    }
    if (error instanceof CarrierUnansweredError || error instanceof AgentMediaError) return { reason: 'provider_error', failsBatch: false, message: error.message };
    return { reason: 'provider_error', failsBatch: false, message: `WhatsApp call failed: ${coerceError(error).message}` };
  }
}

/** `wa.<batch id>.<seq>.<attempt>`; see the file's header. */
export function whatsappProviderCallId(target: { batchId: string; seq: number; attemptNumber: number }): string {
  return `wa.${target.batchId}.${target.seq}.${target.attemptNumber}`;
}

function parseProviderCallId(id: string): { batchId: string; seq: number; attemptNumber: number } | null {
  const match = /^wa\.(.+)\.(\d{1,9})\.(\d{1,6})$/.exec(id);
  return match ? { batchId: match[1]!, seq: Number(match[2]), attemptNumber: Number(match[3]) } : null;
}

/** Builds the attempt's record, or refuses with a message that says what to fix. */
function liveCallOf(request: PlaceCallRequest, askedAt: number): LiveCall {
  if (!request.phoneNumber) {
    throw new ProviderCallError('The batch has no phone number: WhatsApp calls go out from a phone number with provider "whatsapp".', 'provider_error', { failsBatch: true });
  }
  const number = numberOf(request.phoneNumber);
  if (typeof number === 'string') throw new ProviderCallError(number, 'provider_error', { failsBatch: true });
  const sdpUrl = request.agent.handoff?.sdpUrl;
  if (!sdpUrl) {
    throw new ProviderCallError(
      `Agent '${request.agent.id}' has no handoff.sdp_url: WhatsApp calls need the agent's SDP endpoint to make the WebRTC offer. Set handoff.sdp_url on the agent.`,
      'provider_error',
      { failsBatch: true },
    );
  }
  const user = request.whatsappUserId ? normaliseUser(request.whatsappUserId) : '';
  if (!user) throw new ProviderCallError(`Recipient '${request.recipientId}' has no whatsapp_user_id to call.`, 'invalid_number');
  const ref: AttemptRef = { batchKey: request.batchKey, seq: request.seq, attemptNumber: request.attemptNumber };
  return {
    ref,
    target: request,
    providerCallId: whatsappProviderCallId(request),
    number,
    user,
    sdpUrl,
    ringingTimeoutMs: Math.round(request.ringingTimeoutSecs * 1000),
    phase: 'permission',
    askedAt,
    messageId: null,
    requestUncertain: false,
    callId: null,
    connectUncertain: false,
    answered: false,
    offered: false,
    answerForwarded: false,
    timer: null,
    ending: null,
  };
}

function templateOf(request: PlaceCallRequest): { name: string; languageCode: string } {
  const params = request.whatsappParams;
  const name = params?.whatsapp_call_permission_request_template_name;
  const languageCode = params?.whatsapp_call_permission_request_template_language_code;
  if (!name || !languageCode) {
    throw new ProviderCallError(
      'WhatsApp calls need whatsapp_params with whatsapp_call_permission_request_template_name and whatsapp_call_permission_request_template_language_code (an approved call permission request template).',
      'provider_error',
      { failsBatch: true },
    );
  }
  return { name, languageCode };
}

/** The phone number's Graph credentials, or what is missing. */
function numberOf(phone: PhoneNumber | null): WhatsAppNumber | string {
  if (!phone) return 'The batch has no phone number.';
  const phoneNumberId = stringOf(phone.config.whatsapp_phone_number_id);
  const accessToken = stringOf(phone.secrets.access_token);
  const appSecret = stringOf(phone.secrets.app_secret);
  const missing = [!phoneNumberId && 'whatsapp_phone_number_id', !accessToken && 'access_token', !appSecret && 'app_secret'].filter(Boolean);
  if (missing.length > 0) return `Phone number '${phone.id}' lacks ${missing.join(', ')}; WhatsApp calls need all three. Update the phone number.`;
  const secrets = [accessToken, appSecret, stringOf(phone.secrets.webhook_verify_token)].filter((secret) => secret.length > 0);
  return { phoneNumberId, accessToken, appSecret, secrets };
}

/** What a process that reclaims the attempt needs: which number, which user, and the call's id once it has one. */
function stateOf(call: LiveCall): JsonObject {
  const phase = call.phase === 'calling' && call.answered ? 'answered' : call.phase;
  return {
    phase,
    phone_number_id: call.number.phoneNumberId,
    user: call.user,
    message_id: call.messageId,
    call_id: call.callId,
  };
}

function agentRef(call: LiveCall): AgentCallRef {
  return {
    provider_call_id: call.providerCallId,
    batch_id: call.target.batchId,
    recipient_id: call.target.recipientId,
    attempt: call.target.attemptNumber,
    whatsapp_user_id: call.user,
    whatsapp_call_id: call.callId,
  };
}

/**
 * Whether a permission reply answers this attempt's request. A reply naming our request does;
 * otherwise it must not predate the request (an older reply, or a replay of one).
 */
function replyAnswers(reply: { contextId: string | null; timestamp: number | null }, call: LiveCall): boolean {
  if (reply.contextId !== null && reply.contextId === call.messageId) return true;
  return reply.timestamp === null || reply.timestamp >= Math.floor(call.askedAt / 1000) - replySkewSecs;
}

/** What the agent is told in `terminate`: the outcome, or the failure reason. */
function endReason(event: EndedEvent): string {
  return event.outcome === 'failed' ? event.reason : event.outcome;
}

function failed(reason: FailureReason): EndedEvent {
  return { kind: 'ended', outcome: 'failed', reason };
}

function pairKey(phoneNumberId: string, user: string): string {
  return `${phoneNumberId}:${user}`;
}

/** WhatsApp ids of phone numbers are the digits without `+`; other ids (business-scoped user ids) are kept as given. */
function normaliseUser(id: string): string {
  const trimmed = id.trim();
  return /^\+?[\d\s().-]+$/.test(trimmed) ? trimmed.replace(/\D/g, '') : trimmed;
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * Twilio: calls are created with the official `twilio` library over REST, and followed through
 * the status callbacks Twilio posts to `/v1/redial/callbacks/twilio/…` (signed with the account's
 * auth token; an unsigned or forged one is refused and changes nothing).
 *
 * A create that got no answer may still have made a call, so it is never sent again: the attempt
 * waits for that call's first callback, and failing that, looks it up by To/From/start time; only
 * when that finds nothing does it end `dispatch_uncertain`.
 */
import type { Logger } from 'pino';
import twilio from 'twilio';
import type { AttemptRef, JsonObject, PhoneNumber } from '../../domain/types.js';
import { CarrierHttp, CarrierUnansweredError, classifyHttpStatus, inboundExchange } from '../carrier-http.js';
import {
  attemptCallbackUrl,
  parseAttemptCallbackPath,
  ProviderCallError,
  type CallbackRequest,
  type CallbackResponse,
  type CallEvent,
  type CallLookup,
  type PlaceCallRequest,
  type PlacedCall,
  type Provider,
  type ProviderContext,
} from '../provider.js';
import { TwilioHttpClient } from './http-client.js';
import { isInvalidDestinationError, isMachine, twilioCallEvent } from './status-map.js';
import { twimlFor } from './twiml.js';

export interface TwilioProviderOptions {
  /** `--twilio-api-url`: https://api.twilio.com, or a regional edge, or a test double. */
  apiUrl: string;
  requestTimeoutMs: number;
  /** After a create that got no answer, how long to wait for the call's first callback before looking it up. */
  unansweredCreateWaitMs?: number;
}

interface Credentials {
  accountSid: string;
  username: string;
  password: string;
  /** Signs Twilio's callbacks: the account's auth token (an API key's secret does not). */
  signingToken: string | null;
}

/**
 * A create in flight. Its call's callbacks may come before the create's answer, or instead of
 * it: the first one's call sid is kept, and handed to whoever waits for it after a create that
 * got no answer.
 */
interface PendingCreate {
  sid: string | null;
  /** Set while a create that got no answer waits for its first callback; '' when closing. */
  notify: ((sid: string) => void) | null;
}

/** Calls this process follows, by call sid: what hanging up needs. */
interface FollowedCall {
  phoneNumber: PhoneNumber;
  ref: AttemptRef;
}

const callbackEvents = ['initiated', 'ringing', 'answered', 'completed'];
const machineDetectionModes = { enable: 'Enable', detect_message_end: 'DetectMessageEnd' } as const;

export function createTwilioProvider(context: ProviderContext, options: TwilioProviderOptions): Provider {
  return new TwilioProvider(context, options);
}

class TwilioProvider implements Provider {
  readonly name = 'twilio';
  readonly #context: ProviderContext;
  readonly #options: TwilioProviderOptions;
  readonly #http: CarrierHttp;
  readonly #log: Logger;
  // Bounded: with callbacks going to another process, this one never sees most of its calls end.
  readonly #followed = new BoundedMap<string, FollowedCall>(20_000);
  readonly #seenCallbacks = new RecentlySeen();
  /** Machine answers seen by this process, by call sid: the store may not have the AMD result yet when `completed` comes. */
  readonly #machineAnswers = new BoundedMap<string, string>(20_000);
  readonly #pendingCreates = new Map<string, PendingCreate>();

  constructor(context: ProviderContext, options: TwilioProviderOptions) {
    this.#context = context;
    this.#options = options;
    this.#http = new CarrierHttp('twilio', context.sink, context.clock);
    this.#log = context.logger.child({ provider: 'twilio' });
  }

  async placeCall(request: PlaceCallRequest): Promise<{ providerCallId: string }> {
    const publicUrl = this.#context.publicUrl;
    if (publicUrl === null) {
      throw new ProviderCallError('Twilio calls need --public-url (REDIAL_PUBLIC_URL): Twilio reports on each call by calling this server back there.', 'provider_error', {
        failsBatch: true,
      });
    }
    const phoneNumber = request.phoneNumber;
    if (!phoneNumber) throw new ProviderCallError('the batch has no Twilio phone number to call from', 'provider_error', { failsBatch: true });
    if (!request.to) throw new ProviderCallError('the recipient has no phone number', 'invalid_number');
    const handoff = twimlFor(request);
    if (!handoff) {
      throw new ProviderCallError(
        `agent '${request.agent.id}' has no handoff for Twilio calls; set handoff.stream_url, handoff.sip_uri or handoff.twiml_url on the agent`,
        'provider_error',
        { failsBatch: true },
      );
    }
    const credentials = credentialsOf(phoneNumber);
    const config = request.telephonyCallConfig;
    const amdMode = config.twilio_machine_detection?.mode;
    const params: Record<string, unknown> = {
      to: request.to,
      from: phoneNumber.phoneNumber,
      ...handoff,
      statusCallback: attemptCallbackUrl(publicUrl, 'twilio', 'status', request),
      statusCallbackMethod: 'POST',
      statusCallbackEvent: callbackEvents,
      timeout: request.ringingTimeoutSecs,
      ...(config.twilio_call_recording_enabled ? { record: true } : {}),
      ...(amdMode
        ? {
            machineDetection: machineDetectionModes[amdMode],
            asyncAmd: 'true',
            asyncAmdStatusCallback: attemptCallbackUrl(publicUrl, 'twilio', 'amd', request),
            asyncAmdStatusCallbackMethod: 'POST',
          }
        : {}),
    };
    const dialedAt = this.#context.clock.now();
    const key = attemptKey(request);
    const pending: PendingCreate = { sid: null, notify: null };
    this.#pendingCreates.set(key, pending);
    try {
      const call = await this.#client(credentials, request).calls.create(params as never);
      this.#followed.set(call.sid, { phoneNumber, ref: request });
      return { providerCallId: call.sid };
    } catch (error) {
      if (error instanceof CarrierUnansweredError && error.mayHaveActed) {
        const sid = pending.sid ?? (await this.#findUnansweredCreate(request, pending, credentials, dialedAt));
        this.#followed.set(sid, { phoneNumber, ref: request });
        return { providerCallId: sid };
      }
      throw this.#refusal(error, phoneNumber);
    } finally {
      this.#pendingCreates.delete(key);
    }
  }

  async hangUp(call: { providerCallId: string; phoneNumber?: PhoneNumber | null }): Promise<void> {
    const followed = this.#followed.get(call.providerCallId);
    const phoneNumber = followed?.phoneNumber ?? call.phoneNumber;
    if (!phoneNumber) {
      this.#log.warn({ callSid: call.providerCallId }, 'twilio:hang_up:no_credentials');
      return;
    }
    const client = this.#client(credentialsOf(phoneNumber), followed?.ref ?? null);
    // `completed` ends an answered call and also cancels one still ringing; a call that already
    // ended is left as it is, so hanging up twice is harmless.
    try {
      await client.calls(call.providerCallId).update({ status: 'completed' });
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
    }
    this.#followed.delete(call.providerCallId);
  }

  async lookUp(call: PlacedCall): Promise<CallLookup> {
    if (!call.phoneNumber) return { kind: 'unknown' };
    const client = this.#client(credentialsOf(call.phoneNumber), call);
    const fetched = call.providerCallId
      ? await client
          .calls(call.providerCallId)
          .fetch()
          .catch((error: unknown) => {
            if ((error as { status?: number }).status === 404) return null;
            throw error;
          })
      : null;
    if (!fetched) return { kind: 'unknown' };
    const answeredBy = fetched.answeredBy ?? (call.providerState?.answered_by as string | undefined);
    const { event } = twilioCallEvent({ status: fetched.status, answeredBy });
    if (event?.kind === 'ended') return { kind: 'ended', event, at: fetched.endTime?.getTime() ?? this.#context.clock.now() };
    this.#followed.set(fetched.sid, { phoneNumber: call.phoneNumber, ref: call });
    return { kind: 'live', answered: event?.kind === 'answered' };
  }

  async handleCallback(request: CallbackRequest): Promise<CallbackResponse> {
    const target = parseAttemptCallbackPath(request.path);
    if (!target || request.method !== 'POST' || (target.kind !== 'status' && target.kind !== 'amd')) {
      return { status: 404, contentType: 'text/plain', body: 'no such callback' };
    }
    const params = Object.fromEntries(new URLSearchParams(request.rawBody.toString('utf8')));
    const signature = request.headers['x-twilio-signature'];
    // Unsigned requests are refused before they cost a database read.
    const placed = typeof signature === 'string' ? await this.#context.directory.attempt(target) : null;
    const signingToken = placed?.phoneNumber ? credentialsOf(placed.phoneNumber).signingToken : null;
    if (!placed || !signingToken || typeof signature !== 'string' || !twilio.validateRequest(signingToken, signature, request.publicUrl, params)) {
      this.#log.warn({ path: request.path, signed: typeof signature === 'string' }, 'twilio:callback:refused');
      return { status: 403, contentType: 'text/plain', body: 'signature does not verify' };
    }
    const sid = params.CallSid;
    const token = request.headers['i-twilio-idempotency-token'];
    if (typeof token === 'string' && this.#seenCallbacks.seen(token)) {
      // A replay (Twilio's own retry, or someone resending a captured request): it was handled once.
      return { status: 200, contentType: 'text/plain', body: '' };
    }
    this.#context.sink.recordExchanges([
      inboundExchange(placed, 'twilio', { method: 'POST', url: request.publicUrl, headers: request.headers, body: request.rawBody.toString('utf8') }, 200, this.#context.clock.now()),
    ]);
    if (!sid || (placed.providerCallId && placed.providerCallId !== sid)) {
      // Signed, but for another call than the attempt's: nothing to change.
      return { status: 200, contentType: 'text/plain', body: '' };
    }
    const pending = this.#pendingCreates.get(attemptKey(placed));
    if (pending) {
      pending.sid ??= sid;
      pending.notify?.(sid);
    }
    const at = Number(params.Timestamp ? Date.parse(params.Timestamp) : NaN) || this.#context.clock.now();
    const report = (event: CallEvent, providerState?: JsonObject) =>
      this.#context.sink.report([
        { batchKey: placed.batchKey, seq: placed.seq, attemptNumber: placed.attemptNumber, providerCallId: sid, event, at, ...(providerState ? { providerState } : {}) },
      ]);
    if (target.kind === 'amd') {
      // Kept with the attempt, so that whichever process gets the `completed` callback knows a machine answered.
      if (isMachine(params.AnsweredBy)) {
        this.#machineAnswers.set(sid, params.AnsweredBy!);
        report({ kind: 'answered' }, { answered_by: params.AnsweredBy! });
      }
      return { status: 200, contentType: 'text/plain', body: '' };
    }
    const answeredBy = params.AnsweredBy ?? this.#machineAnswers.get(sid) ?? (placed.providerState?.answered_by as string | undefined);
    const { event, unknown } = twilioCallEvent({
      status: params.CallStatus ?? '',
      answeredBy,
      errorCode: params.ErrorCode,
      sipResponseCode: params.SipResponseCode,
    });
    if (unknown) this.#log.warn({ callSid: sid, status: params.CallStatus }, 'twilio:callback:unknown_status');
    if (event) report(event, isMachine(params.AnsweredBy) ? { answered_by: params.AnsweredBy! } : undefined);
    if (event?.kind === 'ended') {
      this.#followed.delete(sid);
      this.#machineAnswers.delete(sid);
    }
    return { status: 200, contentType: 'text/plain', body: '' };
  }

  async close(): Promise<void> {
    for (const pending of this.#pendingCreates.values()) pending.notify?.('');
    this.#pendingCreates.clear();
    this.#followed.clear();
  }

  #client(credentials: Credentials, attempt: AttemptRef | null) {
    const httpClient = new TwilioHttpClient(this.#http, this.#options.apiUrl, this.#options.requestTimeoutMs, attempt, [
      credentials.password,
      ...(credentials.signingToken ? [credentials.signingToken] : []),
    ]);
    return twilio(credentials.username, credentials.password, { accountSid: credentials.accountSid, httpClient: httpClient as never, autoRetry: false });
  }

  /**
   * The create got no answer. Its call, if Twilio made one, announces itself by a callback; if
   * none comes in time, Twilio is asked for calls to this number from this number since the dial.
   */
  async #findUnansweredCreate(request: PlaceCallRequest, pending: PendingCreate, credentials: Credentials, dialedAt: number): Promise<string> {
    const fromCallback = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), this.#options.unansweredCreateWaitMs ?? 20_000);
      pending.notify = (sid) => {
        clearTimeout(timer);
        resolve(sid || null);
      };
    });
    pending.notify = null;
    if (fromCallback) return fromCallback;
    // No StartTime filter: a call still queued has no start time yet. Twilio lists newest first.
    const calls = await this.#client(credentials, request)
      .calls.list({ to: request.to!, from: request.phoneNumber!.phoneNumber, limit: 20 })
      .catch(() => []);
    const candidates = calls.filter((call) => !this.#followed.has(call.sid) && (call.dateCreated?.getTime() ?? 0) >= dialedAt - 5_000);
    const found = candidates.length === 1 ? candidates[0]! : null;
    if (found) {
      // Its callbacks may never have reached us: report what Twilio says now; later callbacks add to it.
      const { event } = twilioCallEvent({ status: found.status, answeredBy: found.answeredBy });
      if (event) {
        const at = found.endTime?.getTime() ?? this.#context.clock.now();
        this.#context.sink.report([{ batchKey: request.batchKey, seq: request.seq, attemptNumber: request.attemptNumber, providerCallId: found.sid, event, at }]);
      }
      return found.sid;
    }
    throw new ProviderCallError(
      `Twilio did not answer the create-call request in ${this.#options.requestTimeoutMs} ms and no call to ${request.to} could be found afterwards; it was not sent again`,
      'dispatch_uncertain',
    );
  }

  #refusal(error: unknown, phoneNumber: PhoneNumber): ProviderCallError {
    if (error instanceof ProviderCallError) return error;
    if (error instanceof CarrierUnansweredError) return new ProviderCallError(error.message, 'provider_error', { cause: error });
    const rest = error as { status?: number; code?: number; message?: string };
    const detail = `Twilio answered ${rest.status ?? '?'}${rest.code ? ` (code ${rest.code})` : ''}: ${rest.message ?? String(error)}`;
    if (typeof rest.status !== 'number') return new ProviderCallError(detail, 'provider_error', { cause: error });
    const kind = classifyHttpStatus(rest.status);
    if (kind === 'credentials') {
      return new ProviderCallError(
        `Twilio rejected the credentials of phone number ${phoneNumber.phoneNumber} (${phoneNumber.id}); update its sid and token. ${detail}`,
        'provider_error',
        { cause: error, failsBatch: true },
      );
    }
    if (kind === 'transient') return new ProviderCallError(detail, 'provider_error', { cause: error });
    if (isInvalidDestinationError(rest.code)) return new ProviderCallError(detail, 'invalid_number', { cause: error });
    // 21210/21212: the From number cannot call out through this account; no recipient can be reached.
    if (rest.code === 21210 || rest.code === 21212 || rest.code === 21606) {
      return new ProviderCallError(`Twilio refuses ${phoneNumber.phoneNumber} as caller id. ${detail}`, 'provider_error', { cause: error, failsBatch: true });
    }
    return new ProviderCallError(detail, 'provider_error', { cause: error });
  }
}

function credentialsOf(phoneNumber: PhoneNumber): Credentials {
  const sid = String(phoneNumber.config.sid ?? '');
  const token = String(phoneNumber.secrets.token ?? '');
  const accountAuthToken = typeof phoneNumber.secrets.account_auth_token === 'string' ? phoneNumber.secrets.account_auth_token : null;
  const isApiKey = sid.startsWith('SK');
  return {
    accountSid: isApiKey ? String(phoneNumber.config.account_sid ?? '') : sid,
    username: sid,
    password: token,
    signingToken: accountAuthToken ?? (isApiKey ? null : token),
  };
}

/** A map that forgets its oldest entries past a capacity, so what a process remembers of calls stays bounded. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly capacity: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.set(key, value);
    if (this.size > this.capacity) this.delete(this.keys().next().value!);
    return this;
  }
}

/** The most recent keys: enough callbacks to spot replays without growing forever. */
class RecentlySeen {
  readonly #keys = new BoundedMap<string, true>(20_000);

  /** Whether the key was seen before; records it either way. */
  seen(key: string): boolean {
    if (this.#keys.has(key)) return true;
    this.#keys.set(key, true);
    return false;
  }
}

function attemptKey(ref: AttemptRef): string {
  return `${ref.batchKey}:${ref.seq}:${ref.attemptNumber}`;
}

/**
 * A fake Graph API for WhatsApp Business calling, on 127.0.0.1 and an ephemeral port: the call
 * permission lookup, the call permission request template, `calls` connect and terminate, and
 * the signed webhooks that follow them, scripted per user (see `script.ts`). It records every
 * request and every webhook so tests can assert on what went over the wire. README.md says what
 * it imitates and what it does not.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../../src/domain/clock.js';
import * as errors from './graph-errors.js';
import type { GraphErrorAnswer } from './graph-errors.js';
import { callScript, messageBehaviour, permissionBehaviour } from './script.js';
import type {
  FakeGraphEndpoint,
  FakeGraphFault,
  FakeGraphNumber,
  FakeGraphOptions,
  FakeGraphWebhookMode,
  RecordedGraphRequest,
  RecordedWebhook,
  WebhookKind,
} from './types.js';
import { callConnect, callStatus, callTerminate, deliver, envelope, messageStatus, permissionReply, randomId, sign } from './webhooks.js';

export type * from './types.js';

export interface FakeCallView {
  id: string;
  phoneNumberId: string;
  user: string;
  opaque: string | null;
  state: 'ringing' | 'accepted' | 'ended';
  /** Who ended it: the user (or WhatsApp), or the business through `action: terminate`. */
  endedBy: 'user' | 'business' | null;
}

export interface FakeGraph {
  url: string;
  /** `url` with a Graph API version: what the provider's `graphApiUrl` is set to. */
  graphApiUrl: string;
  readonly requests: RecordedGraphRequest[];
  readonly webhooks: RecordedWebhook[];
  calls(): FakeCallView[];
  inject(fault: FakeGraphFault): void;
  clearFaults(): void;
  setWebhookMode(mode: FakeGraphWebhookMode): void;
  /** Lets the number call the user without a request, as a grant through the business profile would. */
  grantPermission(phoneNumberId: string, user: string, status?: 'temporary' | 'permanent'): void;
  /** Sends a webhook with this `value`, signed with the number's app secret unless `signWith` is given. */
  sendWebhook(phoneNumberId: string, field: 'messages' | 'calls', value: Record<string, unknown>, options?: { signWith?: string }): Promise<RecordedWebhook>;
  /** Sends a recorded webhook again, byte for byte and with its signature. */
  replay(webhook: RecordedWebhook): Promise<RecordedWebhook>;
  /** Resolves when every webhook queued so far has been delivered. */
  drained(): Promise<void>;
  close(): Promise<void>;
}

const graphVersion = 'v23.0';
const cannedAnswerSdp = [
  'v=0',
  'o=- 7669997803033704573 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE audio',
  'm=audio 3480 UDP/TLS/RTP/SAVPF 111 126',
  'c=IN IP4 157.240.1.1',
  'a=rtcp-mux',
  'a=setup:active',
  'a=mid:audio',
  'a=ice-ufrag:fake',
  'a=ice-pwd:fakefakefakefakefakefake',
  'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
  'a=rtpmap:111 opus/48000/2',
  'a=rtpmap:126 telephone-event/8000',
  '',
].join('\r\n');
const permissionReplySecs = 1;
const webhookLagSecs = 0.1;

interface Permission {
  status: 'temporary' | 'permanent';
  expiresAt: number | null;
}

interface FakeCall extends FakeCallView {
  number: FakeGraphNumber;
  acceptedAt: number | null;
  timers: Set<NodeJS.Timeout>;
  /** With `reverseCalls`, webhooks held until the call ends. */
  held: PendingWebhook[];
}

interface PendingWebhook {
  number: FakeGraphNumber;
  field: 'messages' | 'calls';
  kind: WebhookKind;
  subjectId: string | null;
  detail: string | null;
  value: Record<string, unknown>;
}

interface Answer {
  status: number;
  body: unknown;
  holdMs?: number;
}

export async function startFakeGraph(options: FakeGraphOptions): Promise<FakeGraph> {
  const fake = new FakeGraphServer(options);
  await fake.listen();
  return fake;
}

class FakeGraphServer implements FakeGraph {
  url = '';
  graphApiUrl = '';
  readonly requests: RecordedGraphRequest[] = [];
  readonly webhooks: RecordedWebhook[] = [];
  readonly #options: Required<Omit<FakeGraphOptions, 'templates'>> & Pick<FakeGraphOptions, 'templates'>;
  readonly #server: Server;
  readonly #numbers = new Map<string, FakeGraphNumber>();
  readonly #permissions = new Map<string, Permission>();
  readonly #callsMade = new Map<string, number>();
  readonly #calls = new Map<string, FakeCall>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #abort = new AbortController();
  #faults: FakeGraphFault[] = [];
  #mode: FakeGraphWebhookMode = {};
  /** Deliveries go out one at a time, in order, as Meta's mostly do. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: FakeGraphOptions) {
    this.#options = {
      timeScale: 0.01,
      seed: 0,
      clock: systemClock,
      ringLimitSecs: 60,
      webhookTimeoutMs: 5_000,
      ...options,
    };
    for (const number of options.numbers) this.#numbers.set(number.phoneNumberId, number);
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.graphApiUrl = `${this.url}/${graphVersion}`;
  }

  calls(): FakeCallView[] {
    return [...this.#calls.values()].map(({ id, phoneNumberId, user, opaque, state, endedBy }) => ({ id, phoneNumberId, user, opaque, state, endedBy }));
  }

  inject(fault: FakeGraphFault): void {
    this.#faults.push(fault.kind === 'reject_credentials' ? fault : { ...fault, times: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  setWebhookMode(mode: FakeGraphWebhookMode): void {
    this.#mode = { ...mode };
  }

  grantPermission(phoneNumberId: string, user: string, status: 'temporary' | 'permanent' = 'temporary'): void {
    const expiresAt = status === 'temporary' ? this.#nowSecs() + 7 * 24 * 3600 : null;
    this.#permissions.set(`${phoneNumberId}:${user}`, { status, expiresAt });
  }

  async sendWebhook(phoneNumberId: string, field: 'messages' | 'calls', value: Record<string, unknown>, options: { signWith?: string } = {}): Promise<RecordedWebhook> {
    const number = this.#number(phoneNumberId);
    const body = JSON.stringify(envelope(number, field, value));
    return this.#deliverNow({ number, field, kind: 'custom', subjectId: null, detail: null, body, signature: sign(body, options.signWith ?? number.appSecret) });
  }

  async replay(webhook: RecordedWebhook): Promise<RecordedWebhook> {
    const number = this.#number(webhook.phoneNumberId);
    return this.#deliverNow({ number, field: webhook.field, kind: webhook.kind, subjectId: webhook.subjectId, detail: webhook.detail, body: webhook.body, signature: webhook.signature });
  }

  async drained(): Promise<void> {
    let seen: Promise<void> | null = null;
    while (seen !== this.#queue) {
      seen = this.#queue;
      await seen;
    }
  }

  async close(): Promise<void> {
    this.#abort.abort();
    for (const timer of this.#timers) clearTimeout(timer);
    for (const call of this.#calls.values()) for (const timer of call.timers) clearTimeout(timer);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- requests

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const raw = await readBody(req);
    const route = /^\/(v\d+\.\d+)\/([^/]+)\/(messages|calls|call_permissions)$/.exec(url.pathname);
    let body: unknown = null;
    try {
      body = raw.length > 0 ? JSON.parse(raw) : null;
    } catch {
      body = raw;
    }
    const record: RecordedGraphRequest = {
      at: this.#options.clock.now(),
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      endpoint: (route?.[3] as FakeGraphEndpoint | undefined) ?? null,
      phoneNumberId: route?.[2] ?? null,
      action: isObject(body) ? (stringField(body, 'action') ?? stringField(body, 'type')) : null,
      headers: req.headers,
      body,
      status: 0,
    };
    this.requests.push(record);
    const answer = this.#answer(record);
    record.status = answer.status;
    if (answer.holdMs) await new Promise<void>((resolve) => this.#after(answer.holdMs! / 1000, () => resolve(), { scaled: false }));
    if (res.destroyed) return;
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=UTF-8', 'x-fb-trace-id': randomId().slice(0, 11) });
    res.end(JSON.stringify(answer.body));
  }

  #answer(record: RecordedGraphRequest): Answer {
    if (this.#faults.some((fault) => fault.kind === 'reject_credentials')) return graph(errors.expiredToken());
    const token = /^Bearer (.+)$/.exec(String(record.headers.authorization ?? ''))?.[1];
    const known = [...this.#numbers.values()];
    if (!token || !known.some((number) => number.accessToken === token)) return graph(errors.invalidToken());
    if (!record.endpoint || !record.phoneNumberId) return graph(errors.unknownObject(record.path));
    const number = this.#numbers.get(record.phoneNumberId);
    if (!number || number.accessToken !== token) return graph(errors.unknownObject(record.phoneNumberId));
    const expectedMethod = record.endpoint === 'call_permissions' ? 'GET' : 'POST';
    if (record.method !== expectedMethod) return graph(errors.unknownObject(record.phoneNumberId));

    const fault = this.#takeFault(record);
    if (fault?.kind === 'status') return graph(errors.forStatus(fault.httpStatus));
    const answer = this.#endpoint(record, number);
    return fault?.kind === 'hold' ? { ...answer, holdMs: fault.ms } : answer;
  }

  #takeFault(record: RecordedGraphRequest): Extract<FakeGraphFault, { kind: 'status' | 'hold' }> | null {
    const index = this.#faults.findIndex(
      (fault) => fault.kind !== 'reject_credentials' && fault.endpoint === record.endpoint && (fault.action === undefined || fault.action === record.action),
    );
    if (index < 0) return null;
    const fault = this.#faults[index] as Extract<FakeGraphFault, { kind: 'status' | 'hold' }>;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.#faults.splice(index, 1);
    return fault;
  }

  #endpoint(record: RecordedGraphRequest, number: FakeGraphNumber): Answer {
    switch (record.endpoint) {
      case 'call_permissions':
        return this.#callPermissions(record, number);
      case 'messages':
        return this.#message(record, number);
      case 'calls':
        return this.#callAction(record, number);
      default:
        return graph(errors.unknownObject(record.path));
    }
  }

  #callPermissions(record: RecordedGraphRequest, number: FakeGraphNumber): Answer {
    const user = record.query.user_wa_id;
    if (!user) return graph(errors.invalidParameter('user_wa_id is required'));
    const permission = this.#permission(number, user);
    return {
      status: 200,
      body: {
        messaging_product: 'whatsapp',
        permission: permission ? { status: permission.status, ...(permission.expiresAt !== null ? { expiration_time: permission.expiresAt } : {}) } : { status: 'no_permission' },
        actions: [
          { action_name: 'send_call_permission_request', can_perform_action: true, limits: [{ time_period: 'PT24H', max_allowed: 1, current_usage: 0 }] },
          { action_name: 'start_call', can_perform_action: permission !== null, limits: [{ time_period: 'PT24H', max_allowed: 10, current_usage: 0 }] },
        ],
      },
    };
  }

  #message(record: RecordedGraphRequest, number: FakeGraphNumber): Answer {
    const body = isObject(record.body) ? record.body : {};
    const template = isObject(body.template) ? body.template : null;
    const language = template && isObject(template.language) ? stringField(template.language, 'code') : null;
    const to = stringField(body, 'to');
    if (body.messaging_product !== 'whatsapp') return graph(errors.invalidParameter('messaging_product must be "whatsapp"'));
    if (!to) return graph(errors.invalidParameter('The parameter to is required.'));
    if (body.type !== 'template' || !template) return graph(errors.invalidParameter('this fake only sends template messages (type: template)'));
    const name = stringField(template, 'name');
    if (!name || !language) return graph(errors.invalidParameter('template.name and template.language.code are required'));
    const allowed = this.#options.templates;
    if (allowed && !allowed.some((t) => t.name === name && t.language === language)) return graph(errors.templateMissing(name, language));

    const user = to.replace(/\D/g, '');
    switch (messageBehaviour(user)) {
      case 'not_allowed':
        return graph(errors.recipientNotAllowed());
      case 'server_error':
        return graph(errors.forStatus(503));
      default:
        break;
    }
    const messageId = `wamid.${randomId()}`;
    this.#scheduleMessage(number, messageId, user);
    return { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: user }], messages: [{ id: messageId, message_status: 'accepted' }] } };
  }

  #scheduleMessage(number: FakeGraphNumber, messageId: string, user: string): void {
    const status = (state: 'sent' | 'delivered' | 'failed', error?: { code: number; title: string; details: string }) => () =>
      this.#emit({ number, field: 'messages', kind: 'message_status', subjectId: messageId, detail: state, value: messageStatus(messageId, user, state, this.#nowSecs(), error) });
    this.#after(webhookLagSecs, status('sent'));
    if (messageBehaviour(user) === 'undeliverable') {
      this.#after(2 * webhookLagSecs, status('failed', { code: 131026, title: 'Message undeliverable', details: 'Message Undeliverable.' }));
      return;
    }
    this.#after(2 * webhookLagSecs, status('delivered'));
    const behaviour = permissionBehaviour(user);
    if (behaviour === 'ignore') return;
    this.#after(permissionReplySecs, () => {
      const accepted = behaviour !== 'decline';
      if (accepted && !this.#permission(number, user)) this.grantPermission(number.phoneNumberId, user);
      if (!accepted) this.#permissions.delete(`${number.phoneNumberId}:${user}`);
      this.#emit({
        number,
        field: 'messages',
        kind: 'permission_reply',
        subjectId: messageId,
        detail: accepted ? 'accept' : 'reject',
        value: permissionReply(number, messageId, user, accepted, this.#nowSecs()),
      });
    });
  }

  #callAction(record: RecordedGraphRequest, number: FakeGraphNumber): Answer {
    const body = isObject(record.body) ? record.body : {};
    if (body.messaging_product !== 'whatsapp') return graph(errors.invalidParameter('messaging_product must be "whatsapp"'));
    switch (body.action) {
      case 'connect':
        return this.#connect(body, number);
      case 'terminate':
        return this.#terminate(body, number);
      default:
        return graph(errors.invalidParameter(`action must be one of connect, pre_accept, accept, reject, terminate; got ${JSON.stringify(body.action)}`));
    }
  }

  #connect(body: Record<string, unknown>, number: FakeGraphNumber): Answer {
    const to = stringField(body, 'to');
    const session = isObject(body.session) ? body.session : null;
    if (!to) return graph(errors.invalidParameter('The parameter to is required.'));
    if (!session || session.sdp_type !== 'offer') return graph(errors.invalidParameter('session.sdp_type must be "offer"'));
    const sdp = stringField(session, 'sdp');
    if (!sdp || !sdp.startsWith('v=0') || !/\r?\nm=audio /.test(sdp)) return graph(errors.invalidParameter('SDP validation error: session.sdp is not an RFC 8866 SDP with an audio section'));
    const opaque = stringField(body, 'biz_opaque_callback_data');
    if (opaque !== null && opaque.length > 512) return graph(errors.invalidParameter('biz_opaque_callback_data is longer than 512 characters'));
    const user = to.replace(/\D/g, '');
    if (!this.#permission(number, user)) return graph(errors.noCallPermission());

    const pair = `${number.phoneNumberId}:${user}`;
    const nth = (this.#callsMade.get(pair) ?? 0) + 1;
    const script = callScript(user, nth, this.#options.seed, this.#options.ringLimitSecs);
    if (script.kind === 'invalid_number') return graph(errors.receiverUncallable());
    if (script.kind === 'provider_error') return graph(errors.forStatus(503));
    this.#callsMade.set(pair, nth);

    const call: FakeCall = {
      id: `wacid.${randomId()}`,
      phoneNumberId: number.phoneNumberId,
      number,
      user,
      opaque,
      state: 'ringing',
      endedBy: null,
      acceptedAt: null,
      timers: new Set(),
      held: [],
    };
    this.#calls.set(call.id, call);
    this.#callAfter(call, webhookLagSecs, () => {
      this.#emitCall(call, 'call_connect', 'connect', callConnect(number, call.id, user, cannedAnswerSdp, this.#nowSecs(), opaque));
      this.#emitCall(call, 'call_status', 'RINGING', callStatus(call.id, user, 'RINGING', this.#nowSecs(), opaque));
    });
    switch (script.kind) {
      case 'answer':
        this.#callAfter(call, webhookLagSecs + script.ringSecs, () => {
          call.state = 'accepted';
          call.acceptedAt = this.#nowSecs();
          this.#emitCall(call, 'call_status', 'ACCEPTED', callStatus(call.id, user, 'ACCEPTED', this.#nowSecs(), opaque));
        });
        this.#callAfter(call, webhookLagSecs + script.ringSecs + script.talkSecs, () => this.#endCall(call, 'user'));
        break;
      case 'busy':
      case 'voicemail': {
        // WhatsApp has neither: the user declines the call.
        const afterSecs = script.kind === 'busy' ? script.afterSecs : script.ringSecs;
        this.#callAfter(call, webhookLagSecs + afterSecs, () => {
          this.#emitCall(call, 'call_status', 'REJECTED', callStatus(call.id, user, 'REJECTED', this.#nowSecs(), opaque));
          this.#endCall(call, 'user');
        });
        break;
      }
      case 'no_answer':
        this.#callAfter(call, webhookLagSecs + this.#options.ringLimitSecs, () => this.#endCall(call, 'user'));
        break;
    }
    return { status: 200, body: { messaging_product: 'whatsapp', calls: [{ id: call.id }] } };
  }

  #terminate(body: Record<string, unknown>, number: FakeGraphNumber): Answer {
    const callId = stringField(body, 'call_id');
    if (!callId) return graph(errors.invalidParameter('The parameter call_id is required.'));
    const call = this.#calls.get(callId);
    if (!call || call.phoneNumberId !== number.phoneNumberId || call.state === 'ended') return graph(errors.callNotActive(callId));
    this.#endCall(call, 'business');
    return { status: 200, body: { messaging_product: 'whatsapp', success: true } };
  }

  #endCall(call: FakeCall, by: 'user' | 'business'): void {
    if (call.state === 'ended') return;
    for (const timer of call.timers) clearTimeout(timer);
    call.timers.clear();
    const talked = call.acceptedAt !== null ? { startTime: call.acceptedAt, endTime: Math.max(call.acceptedAt + 1, this.#nowSecs()) } : null;
    call.state = 'ended';
    call.endedBy = by;
    const terminate = callTerminate(call.number, call.id, call.user, this.#nowSecs(), call.opaque, talked);
    const held = call.held.reverse();
    call.held = [];
    // Meta sends the terminate webhook after it answers the terminate request.
    this.#after(webhookLagSecs, () => {
      this.#emit({ number: call.number, field: 'calls', kind: 'call_terminate', subjectId: call.id, detail: talked ? 'COMPLETED' : 'FAILED', value: terminate });
      for (const pending of held) this.#emit(pending);
    });
  }

  // ---- webhooks

  #emitCall(call: FakeCall, kind: WebhookKind, detail: string, value: Record<string, unknown>): void {
    const pending: PendingWebhook = { number: call.number, field: 'calls', kind, subjectId: call.id, detail, value };
    if (this.#mode.reverseCalls && call.state !== 'ended') call.held.push(pending);
    else this.#emit(pending);
  }

  #emit(pending: PendingWebhook): void {
    const body = JSON.stringify(envelope(pending.number, pending.field, pending.value));
    const webhook = this.#record({ ...pending, body, signature: sign(body, pending.number.appSecret) });
    const copies = this.#mode.duplicate ? [webhook, this.#record({ ...pending, body, signature: webhook.signature })] : [webhook];
    const send = () => {
      for (const copy of copies) {
        this.#queue = this.#queue.then(async () => {
          copy.delivery = await deliver(copy, this.#options.webhookTimeoutMs, this.#abort.signal);
        });
      }
    };
    // Equal delays fire in the order they were set, so the order is kept.
    if (this.#mode.delayMs) this.#after(this.#mode.delayMs / 1000, send, { scaled: false });
    else send();
  }

  async #deliverNow(pending: Omit<PendingWebhook, 'value'> & { body: string; signature: string }): Promise<RecordedWebhook> {
    const webhook = this.#record(pending);
    webhook.delivery = await deliver(webhook, this.#options.webhookTimeoutMs, this.#abort.signal);
    return webhook;
  }

  #record(pending: Omit<PendingWebhook, 'value'> & { body: string; signature: string }): RecordedWebhook {
    const webhook: RecordedWebhook = {
      at: this.#options.clock.now(),
      phoneNumberId: pending.number.phoneNumberId,
      field: pending.field,
      kind: pending.kind,
      subjectId: pending.subjectId,
      detail: pending.detail,
      url: pending.number.webhookUrl,
      body: pending.body,
      signature: pending.signature,
      delivery: { kind: 'pending' },
    };
    this.webhooks.push(webhook);
    return webhook;
  }

  // ---- helpers

  #permission(number: FakeGraphNumber, user: string): Permission | null {
    const key = `${number.phoneNumberId}:${user}`;
    if (!this.#permissions.has(key) && permissionBehaviour(user) === 'held') this.grantPermission(number.phoneNumberId, user, 'permanent');
    const permission = this.#permissions.get(key) ?? null;
    if (permission?.expiresAt != null && permission.expiresAt <= this.#nowSecs()) {
      this.#permissions.delete(key);
      return null;
    }
    return permission;
  }

  #number(phoneNumberId: string): FakeGraphNumber {
    const number = this.#numbers.get(phoneNumberId);
    if (!number) throw new Error(`the fake has no number '${phoneNumberId}'`);
    return number;
  }

  #after(secs: number, fire: () => void, options: { scaled: boolean } = { scaled: true }): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fire();
    }, Math.round(secs * 1000 * (options.scaled ? this.#options.timeScale : 1)));
    this.#timers.add(timer);
  }

  #callAfter(call: FakeCall, secs: number, fire: () => void): void {
    const timer = setTimeout(() => {
      call.timers.delete(timer);
      fire();
    }, Math.round(secs * 1000 * this.#options.timeScale));
    call.timers.add(timer);
  }

  #nowSecs(): number {
    return Math.floor(this.#options.clock.now() / 1000);
  }
}

function graph(answer: GraphErrorAnswer): Answer {
  return { status: answer.status, body: answer.body };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(object: Record<string, unknown>, key: string): string | null {
  const value = object[key];
  return typeof value === 'string' && value.length > 0 ? value : null;
}

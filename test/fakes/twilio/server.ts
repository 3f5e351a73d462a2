/**
 * A fake of Twilio's Voice REST API (2010-04-01) as an outbound dialer sees it: Basic auth,
 * create / fetch / update / list Calls, signed status and AMD callbacks on the call's own
 * timeline, Twilio's JSON error bodies, and faults scripted per destination number. What it does
 * not imitate is listed in README.md.
 *
 * The outcome of a call is the simulator's (`scriptCall`), keyed on the To number and on how many
 * creates that number has had (the attempt number is not on the wire), so the 555-01NN table
 * means the same here as in the simulator.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../../src/domain/clock.js';
import { scriptCall } from '../../../src/telephony/simulated/outcomes.js';
import { planCallTimeline, type AmdRequest, type CallStep, type PlaceableScript } from './call-timeline.js';
import { deliverCallback } from '../deliver-callback.js';
import { signTwilioRequest } from './signature.js';
import { buildFaultError, buildTwilioError, type TwilioErrorBody } from './twilio-errors.js';
import type {
  FakeTwilio,
  FakeTwilioApiKey,
  FakeTwilioFault,
  FakeTwilioOptions,
  FormParams,
  RecordedCallback,
  RecordedRequest,
  TwilioCallResource,
  TwilioCallStatus,
} from './types.js';
import { formatPhoneNumber, formatRfc2822, lastValue, listValues, parseForm } from './wire-format.js';

export type * from './types.js';
export type { AnsweredBy } from './call-timeline.js';
export { signTwilioRequest } from './signature.js';

const apiVersion = '2010-04-01';
/** Twilio's default and maximum for the `Timeout` create parameter. */
const defaultTimeoutSecs = 60;
const maxTimeoutSecs = 600;
const defaultPageSize = 50;
const maxPageSize = 1000;
const callsPath = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls(?:\/([^/]+))?\.json$/;
/** E.164, or the SIP and Client addresses Twilio also dials. */
const dialable = /^(?:\+[1-9]\d{6,14}|(?:sip|client):\S+)$/i;
const terminalStatuses: ReadonlySet<TwilioCallStatus> = new Set(['busy', 'canceled', 'completed', 'failed', 'no-answer']);
/** The SIP final response Twilio reports in `SipResponseCode` for each way a call ends. */
const sipResponseCodes: Record<string, string> = { busy: '486', canceled: '487', completed: '200', failed: '404', 'no-answer': '487' };

interface CallbackTarget {
  url: string;
  method: 'GET' | 'POST';
}

interface QueuedCallback {
  kind: 'amd' | 'status';
  target: CallbackTarget;
  params: Record<string, string>;
  idempotencyToken: string;
}

interface CallState {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  status: TwilioCallStatus;
  answeredBy: string | null;
  amd: AmdRequest | null;
  dateCreated: number;
  dateUpdated: number;
  startTime: number | null;
  endTime: number | null;
  durationSecs: number | null;
  /** performance.now() at the answer, for the duration of a call hung up through the API. */
  answeredAtPerf: number | null;
  faults: ReadonlySet<FakeTwilioFault['kind']>;
  statusCallback: (CallbackTarget & { events: ReadonlySet<string> }) | null;
  amdCallback: CallbackTarget | null;
  nextSequenceNumber: number;
  /** Status callbacks held back by the `out_of_order` fault until the final one. */
  held: QueuedCallback[];
  /** The tail of the call's callback chain: callbacks go out one after another, in order. */
  tail: Promise<void>;
  timeline: AbortController;
  ended: Promise<void>;
  markEnded: () => void;
}

interface Principal {
  accountSid: string;
}

interface Exchange {
  res: ServerResponse;
  record: RecordedRequest;
}

export async function startFakeTwilio(options: FakeTwilioOptions): Promise<FakeTwilio> {
  const fake = new FakeTwilioServer(options);
  await fake.listen();
  return fake;
}

class FakeTwilioServer implements FakeTwilio {
  readonly #accounts = new Map<string, string>();
  readonly #apiKeys = new Map<string, FakeTwilioApiKey>();
  readonly #callbackTimeoutMs: number;
  readonly #callbacks: RecordedCallback[] = [];
  readonly #calls = new Map<string, CallState>();
  readonly #clock: Clock;
  readonly #closing = new AbortController();
  readonly #createCounts = new Map<string, number>();
  readonly #faults = new Map<string, FakeTwilioFault[]>();
  readonly #heldResponses = new Set<{ timer: NodeJS.Timeout; res: ServerResponse }>();
  readonly #requests: RecordedRequest[] = [];
  readonly #seed: number;
  readonly #server: Server;
  readonly #timeScale: number;
  #url = '';

  constructor(options: FakeTwilioOptions) {
    for (const account of options.accounts) this.#accounts.set(account.accountSid, account.authToken);
    for (const key of options.apiKeys ?? []) this.#apiKeys.set(key.sid, { ...key });
    this.#clock = options.clock ?? systemClock;
    this.#callbackTimeoutMs = options.callbackTimeoutMs ?? 15_000;
    this.#seed = options.seed ?? 0;
    this.#timeScale = options.timeScale ?? 0;
    if (!(this.#timeScale >= 0)) throw new Error(`startFakeTwilio: timeScale must be 0 or more, got ${options.timeScale}`);
    // Every callback in flight listens for close on this one signal; a batch has hundreds.
    setMaxListeners(0, this.#closing.signal);
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        // A bug in the fake, not a scripted failure: say so loudly and answer as Twilio would.
        console.error('fake twilio: handler failed', error);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(buildTwilioError('internalError')));
      });
    });
  }

  get url(): string {
    return this.#url;
  }

  get requests(): readonly RecordedRequest[] {
    return this.#requests;
  }

  get callbacks(): readonly RecordedCallback[] {
    return this.#callbacks;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.#server.address() as AddressInfo;
    this.#url = `http://127.0.0.1:${port}`;
  }

  inject(to: string, fault: FakeTwilioFault): void {
    const kept = (this.#faults.get(to) ?? []).filter((f) => f.kind !== fault.kind);
    this.#faults.set(to, [...kept, { ...fault }]);
  }

  clearFaults(to?: string): void {
    if (to === undefined) this.#faults.clear();
    else this.#faults.delete(to);
  }

  rotateToken(accountSid: string): string {
    if (!this.#accounts.has(accountSid)) throw new Error(`rotateToken: no account ${accountSid} in this fake`);
    const token = randomBytes(16).toString('hex');
    this.#accounts.set(accountSid, token);
    return token;
  }

  revokeKey(keySid: string): void {
    if (!this.#apiKeys.delete(keySid)) throw new Error(`revokeKey: no API key ${keySid} in this fake`);
  }

  getCall(callSid: string): TwilioCallResource | undefined {
    const call = this.#calls.get(callSid);
    return call ? this.#resource(call) : undefined;
  }

  createCount(to: string): number {
    return this.#createCounts.get(to) ?? 0;
  }

  resetCreateCounts(to?: string): void {
    if (to === undefined) this.#createCounts.clear();
    else this.#createCounts.delete(to);
  }

  async settled(callSid?: string): Promise<void> {
    const calls = callSid === undefined ? [...this.#calls.values()] : [this.#calls.get(callSid)].filter((c) => c !== undefined);
    await Promise.all(
      calls.map(async (call) => {
        await call.ended;
        // The chain can grow while we wait (a held out-of-order batch, a duplicate); wait until it stops.
        for (let tail = call.tail; ; tail = call.tail) {
          await tail;
          if (tail === call.tail) return;
        }
      }),
    );
  }

  async close(): Promise<void> {
    this.#closing.abort();
    for (const call of this.#calls.values()) {
      call.timeline.abort();
      call.markEnded();
    }
    for (const held of this.#heldResponses) {
      clearTimeout(held.timer);
      held.res.socket?.destroy();
    }
    this.#heldResponses.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
    await Promise.all([...this.#calls.values()].map((call) => call.tail));
  }

  // ---- HTTP -------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = new URL(req.url ?? '/', 'http://fake.invalid');
    const isForm = (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: target.pathname,
      query: parseForm(target.search),
      form: isForm ? parseForm(Buffer.concat(chunks).toString('utf8')) : {},
      headers: req.headers,
      receivedAt: this.#clock.now(),
      responseStatus: null,
    };
    this.#requests.push(record);
    const exchange: Exchange = { res, record };

    const principal = this.#authenticate(req.headers.authorization);
    if (!principal) {
      res.setHeader('www-authenticate', 'Basic realm="Twilio API"');
      this.#sendJson(exchange, 401, buildTwilioError('authenticate'));
      return;
    }
    const match = callsPath.exec(target.pathname);
    // Twilio answers 404 for another account's resources rather than admitting they exist.
    if (!match || match[1] !== principal.accountSid) {
      this.#sendJson(exchange, 404, buildTwilioError('notFound', target.pathname));
      return;
    }
    const callSid = match[2];
    const method = record.method;
    if (callSid === undefined && method === 'POST') return this.#createCall(exchange, principal);
    if (callSid === undefined && method === 'GET') return this.#listCalls(exchange, principal, target);
    if (callSid !== undefined && (method === 'GET' || method === 'POST')) {
      const call = this.#calls.get(callSid);
      if (!call || call.accountSid !== principal.accountSid) {
        this.#sendJson(exchange, 404, buildTwilioError('notFound', target.pathname));
        return;
      }
      if (method === 'GET') this.#sendJson(exchange, 200, this.#resource(call));
      else this.#updateCall(exchange, call);
      return;
    }
    this.#sendJson(exchange, 405, buildTwilioError('methodNotAllowed'));
  }

  #authenticate(header: string | undefined): Principal | null {
    const basic = header ? /^Basic\s+(\S+)$/i.exec(header) : null;
    if (!basic) return null;
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    if (this.#accounts.get(username) === password) return { accountSid: username };
    const key = this.#apiKeys.get(username);
    if (key && key.secret === password && this.#accounts.has(key.accountSid)) return { accountSid: key.accountSid };
    return null;
  }

  #sendJson(exchange: Exchange, status: number, body: TwilioErrorBody | object): void {
    const text = JSON.stringify(body);
    exchange.record.responseStatus = status;
    exchange.res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'twilio-request-id': `RQ${randomBytes(16).toString('hex')}`,
    });
    exchange.res.end(text);
  }

  // ---- Calls ------------------------------------------------------------------------------

  #createCall(exchange: Exchange, principal: Principal): void {
    const form = exchange.record.form;
    const to = lastValue(form, 'To');
    const from = lastValue(form, 'From');
    if (!to) return this.#sendJson(exchange, 400, buildTwilioError('missingTo'));
    if (!from) return this.#sendJson(exchange, 400, buildTwilioError('missingFrom'));
    if (!lastValue(form, 'Url') && !lastValue(form, 'Twiml') && !lastValue(form, 'ApplicationSid')) {
      return this.#sendJson(exchange, 400, buildTwilioError('missingUrl'));
    }
    if (!dialable.test(to)) return this.#sendJson(exchange, 400, buildTwilioError('invalidTo', to));
    if (!dialable.test(from)) return this.#sendJson(exchange, 400, buildTwilioError('invalidFrom', from));

    const attemptNumber = (this.#createCounts.get(to) ?? 0) + 1;
    this.#createCounts.set(to, attemptNumber);

    const faults = this.#faults.get(to) ?? [];
    const statusFault = faults.find((f) => f.kind === 'status');
    if (statusFault) {
      if (statusFault.times !== undefined) {
        statusFault.times -= 1;
        if (statusFault.times <= 0) this.#faults.set(to, faults.filter((f) => f !== statusFault));
      }
      return this.#sendJson(exchange, statusFault.status, buildFaultError(statusFault.status));
    }

    const timeoutSecs = parseTimeout(lastValue(form, 'Timeout'));
    const script = scriptCall({ seed: this.#seed, recipientId: to, attemptNumber, to, ringingTimeoutSecs: timeoutSecs });
    // Twilio refuses an undialable destination at create time rather than failing the call later.
    if (script.kind === 'invalid_number') return this.#sendJson(exchange, 400, buildTwilioError('invalidTo', to));
    if (script.kind === 'provider_error') return this.#sendJson(exchange, 500, buildTwilioError('internalError'));

    const call = this.#newCall(principal.accountSid, to, from, form, faults);
    this.#calls.set(call.sid, call);
    const steps = planCallTimeline(script satisfies PlaceableScript, timeoutSecs, call.amd);
    const hang = faults.find((f) => f.kind === 'hang');
    if (hang) {
      // The call goes ahead as if the response had been lost on the way back.
      const held = {
        res: exchange.res,
        timer: setTimeout(() => {
          this.#heldResponses.delete(held);
          exchange.res.socket?.destroy();
        }, hang.ms),
      };
      this.#heldResponses.add(held);
      void this.#runTimeline(call, steps);
      return;
    }
    exchange.res.once('finish', () => void this.#runTimeline(call, steps));
    this.#sendJson(exchange, 201, this.#resource(call));
  }

  #newCall(accountSid: string, to: string, from: string, form: FormParams, faults: readonly FakeTwilioFault[]): CallState {
    const now = this.#clock.now();
    const machineDetection = lastValue(form, 'MachineDetection');
    const amd: AmdRequest | null =
      machineDetection === 'Enable' || machineDetection === 'DetectMessageEnd'
        ? { detectMessageEnd: machineDetection === 'DetectMessageEnd', async: lastValue(form, 'AsyncAmd') === 'true' }
        : null;
    const statusCallbackUrl = lastValue(form, 'StatusCallback');
    const amdCallbackUrl = lastValue(form, 'AsyncAmdStatusCallback');
    let markEnded = () => {};
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    return {
      sid: `CA${randomBytes(16).toString('hex')}`,
      accountSid,
      to,
      from,
      status: 'queued',
      answeredBy: null,
      amd,
      dateCreated: now,
      dateUpdated: now,
      startTime: null,
      endTime: null,
      durationSecs: null,
      answeredAtPerf: null,
      faults: new Set(faults.map((f) => f.kind)),
      statusCallback: statusCallbackUrl
        ? {
            url: statusCallbackUrl,
            method: parseMethod(lastValue(form, 'StatusCallbackMethod')),
            events: new Set(listValues(form, 'StatusCallbackEvent')),
          }
        : null,
      amdCallback: amd?.async && amdCallbackUrl ? { url: amdCallbackUrl, method: parseMethod(lastValue(form, 'AsyncAmdStatusCallbackMethod')) } : null,
      nextSequenceNumber: 0,
      held: [],
      tail: Promise.resolve(),
      timeline: new AbortController(),
      ended,
      markEnded,
    };
  }

  #updateCall(exchange: Exchange, call: CallState): void {
    const form = exchange.record.form;
    const status = lastValue(form, 'Status');
    if (terminalStatuses.has(call.status)) return this.#sendJson(exchange, 200, this.#resource(call));
    if (status === undefined) {
      // A redirect (Url / Twiml) is accepted but not executed: the fake runs no TwiML.
      if ((lastValue(form, 'Url') || lastValue(form, 'Twiml')) && call.status !== 'in-progress') {
        return this.#sendJson(exchange, 400, buildTwilioError('callNotUpdatable'));
      }
      return this.#sendJson(exchange, 200, this.#resource(call));
    }
    if (status !== 'canceled' && status !== 'completed') {
      return this.#sendJson(exchange, 400, buildTwilioError('invalidParameter', `Status must be one of canceled, completed; got '${status}'`));
    }
    if (call.status === 'in-progress') {
      // `canceled` only affects calls not yet answered; `completed` hangs up an answered one.
      if (status === 'completed') this.#endCall(call, 'completed', this.#talkSecsSoFar(call));
    } else {
      this.#endCall(call, 'canceled', 0);
    }
    this.#sendJson(exchange, 200, this.#resource(call));
  }

  #listCalls(exchange: Exchange, principal: Principal, target: URL): void {
    const query = exchange.record.query;
    const filters: Array<(call: CallState) => boolean> = [(call) => call.accountSid === principal.accountSid];
    for (const name of ['To', 'From', 'Status'] as const) {
      const wanted = lastValue(query, name);
      if (wanted !== undefined) filters.push((call) => (name === 'To' ? call.to : name === 'From' ? call.from : call.status) === wanted);
    }
    if (lastValue(query, 'ParentCallSid') !== undefined) filters.push(() => false);
    for (const field of ['StartTime', 'EndTime'] as const) {
      for (const op of ['', '>', '<'] as const) {
        const raw = lastValue(query, `${field}${op}`);
        if (raw === undefined) continue;
        const bound = parseTimeFilter(raw);
        if (!bound) {
          return this.#sendJson(exchange, 400, buildTwilioError('invalidParameter', `${field}${op} must be a date (YYYY-MM-DD) or a date-time (YYYY-MM-DDTHH:MM:SSZ), got '${raw}'`));
        }
        // A call not yet dialled has no start_time; its creation time stands in, so a dialer
        // reconciling a create that timed out still finds it.
        const timeOf = (call: CallState) => (field === 'StartTime' ? (call.startTime ?? call.dateCreated) : call.endTime);
        filters.push((call) => matchesTime(timeOf(call), op, bound));
      }
    }
    const pageSize = clampInt(lastValue(query, 'PageSize'), defaultPageSize, 1, maxPageSize);
    const page = clampInt(lastValue(query, 'Page'), 0, 0, Number.MAX_SAFE_INTEGER);
    const matching = [...this.#calls.values()].filter((call) => filters.every((f) => f(call))).reverse();
    const calls = matching.slice(page * pageSize, (page + 1) * pageSize);
    const pageUri = (n: number, token?: string) => {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) {
        if (name === 'Page' || name === 'PageSize' || name === 'PageToken') continue;
        for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
      }
      params.set('PageSize', String(pageSize));
      params.set('Page', String(n));
      if (token) params.set('PageToken', token);
      return `${target.pathname}?${params.toString()}`;
    };
    const last = calls[calls.length - 1];
    const hasNext = (page + 1) * pageSize < matching.length;
    this.#sendJson(exchange, 200, {
      calls: calls.map((call) => this.#resource(call)),
      end: calls.length > 0 ? page * pageSize + calls.length - 1 : page * pageSize,
      first_page_uri: pageUri(0),
      next_page_uri: hasNext && last ? pageUri(page + 1, `PA${last.sid}`) : null,
      page,
      page_size: pageSize,
      previous_page_uri: page > 0 ? pageUri(page - 1) : null,
      start: page * pageSize,
      uri: pageUri(page),
    });
  }

  #resource(call: CallState): TwilioCallResource {
    const uri = `/${apiVersion}/Accounts/${call.accountSid}/Calls/${call.sid}`;
    const sub = (name: string) => `${uri}/${name}.json`;
    const time = (ms: number | null) => (ms === null ? null : formatRfc2822(ms));
    return {
      account_sid: call.accountSid,
      annotation: null,
      answered_by: call.answeredBy,
      api_version: apiVersion,
      caller_name: null,
      date_created: formatRfc2822(call.dateCreated),
      date_updated: formatRfc2822(call.dateUpdated),
      direction: 'outbound-api',
      duration: call.durationSecs === null ? null : String(call.durationSecs),
      end_time: time(call.endTime),
      forwarded_from: null,
      from: call.from,
      from_formatted: formatPhoneNumber(call.from),
      group_sid: null,
      parent_call_sid: null,
      phone_number_sid: `PN${createHash('md5').update(`${call.accountSid}:${call.from}`).digest('hex')}`,
      price: null,
      price_unit: 'USD',
      queue_time: '0',
      sid: call.sid,
      start_time: time(call.startTime),
      status: call.status,
      subresource_uris: {
        events: sub('Events'),
        notifications: sub('Notifications'),
        payments: sub('Payments'),
        recordings: sub('Recordings'),
        siprec: sub('Siprec'),
        streams: sub('Streams'),
        transcriptions: sub('Transcriptions'),
        user_defined_message_subscriptions: sub('UserDefinedMessageSubscriptions'),
        user_defined_messages: sub('UserDefinedMessages'),
      },
      to: call.to,
      to_formatted: formatPhoneNumber(call.to),
      trunk_sid: null,
      uri: `${uri}.json`,
    };
  }

  // ---- The call's own timeline ------------------------------------------------------------

  async #runTimeline(call: CallState, steps: readonly CallStep[]): Promise<void> {
    const startedAt = performance.now();
    for (const step of steps) {
      const due = startedAt + step.atSecs * 1000 * this.#timeScale;
      if (!(await this.#waitUntil(due, call.timeline.signal))) return;
      if (terminalStatuses.has(call.status)) return;
      this.#applyStep(call, step);
    }
  }

  /** Resolves true at `due` (performance.now() ms), false if aborted first. */
  #waitUntil(due: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(false);
      const delay = due - performance.now();
      const onAbort = () => {
        clearTimeout(timer);
        clearImmediate(immediate);
        resolve(false);
      };
      const done = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      // setImmediate keeps a time scale of 0 fast: setTimeout's 1 ms floor would add up.
      const timer = delay > 0 ? setTimeout(done, delay) : undefined;
      const immediate = delay > 0 ? undefined : setImmediate(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #applyStep(call: CallState, step: CallStep): void {
    const now = this.#clock.now();
    call.dateUpdated = now;
    switch (step.kind) {
      case 'initiated':
        // The resource stays `queued`; `initiated` exists only as a callback status.
        call.startTime = now;
        this.#emitStatus(call, 'initiated', 'initiated', {});
        return;
      case 'ringing':
        call.status = 'ringing';
        this.#emitStatus(call, 'ringing', 'ringing', {});
        return;
      case 'answered':
        call.status = 'in-progress';
        call.answeredAtPerf = performance.now();
        if (step.answeredBy) call.answeredBy = step.answeredBy;
        this.#emitStatus(call, 'answered', 'in-progress', step.answeredBy ? { AnsweredBy: step.answeredBy } : {});
        return;
      case 'amd_result':
        call.answeredBy = step.answeredBy;
        if (call.amdCallback) {
          this.#enqueue(call, {
            kind: 'amd',
            target: call.amdCallback,
            params: { AccountSid: call.accountSid, AnsweredBy: step.answeredBy, CallSid: call.sid, MachineDetectionDuration: String(step.detectionMs) },
            idempotencyToken: randomUUID(),
          });
        }
        return;
      case 'ended':
        this.#endCall(call, step.status, step.talkSecs);
        return;
    }
  }

  #endCall(call: CallState, status: 'busy' | 'canceled' | 'completed' | 'no-answer', talkSecs: number): void {
    const now = this.#clock.now();
    call.timeline.abort();
    call.status = status;
    call.endTime = now;
    call.dateUpdated = now;
    call.durationSecs = status === 'completed' ? Math.round(talkSecs) : 0;
    const extra: Record<string, string> = { SipResponseCode: sipResponseCodes[status] ?? '500' };
    if (status === 'completed') {
      extra.CallDuration = String(call.durationSecs);
      // `Duration` is the billed length in whole minutes, rounded up.
      extra.Duration = String(Math.ceil(call.durationSecs / 60));
      if (call.amd && !call.amd.async && call.answeredBy) extra.AnsweredBy = call.answeredBy;
    }
    this.#emitStatus(call, 'completed', status, extra);
    call.markEnded();
  }

  #talkSecsSoFar(call: CallState): number {
    if (call.answeredAtPerf === null || this.#timeScale === 0) return 0;
    return (performance.now() - call.answeredAtPerf) / 1000 / this.#timeScale;
  }

  /**
   * Queues a status callback if the call subscribed to `event`. The final status (Twilio's
   * `completed` event: completed, busy, no-answer, canceled, failed) is sent whenever there is a
   * StatusCallback, listed or not: with no StatusCallbackEvent Twilio sends only that one.
   */
  #emitStatus(call: CallState, event: 'answered' | 'completed' | 'initiated' | 'ringing', callStatus: string, extra: Record<string, string>): void {
    const target = call.statusCallback;
    if (!target) return;
    const final = event === 'completed';
    if (!final && !target.events.has(event)) return;
    const callback: QueuedCallback = {
      kind: 'status',
      target,
      params: {
        AccountSid: call.accountSid,
        ApiVersion: apiVersion,
        CallSid: call.sid,
        CallStatus: callStatus,
        Called: call.to,
        Caller: call.from,
        CallbackSource: 'call-progress-events',
        Direction: 'outbound-api',
        From: call.from,
        SequenceNumber: String(call.nextSequenceNumber++),
        Timestamp: formatRfc2822(this.#clock.now()),
        To: call.to,
        ...extra,
      },
      idempotencyToken: randomUUID(),
    };
    if (!call.faults.has('out_of_order')) return this.#enqueue(call, callback);
    if (!final) {
      call.held.push(callback);
      return;
    }
    this.#enqueue(call, callback);
    for (const held of call.held.splice(0)) this.#enqueue(call, held);
  }

  #enqueue(call: CallState, callback: QueuedCallback): void {
    call.tail = call.tail.then(() => this.#send(call, callback));
  }

  async #send(call: CallState, callback: QueuedCallback): Promise<void> {
    const copies = call.faults.has('duplicate') ? 2 : 1;
    for (let copy = 1; copy <= copies; copy++) {
      if (this.#closing.signal.aborted) return;
      // Signed when sent, with the account's current token: Twilio signs every request it makes.
      const authToken = this.#accounts.get(call.accountSid) ?? '';
      const { url, body, signed } = encodeCallback(callback);
      const signature = signTwilioRequest(authToken, url, signed);
      const record: RecordedCallback = {
        kind: callback.kind,
        accountSid: call.accountSid,
        callSid: call.sid,
        url,
        method: callback.target.method,
        params: callback.params,
        signature,
        idempotencyToken: callback.idempotencyToken,
        copy: copy as 1 | 2,
        sentAt: this.#clock.now(),
        delivery: { kind: 'pending' },
      };
      this.#callbacks.push(record);
      if (call.faults.has('drop_callbacks')) {
        record.delivery = { kind: 'dropped' };
        continue;
      }
      const headers: Record<string, string> = {
        accept: '*/*',
        'i-twilio-idempotency-token': callback.idempotencyToken,
        'user-agent': 'TwilioProxy/1.1',
        'x-twilio-signature': signature,
      };
      if (callback.target.method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
      record.delivery = await deliverCallback({ url, method: callback.target.method, body, headers }, this.#callbackTimeoutMs, this.#closing.signal);
    }
  }
}

/** The URL to request and sign and the body: POST puts the parameters in the body, GET in the query. */
function encodeCallback(callback: QueuedCallback): { url: string; body: string; signed: Record<string, string> } {
  const form = new URLSearchParams(callback.params).toString();
  if (callback.target.method === 'POST') return { url: callback.target.url, body: form, signed: callback.params };
  const separator = callback.target.url.includes('?') ? '&' : '?';
  return { url: `${callback.target.url}${separator}${form}`, body: '', signed: {} };
}

function parseMethod(value: string | undefined): 'GET' | 'POST' {
  return value?.toUpperCase() === 'GET' ? 'GET' : 'POST';
}

function parseTimeout(value: string | undefined): number {
  const secs = value === undefined ? NaN : Number(value);
  if (!Number.isInteger(secs) || secs <= 0) return defaultTimeoutSecs;
  return Math.min(secs, maxTimeoutSecs);
}

function clampInt(value: string | undefined, fallback: number, min: number, max: number): number {
  const n = value === undefined ? NaN : Number(value);
  return Number.isInteger(n) ? Math.min(Math.max(n, min), max) : fallback;
}

interface TimeBound {
  /** Milliseconds. A date covers [from, to); a date-time is the single instant from === to. */
  from: number;
  to: number;
}

function parseTimeFilter(raw: string): TimeBound | null {
  if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) {
    const from = Date.parse(`${raw}T00:00:00Z`);
    return Number.isNaN(from) ? null : { from, to: from + 86_400_000 };
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw)) return null;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : { from: at, to: at };
}

/**
 * Twilio's `StartTime>` and `StartTime<` (what `StartTime>=` and `StartTime<=` in a query
 * string parse as) are inclusive: on or after the start of the date, on or before its end.
 */
function matchesTime(ms: number | null, op: '' | '<' | '>', bound: TimeBound): boolean {
  if (ms === null) return false;
  const instant = bound.from === bound.to;
  switch (op) {
    case '>':
      return ms >= bound.from;
    case '<':
      return instant ? ms <= bound.to : ms < bound.to;
    case '':
      return instant ? Math.floor(ms / 1000) === Math.floor(bound.from / 1000) : ms >= bound.from && ms < bound.to;
  }
}

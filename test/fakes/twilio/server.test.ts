import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { signTwilioRequest, startFakeTwilio, type FakeTwilio, type FakeTwilioOptions, type FormParams } from './server.js';

const account = { accountSid: `AC${'a'.repeat(32)}`, authToken: 'token-a' };
const otherAccount = { accountSid: `AC${'b'.repeat(32)}`, authToken: 'token-b' };
const apiKey = { sid: `SK${'c'.repeat(32)}`, secret: 'secret-c', accountSid: account.accountSid };
const from = '+14155550000';
/** The simulator's 555-01NN table (src/telephony/simulated/outcomes.ts). */
const numbers = {
  answer: '+12025550100',
  noAnswer: '+12025550150',
  busy: '+12025550160',
  voicemail: '+12025550165',
  invalid: '+12025550170',
  providerError: '+12025550175',
  answersOnSecond: '+12025550180',
};
const allEvents = ['initiated', 'ringing', 'answered', 'completed'];
const rfc2822 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$/;

interface Received {
  method: string;
  /** The full URL as Twilio would have been given it. */
  url: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** POST body, or the query for GET. */
  params: Record<string, string>;
}

/** A callback receiver: records every request and answers `status`. */
async function startReceiver(t: TestContext) {
  const received: Received[] = [];
  let status = 200;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${req.url}`;
      const target = new URL(url);
      const params = Object.fromEntries(req.method === 'GET' ? target.searchParams : new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      received.push({ method: req.method ?? '', url, path: target.pathname, headers: req.headers, params });
      res.writeHead(status, { 'content-type': 'text/xml' }).end('<Response/>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    url: (path: string) => `${base}${path}`,
    received,
    answerWith: (next: number) => (status = next),
    statuses: (path = '/status') => received.filter((r) => r.path === path).map((r) => r.params.CallStatus),
  };
}

/** A fresh fake and receiver for one test, closed when it ends. */
async function setup(t: TestContext, options: Partial<FakeTwilioOptions> = {}) {
  const fake = await startFakeTwilio({ accounts: [account, otherAccount], apiKeys: [apiKey], ...options });
  t.after(() => fake.close());
  const receiver = await startReceiver(t);
  return { fake, receiver, api: api(fake), create: (form: FormParams, auth = basic(account.accountSid, account.authToken)) => post(fake, callsPath(), form, auth) };
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

function callsPath(accountSid = account.accountSid, callSid?: string): string {
  return `/2010-04-01/Accounts/${accountSid}/Calls${callSid ? `/${callSid}` : ''}.json`;
}

function encode(form: FormParams): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
  return params.toString();
}

async function post(fake: FakeTwilio, path: string, form: FormParams, auth = basic(account.accountSid, account.authToken)) {
  const res = await fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: encode(form),
  });
  return { status: res.status, contentType: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
}

function api(fake: FakeTwilio) {
  return async (path: string, auth = basic(account.accountSid, account.authToken)) => {
    const res = await fetch(`${fake.url}${path}`, { headers: { authorization: auth } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}

function callForm(receiver: { url: (path: string) => string }, to: string, extra: FormParams = {}): FormParams {
  return {
    To: to,
    From: from,
    Twiml: '<Response><Connect><Stream url="wss://agent.example/stream"/></Connect></Response>',
    StatusCallback: receiver.url('/status'),
    StatusCallbackEvent: allEvents,
    ...extra,
  };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function assertSigned(received: Received, authToken = account.authToken): void {
  const signature = received.headers['x-twilio-signature'];
  assert.equal(typeof signature, 'string', 'X-Twilio-Signature is present');
  const params = received.method === 'POST' ? received.params : {};
  assert.ok(twilio.validateRequest(authToken, signature as string, received.url, params), `signature valid for ${received.url}`);
}

describe('fake Twilio', () => {
  it('signs the way twilio.validateRequest checks', () => {
    const url = 'https://redial.example/v1/redial/callbacks/twilio/att_1?x=1&y=%20z';
    const params = { CallSid: 'CA1', CallStatus: 'in-progress', To: '+12025550100', Caller: 'client:ä ö', AnsweredBy: '' };
    const signature = signTwilioRequest('tok', url, params);
    assert.equal(signature, twilio.getExpectedTwilioSignature('tok', url, params));
    assert.ok(twilio.validateRequest('tok', signature, url, params));
    assert.ok(!twilio.validateRequest('other', signature, url, params));
  });

  it("answers bad credentials with Twilio's 401 body and another account's URL with 404", async (t) => {
    const { fake, receiver, create } = await setup(t);
    const missing = await fetch(`${fake.url}${callsPath()}`, { method: 'POST' });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('content-type'), 'application/json');
    assert.deepEqual(await missing.json(), { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    assert.equal((await create(callForm(receiver, numbers.answer), basic(account.accountSid, 'wrong'))).status, 401);

    const foreign = await post(fake, callsPath(otherAccount.accountSid), callForm(receiver, numbers.answer));
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.code, 20404);

    assert.equal((await create(callForm(receiver, numbers.answer), basic(apiKey.sid, apiKey.secret))).status, 201, 'API key');
    const newToken = fake.rotateToken(account.accountSid);
    assert.equal((await create(callForm(receiver, numbers.answer))).status, 401, 'old token after rotation');
    assert.equal((await create(callForm(receiver, numbers.answer), basic(account.accountSid, newToken))).status, 201);
    assert.equal((await create(callForm(receiver, numbers.answer), basic(apiKey.sid, apiKey.secret))).status, 201, 'keys survive rotation');
    fake.revokeKey(apiKey.sid);
    assert.equal((await create(callForm(receiver, numbers.answer), basic(apiKey.sid, apiKey.secret))).status, 401, 'revoked key');

    await fake.settled();
    const signed = receiver.received.filter((r) => r.params.CallStatus === 'completed');
    assert.equal(signed.length, 3);
    for (const r of signed) assertSigned(r, newToken);
  });

  it('validates creates as Twilio does and creates nothing when it refuses', async (t) => {
    const { fake, receiver, create, api: get } = await setup(t);
    const cases: Array<[FormParams, number, number, string]> = [
      [{ From: from, Url: 'https://x.example/twiml' }, 400, 21201, "No 'To' number is specified"],
      [{ To: numbers.answer, Url: 'https://x.example/twiml' }, 400, 21213, "No 'From' number is specified"],
      [{ To: numbers.answer, From: from }, 400, 21205, 'Url parameter is required. For more information, see http://www.twilio.com/docs/api/twiml'],
      [{ To: '555-0100', From: from, Url: 'https://x.example/twiml' }, 400, 21211, "Invalid 'To' Phone Number: 555-0100"],
      [callForm(receiver, numbers.invalid), 400, 21211, `Invalid 'To' Phone Number: ${numbers.invalid}`],
      [callForm(receiver, numbers.providerError), 500, 20500, 'Internal Server Error'],
    ];
    for (const [form, status, code, message] of cases) {
      const res = await create(form);
      assert.equal(res.status, status, JSON.stringify(form));
      assert.equal(res.contentType, 'application/json');
      assert.deepEqual(res.body, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
    }
    const json = await fetch(`${fake.url}${callsPath()}`, {
      method: 'POST',
      headers: { authorization: basic(account.accountSid, account.authToken), 'content-type': 'application/json' },
      body: JSON.stringify(callForm(receiver, numbers.answer)),
    });
    assert.equal(((await json.json()) as { code: number }).code, 21201, 'a JSON body carries no form parameters');
    assert.deepEqual((await get(callsPath())).body.calls, []);
    assert.equal(fake.createCount(numbers.invalid), 1, 'refused by the number table, but counted as an attempt');
  });

  it('creates a call and reports initiated, ringing, answered and completed, signed and numbered', async (t) => {
    const { fake, receiver, create, api: get } = await setup(t);
    const res = await create(callForm(receiver, numbers.answer));
    assert.equal(res.status, 201);
    const call = res.body;
    const sid = call.sid as string;
    assert.match(sid, /^CA[0-9a-f]{32}$/);
    assert.equal(call.account_sid, account.accountSid);
    assert.equal(call.to, numbers.answer);
    assert.equal(call.to_formatted, '(202) 555-0100');
    assert.equal(call.from, from);
    assert.equal(call.status, 'queued');
    assert.equal(call.direction, 'outbound-api');
    assert.equal(call.api_version, '2010-04-01');
    assert.match(call.date_created as string, rfc2822);
    assert.equal(call.start_time, null);
    assert.equal(call.price, null);
    assert.equal(call.uri, `${callsPath(account.accountSid, sid)}`);
    assert.equal((call.subresource_uris as Record<string, string>).recordings, callsPath(account.accountSid, sid).replace('.json', '/Recordings.json'));

    const recorded = fake.requests.find((r) => r.method === 'POST');
    assert.deepEqual(recorded?.form.StatusCallbackEvent, allEvents, 'repeated parameters are kept as an array');
    assert.equal(recorded?.responseStatus, 201);

    await fake.settled(sid);
    assert.deepEqual(receiver.statuses(), ['initiated', 'ringing', 'in-progress', 'completed']);
    receiver.received.forEach((r, i) => {
      assert.equal(r.method, 'POST');
      assert.equal(r.params.CallSid, sid);
      assert.equal(r.params.AccountSid, account.accountSid);
      assert.equal(r.params.To, numbers.answer);
      assert.equal(r.params.From, from);
      assert.equal(r.params.Direction, 'outbound-api');
      assert.equal(r.params.ApiVersion, '2010-04-01');
      assert.equal(r.params.CallbackSource, 'call-progress-events');
      assert.equal(r.params.SequenceNumber, String(i));
      assert.match(r.params.Timestamp ?? '', rfc2822);
      assert.ok(r.headers['i-twilio-idempotency-token']);
      assertSigned(r);
    });
    const completed = receiver.received[3]!.params;
    assert.ok(Number(completed.CallDuration) >= 15, `CallDuration ${completed.CallDuration}`);
    assert.equal(completed.Duration, String(Math.ceil(Number(completed.CallDuration) / 60)));
    assert.equal(completed.SipResponseCode, '200');
    assert.equal(receiver.received[0]!.params.CallDuration, undefined);

    const fetched = (await get(callsPath(account.accountSid, sid))).body;
    assert.equal(fetched.status, 'completed');
    assert.equal(fetched.duration, completed.CallDuration);
    assert.match(fetched.start_time as string, rfc2822);
    assert.match(fetched.end_time as string, rfc2822);
    assert.deepEqual(
      fake.callbacks.map((c) => [c.params.CallStatus, c.delivery]),
      receiver.statuses().map((s) => [s, { kind: 'answered', status: 200 }]),
    );
  });

  it('sends the final status whatever is listed, and reads space-separated events', async (t) => {
    const { fake, receiver, create } = await setup(t);
    const { StatusCallbackEvent: _, ...noEvents } = callForm(receiver, numbers.answer);
    await create(noEvents);
    await fake.settled();
    assert.deepEqual(receiver.statuses(), ['completed']);
    assert.equal(receiver.received[0]!.params.SequenceNumber, '0');

    await create(callForm(receiver, numbers.busy, { StatusCallbackEvent: 'initiated' }));
    await create(callForm(receiver, numbers.answer, { StatusCallbackEvent: 'initiated answered', StatusCallback: receiver.url('/spaced') }));
    await fake.settled();
    assert.deepEqual(receiver.statuses().slice(1), ['initiated', 'busy']);
    assert.deepEqual(receiver.statuses('/spaced'), ['initiated', 'in-progress', 'completed']);
  });

  it('follows busy and no-answer numbers to their ends', async (t) => {
    const { fake, receiver, create, api: get } = await setup(t);
    const busy = (await create(callForm(receiver, numbers.busy))).body.sid as string;
    const noAnswer = (await create(callForm(receiver, numbers.noAnswer, { Timeout: '25', StatusCallback: receiver.url('/na') }))).body.sid as string;
    await fake.settled();
    assert.deepEqual(receiver.statuses(), ['initiated', 'busy']);
    assert.equal(receiver.received.find((r) => r.params.CallStatus === 'busy')?.params.SipResponseCode, '486');
    assert.deepEqual(receiver.statuses('/na'), ['initiated', 'ringing', 'no-answer']);
    assert.equal(receiver.received.find((r) => r.params.CallStatus === 'no-answer')?.params.CallDuration, undefined);
    assert.equal((await get(callsPath(account.accountSid, busy))).body.status, 'busy');
    assert.equal((await get(callsPath(account.accountSid, noAnswer))).body.status, 'no-answer');
  });

  it('counts creates per To number for the attempt-dependent numbers', async (t) => {
    const { fake, receiver, create } = await setup(t);
    for (let i = 0; i < 2; i++) await create(callForm(receiver, numbers.answersOnSecond));
    await fake.settled();
    assert.deepEqual(receiver.statuses().filter((s) => s !== 'initiated' && s !== 'ringing' && s !== 'in-progress'), ['no-answer', 'completed']);
    assert.equal(fake.createCount(numbers.answersOnSecond), 2);
    fake.resetCreateCounts();
    await create(callForm(receiver, numbers.answersOnSecond, { StatusCallbackEvent: [] }));
    await fake.settled();
    assert.equal(receiver.statuses().at(-1), 'no-answer', 'counting starts over');
  });

  it('reports asynchronous AMD to AsyncAmdStatusCallback: machine_start, machine_end_beep, human', async (t) => {
    const { fake, receiver, create, api: get } = await setup(t);
    const amd = (mode: string, path: string): FormParams => ({ MachineDetection: mode, AsyncAmd: 'true', AsyncAmdStatusCallback: receiver.url(path) });
    const machine = (await create(callForm(receiver, numbers.voicemail, amd('Enable', '/amd-1')))).body.sid as string;
    await create(callForm(receiver, numbers.voicemail, amd('DetectMessageEnd', '/amd-2')));
    await create(callForm(receiver, numbers.answer, amd('Enable', '/amd-3')));
    await fake.settled();
    const results = ['/amd-1', '/amd-2', '/amd-3'].map((path) => receiver.received.filter((r) => r.path === path));
    assert.deepEqual(results.map((r) => r.map((x) => x.params.AnsweredBy)), [['machine_start'], ['machine_end_beep'], ['human']]);
    for (const [r] of results) {
      assert.ok(Number(r!.params.MachineDetectionDuration) > 0);
      assert.ok(r!.params.CallSid?.startsWith('CA'));
      assertSigned(r!);
    }
    assert.ok(receiver.received.filter((r) => r.path === '/status').every((r) => r.params.AnsweredBy === undefined), 'async AMD stays off the status callbacks');
    assert.equal((await get(callsPath(account.accountSid, machine))).body.answered_by, 'machine_start');
  });

  it('puts synchronous AMD results on the answered and completed status callbacks', async (t) => {
    const { fake, receiver, create } = await setup(t);
    await create(callForm(receiver, numbers.voicemail, { MachineDetection: 'Enable' }));
    await create(callForm(receiver, numbers.answer, { MachineDetection: 'Enable', StatusCallback: receiver.url('/human') }));
    await fake.settled();
    const answeredBy = (path: string) => receiver.received.filter((r) => r.path === path).map((r) => [r.params.CallStatus, r.params.AnsweredBy]);
    assert.deepEqual(answeredBy('/status'), [
      ['initiated', undefined],
      ['ringing', undefined],
      ['in-progress', 'machine_start'],
      ['completed', 'machine_start'],
    ]);
    assert.deepEqual(answeredBy('/human').slice(2), [
      ['in-progress', 'human'],
      ['completed', 'human'],
    ]);
  });

  it('hangs up an answered call, cancels a ringing one, and leaves ended and answered calls alone', async (t) => {
    const { fake, receiver, create, api: get } = await setup(t, { timeScale: 0.01 });
    const sid = (await create(callForm(receiver, numbers.answer))).body.sid as string;
    await waitFor('answer', () => receiver.statuses().includes('in-progress'));
    const cancelAnswered = await post(fake, callsPath(account.accountSid, sid), { Status: 'canceled' });
    assert.equal(cancelAnswered.status, 200);
    assert.equal(cancelAnswered.body.status, 'in-progress', 'canceled does not touch an answered call');
    const hungUp = await post(fake, callsPath(account.accountSid, sid), { Status: 'completed' });
    assert.equal(hungUp.status, 200);
    assert.equal(hungUp.body.status, 'completed');
    await fake.settled(sid);
    assert.deepEqual(receiver.statuses(), ['initiated', 'ringing', 'in-progress', 'completed']);
    assert.ok(Number(receiver.received[3]!.params.CallDuration) < 60, 'hung up before the scripted 60 s of talk');
    const again = await post(fake, callsPath(account.accountSid, sid), { Status: 'completed' });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, (await get(callsPath(account.accountSid, sid))).body, 'an ended call is unchanged');

    const ringing = (await create(callForm(receiver, numbers.noAnswer, { StatusCallback: receiver.url('/ringing') }))).body.sid as string;
    await waitFor('ringing', () => receiver.statuses('/ringing').includes('ringing'));
    const canceled = await post(fake, callsPath(account.accountSid, ringing), { Status: 'canceled' });
    assert.equal(canceled.body.status, 'canceled');
    await fake.settled(ringing);
    assert.deepEqual(receiver.statuses('/ringing'), ['initiated', 'ringing', 'canceled']);
    assert.equal(receiver.received.at(-1)?.params.SipResponseCode, '487');

    const unknown = await post(fake, callsPath(account.accountSid, `CA${'0'.repeat(32)}`), { Status: 'completed' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 20404);
    assert.equal((await get(callsPath(account.accountSid, `CA${'0'.repeat(32)}`))).status, 404);
    const bad = await post(fake, callsPath(account.accountSid, sid), { Status: 'paused' });
    assert.equal(bad.status, 200, 'an ended call answers unchanged before the value is looked at');
  });

  it('lists calls by To, Status and start time, newest first, in pages', async (t) => {
    const { fake, receiver, create, api: get } = await setup(t);
    const a = numbers.answer;
    const sids: string[] = [];
    for (let i = 0; i < 3; i++) sids.push((await create(callForm(receiver, a))).body.sid as string);
    await create(callForm(receiver, numbers.busy));
    await fake.settled();
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

    const byTo = (await get(`${callsPath()}?To=${encodeURIComponent(a)}&StartTime>=${today}`)).body;
    assert.deepEqual((byTo.calls as Array<{ sid: string }>).map((c) => c.sid), [...sids].reverse());
    assert.equal(byTo.page, 0);
    assert.equal(byTo.page_size, 50);
    assert.equal(byTo.start, 0);
    assert.equal(byTo.end, 2);
    assert.equal(byTo.next_page_uri, null);
    assert.equal(byTo.previous_page_uri, null);
    assert.match(byTo.uri as string, /^\/2010-04-01\/Accounts\/AC[a]{32}\/Calls\.json\?To=%2B12025550100&StartTime%3E=\d{4}-\d{2}-\d{2}&PageSize=50&Page=0$/);

    assert.deepEqual((await get(`${callsPath()}?To=${encodeURIComponent(a)}&StartTime>=${tomorrow}`)).body.calls, []);
    assert.equal(((await get(`${callsPath()}?Status=busy`)).body.calls as unknown[]).length, 1);
    const since = encodeURIComponent(new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z'));
    assert.equal(((await get(`${callsPath()}?StartTime%3E=${since}`)).body.calls as unknown[]).length, 4, 'a date-time bound, as twilio-node sends it');
    assert.equal((await get(`${callsPath()}?StartTime%3E=yesterday`)).status, 400);

    const first = (await get(`${callsPath()}?To=${encodeURIComponent(a)}&PageSize=2`)).body;
    assert.equal((first.calls as unknown[]).length, 2);
    assert.ok(first.next_page_uri);
    const second = (await get(first.next_page_uri as string)).body;
    assert.deepEqual((second.calls as Array<{ sid: string }>).map((c) => c.sid), [sids[0]]);
    assert.equal(second.next_page_uri, null);
    assert.equal(second.start, 2);
    assert.equal(((await get(callsPath(otherAccount.accountSid), basic(otherAccount.accountSid, otherAccount.authToken))).body.calls as unknown[]).length, 0);
  });

  it('works with the official twilio library pointed at it', async (t) => {
    const { fake, receiver } = await setup(t);
    class FakeHttpClient extends twilio.RequestClient {
      override request<T>(opts: RequestClient.RequestOptions<T>) {
        return super.request<T>({ ...opts, uri: opts.uri.replace('https://api.twilio.com', fake.url) });
      }
    }
    const client = twilio(account.accountSid, account.authToken, { httpClient: new FakeHttpClient() });
    const call = await client.calls.create({
      to: numbers.answer,
      from,
      twiml: '<Response/>',
      statusCallback: receiver.url('/status'),
      statusCallbackEvent: allEvents,
      machineDetection: 'Enable',
      asyncAmd: 'true',
      asyncAmdStatusCallback: receiver.url('/amd'),
    });
    assert.match(call.sid, /^CA/);
    assert.equal(call.status, 'queued');
    assert.ok(call.dateCreated instanceof Date && !Number.isNaN(call.dateCreated.getTime()), 'the library parses date_created');
    await fake.settled(call.sid);
    assert.deepEqual(receiver.statuses(), ['initiated', 'ringing', 'in-progress', 'completed']);
    assert.equal((await client.calls(call.sid).fetch()).status, 'completed');
    const listed = await client.calls.list({ to: numbers.answer, startTimeAfter: new Date(Date.now() - 60_000), limit: 20 });
    assert.deepEqual(listed.map((c) => c.sid), [call.sid]);
    await assert.rejects(client.calls.create({ to: numbers.invalid, from, twiml: '<Response/>' }), (error: { status: number; code: number; message: string }) => {
      assert.equal(error.status, 400);
      assert.equal(error.code, 21211);
      return true;
    });
  });

  describe('faults', () => {
    it('status: answers 429, 500 and 503 with Twilio bodies for the next n creates, creating nothing', async (t) => {
      const { fake, receiver, create, api: get } = await setup(t);
      fake.inject(numbers.answer, { kind: 'status', status: 429, times: 2 });
      for (let i = 0; i < 2; i++) {
        const res = await create(callForm(receiver, numbers.answer));
        assert.equal(res.status, 429);
        assert.deepEqual(res.body, { code: 20429, message: 'Too Many Requests', more_info: 'https://www.twilio.com/docs/errors/20429', status: 429 });
      }
      assert.equal((await create(callForm(receiver, numbers.answer))).status, 201, 'the fault is used up');
      fake.inject(numbers.busy, { kind: 'status', status: 500 });
      fake.inject(numbers.noAnswer, { kind: 'status', status: 503 });
      for (let i = 0; i < 2; i++) assert.equal((await create(callForm(receiver, numbers.busy))).body.code, 20500, 'without times: until cleared');
      assert.deepEqual((await create(callForm(receiver, numbers.noAnswer))).body, {
        code: 20503,
        message: 'Service Unavailable',
        more_info: 'https://www.twilio.com/docs/errors/20503',
        status: 503,
      });
      fake.clearFaults(numbers.busy);
      assert.equal((await create(callForm(receiver, numbers.busy))).status, 201);
      await fake.settled();
      assert.equal(((await get(callsPath())).body.calls as unknown[]).length, 2);
    });

    it('hang: creates and runs the call but holds the response, then drops the connection', async (t) => {
      const { fake, receiver, create, api: get } = await setup(t);
      fake.inject(numbers.answer, { kind: 'hang', ms: 300 });
      const started = Date.now();
      await assert.rejects(create(callForm(receiver, numbers.answer)));
      assert.ok(Date.now() - started >= 250, 'held for the scripted time');
      assert.deepEqual(receiver.statuses(), ['initiated', 'ringing', 'in-progress', 'completed'], 'callbacks went out meanwhile');
      const listed = (await get(`${callsPath()}?To=${encodeURIComponent(numbers.answer)}`)).body.calls as Array<{ sid: string }>;
      assert.deepEqual(listed.map((c) => c.sid), [receiver.received[0]!.params.CallSid]);
      assert.equal(fake.requests.find((r) => r.method === 'POST')?.responseStatus, null);
    });

    it('out_of_order: the final status first, then the earlier ones with their own sequence numbers', async (t) => {
      const { fake, receiver, create } = await setup(t);
      fake.inject(numbers.answer, { kind: 'out_of_order' });
      await create(callForm(receiver, numbers.answer));
      await fake.settled();
      assert.deepEqual(
        receiver.received.map((r) => [r.params.CallStatus, r.params.SequenceNumber]),
        [
          ['completed', '3'],
          ['initiated', '0'],
          ['ringing', '1'],
          ['in-progress', '2'],
        ],
      );
      receiver.received.forEach((r) => assertSigned(r));
    });

    it('duplicate: every callback twice, identical', async (t) => {
      const { fake, receiver, create } = await setup(t);
      fake.inject(numbers.voicemail, { kind: 'duplicate' });
      await create(callForm(receiver, numbers.voicemail, { MachineDetection: 'Enable', AsyncAmd: 'true', AsyncAmdStatusCallback: receiver.url('/amd') }));
      await fake.settled();
      assert.equal(receiver.received.length, 10);
      for (let i = 0; i < receiver.received.length; i += 2) {
        const [a, b] = [receiver.received[i]!, receiver.received[i + 1]!];
        assert.deepEqual(b.params, a.params);
        assert.equal(b.headers['x-twilio-signature'], a.headers['x-twilio-signature']);
        assert.equal(b.headers['i-twilio-idempotency-token'], a.headers['i-twilio-idempotency-token']);
      }
      assert.deepEqual(fake.callbacks.map((c) => c.copy), [1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    });

    it('drop_callbacks: sends nothing and records what it dropped, until cleared', async (t) => {
      const { fake, receiver, create } = await setup(t);
      fake.inject(numbers.answer, { kind: 'drop_callbacks' });
      const dropped = (await create(callForm(receiver, numbers.answer))).body.sid as string;
      await fake.settled();
      assert.equal(receiver.received.length, 0);
      assert.deepEqual(fake.callbacks.map((c) => [c.callSid, c.params.CallStatus, c.delivery.kind]), [
        [dropped, 'initiated', 'dropped'],
        [dropped, 'ringing', 'dropped'],
        [dropped, 'in-progress', 'dropped'],
        [dropped, 'completed', 'dropped'],
      ]);
      fake.clearFaults();
      await create(callForm(receiver, numbers.answer));
      await fake.settled();
      assert.equal(receiver.received.length, 4);
    });
  });

  it('puts GET callbacks parameters in the signed URL', async (t) => {
    const { fake, receiver, create } = await setup(t);
    await create(callForm(receiver, numbers.busy, { StatusCallback: receiver.url('/status?attempt=att_1'), StatusCallbackMethod: 'GET' }));
    await fake.settled();
    assert.deepEqual(receiver.statuses(), ['initiated', 'busy']);
    for (const r of receiver.received) {
      assert.equal(r.method, 'GET');
      assert.equal(r.params.attempt, 'att_1');
      assertSigned(r);
    }
  });

  it('records callbacks the receiver refused or never got, without retrying', async (t) => {
    const { fake, receiver, create } = await setup(t, { callbackTimeoutMs: 1000 });
    receiver.answerWith(500);
    await create(callForm(receiver, numbers.busy));
    const closed = await startFakeTwilio({ accounts: [account] });
    const deadUrl = `${closed.url}/gone`;
    await closed.close();
    await create(callForm(receiver, numbers.busy, { StatusCallback: deadUrl }));
    await fake.settled();
    assert.equal(receiver.received.length, 2, 'each refused callback sent once');
    assert.deepEqual(fake.callbacks.map((c) => c.delivery.kind), ['answered', 'answered', 'failed', 'failed']);
    assert.deepEqual(fake.callbacks[0]?.delivery, { kind: 'answered', status: 500 });
  });

  it('close stops calls in flight', async (t) => {
    const receiver = await startReceiver(t);
    const fake = await startFakeTwilio({ accounts: [account], timeScale: 1 });
    await post(fake, callsPath(), callForm(receiver, numbers.answer));
    await waitFor('initiated', () => receiver.received.length > 0);
    const started = Date.now();
    await fake.close();
    assert.ok(Date.now() - started < 500, 'close does not wait for the call to end');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(receiver.statuses(), ['initiated'], 'nothing after close (ringing is due after 1 s)');
  });
});

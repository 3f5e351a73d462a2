/**
 * Twilio end to end: the official ElevenLabs SDK drives redial, redial drives the fake Twilio
 * REST API (test/fakes/twilio) over HTTP with the official twilio library, and the fake's signed
 * status callbacks drive every recipient to the number table's outcome.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ElevenLabsClient } from '@elevenlabs/elevenlabs-js';
import { getBatch, tableNumber, type WireBatch } from '../helpers/fixtures.js';
import { waitFor, type TestServer } from '../helpers/server.js';
import { fakeAuthToken, startTwilioStack, twilioAgentAndNumber } from '../helpers/twilio.js';
import type { FakeTwilio } from '../fakes/twilio/server.js';

/** The table's outcome of a first attempt when answering machines are detected. */
function firstOutcome(nn: number): { status: string; reason?: string } {
  if (nn <= 49) return { status: 'completed' };
  if (nn <= 59) return { status: 'failed', reason: 'no_answer' };
  if (nn <= 64) return { status: 'failed', reason: 'busy' };
  if (nn <= 69) return { status: 'voicemail' };
  if (nn <= 74) return { status: 'failed', reason: 'invalid_number' };
  if (nn <= 79) return { status: 'failed', reason: 'provider_error' };
  return { status: 'failed', reason: 'no_answer' };
}

async function settled(server: TestServer, batchId: string): Promise<WireBatch> {
  let batch: WireBatch | undefined;
  await waitFor(async () => {
    batch = await getBatch(server, batchId);
    return batch.status === 'completed' || batch.status === 'failed';
  }, 30_000, `batch ${batchId} to finish`);
  return batch!;
}

function createsTo(fake: FakeTwilio, to: string) {
  return fake.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/Calls.json') && request.form.To === to);
}

describe('Twilio through the fake REST API, driven by the official SDK', () => {
  let fake: FakeTwilio;
  let server: TestServer;
  let client: ElevenLabsClient;
  before(async () => {
    ({ fake, server, client } = await startTwilioStack());
  });
  after(async () => {
    await server.stop();
    await fake.close();
  });

  it('dials 100 table numbers once each, follows the callbacks to the table outcome, and retries only the retryable', async () => {
    const { agentId, phoneNumberId } = await twilioAgentAndNumber(client);
    const recipients = Array.from({ length: 100 }, (_, nn) => ({
      id: `nn-${nn}`,
      phoneNumber: tableNumber(nn),
      conversationInitiationClientData: { dynamicVariables: { first_name: `Ann ${nn}` } },
    }));
    const submitted = await client.conversationalAi.batchCalls.create({
      callName: 'twilio table',
      agentId,
      agentPhoneNumberId: phoneNumberId,
      recipients,
      telephonyCallConfig: { ringingTimeoutSecs: 30, twilioMachineDetection: { mode: 'enable' } },
    } as never);
    const first = await settled(server, submitted.id);
    assert.equal(first.status, 'completed');

    const byId = new Map(first.recipients!.map((recipient) => [recipient.id, recipient]));
    for (let nn = 0; nn < 100; nn++) {
      const recipient = byId.get(`nn-${nn}`)!;
      const expected = firstOutcome(nn);
      assert.equal(recipient.status, expected.status, `nn ${nn}`);
      if (expected.reason) assert.equal(recipient.reason, expected.reason, `nn ${nn} reason`);
      assert.equal(createsTo(fake, tableNumber(nn)).length, 1, `one create for nn ${nn}`);
    }

    // The create carried what Twilio needs: caller id, callbacks for every event, the ring time,
    // answering-machine detection, and the agent hand-off with the recipient's variables.
    const create = createsTo(fake, tableNumber(7))[0]!;
    assert.equal(create.form.From, '+14155550100');
    assert.equal(create.form.Timeout, '30');
    assert.equal(create.form.MachineDetection, 'Enable');
    assert.equal(create.form.AsyncAmd, 'true');
    assert.deepEqual([create.form.StatusCallbackEvent].flat().sort(), ['answered', 'completed', 'initiated', 'ringing']);
    assert.match(String(create.form.StatusCallback), new RegExp(`/v1/redial/callbacks/twilio/status/${submitted.id}/8/1$`));
    assert.match(String(create.form.Twiml), /<Connect><Stream url="wss:\/\/agent\.example\.test\/media">/);
    assert.match(String(create.form.Twiml), /<Parameter name="first_name" value="Ann 7"\/>/);

    // Every exchange is kept with its attempt, and the token never is.
    const exchanges = (await (await server.api(`/v1/redial/batch-calling/${submitted.id}/recipients/8/exchanges`)).json()) as {
      exchanges: { attempt: number; request: { method: string; url: string; headers: Record<string, string>; body: string }; response: { status: number } }[];
    };
    const creates = exchanges.exchanges.filter((exchange) => exchange.request.url.endsWith('/Calls.json'));
    assert.equal(creates.length, 1);
    assert.equal(creates[0]!.response.status, 201);
    assert.equal(creates[0]!.request.headers.Authorization, '[redacted]');
    // The verified callbacks Twilio sent are kept beside the create, signatures redacted.
    const callbacks = exchanges.exchanges.filter((exchange) => exchange.request.url.includes('/v1/redial/callbacks/twilio/'));
    assert.ok(callbacks.length >= 3, `${callbacks.length} callbacks kept`);
    assert.ok(callbacks.every((exchange) => exchange.request.headers['x-twilio-signature'] === '[redacted]'));
    assert.ok(callbacks.some((exchange) => exchange.request.body.includes('CallStatus=completed')));
    assert.ok(!JSON.stringify(exchanges).includes(fakeAuthToken));

    const createsBefore = fake.requests.filter((request) => request.path.endsWith('/Calls.json')).length;
    await client.conversationalAi.batchCalls.retry(submitted.id);
    const retried = await settled(server, submitted.id);
    const retryable = [...Array(100).keys()].filter((nn) => nn >= 50 && !(nn >= 70 && nn <= 74));
    assert.equal(fake.requests.filter((request) => request.path.endsWith('/Calls.json')).length - createsBefore, retryable.length);
    for (const nn of [70, 71, 72, 73, 74]) assert.equal(createsTo(fake, tableNumber(nn)).length, 1, `invalid nn ${nn} not re-dialed`);
    const after = new Map(retried.recipients!.map((recipient) => [recipient.id, recipient]));
    for (let nn = 80; nn <= 89; nn++) assert.equal(after.get(`nn-${nn}`)!.status, 'completed', `nn ${nn} answers its second attempt`);
  });

  it('places a single call through /v1/convai/twilio/outbound-call and returns its callSid', async () => {
    const { agentId, phoneNumberId } = await twilioAgentAndNumber(client);
    const response = await client.conversationalAi.twilio.outboundCall({ agentId, agentPhoneNumberId: phoneNumberId, toNumber: tableNumber(3, 303) });
    assert.equal(response.success, true);
    assert.match(response.callSid ?? '', /^CA[0-9a-f]{32}$/);
    assert.ok(fake.getCall(response.callSid!), 'the fake has the call');
  });

  it('refuses a forged callback with 403 and changes nothing; a replayed one changes nothing', async () => {
    const { agentId, phoneNumberId } = await twilioAgentAndNumber(client);
    const to = tableNumber(20, 404);
    const submitted = await client.conversationalAi.batchCalls.create({
      callName: 'forgery',
      agentId,
      agentPhoneNumberId: phoneNumberId,
      recipients: [{ phoneNumber: to }],
    });
    await settled(server, submitted.id);
    const real = fake.callbacks.find((callback) => callback.params.To === to && callback.params.CallStatus === 'completed')!;
    const body = new URLSearchParams({ ...real.params, CallStatus: 'busy' }).toString();
    const forged = await fetch(real.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': real.signature }, body });
    assert.equal(forged.status, 403);
    const unsigned = await fetch(real.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    assert.equal(unsigned.status, 403);
    const replayed = await fetch(real.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': real.signature, 'i-twilio-idempotency-token': real.idempotencyToken },
      body: new URLSearchParams(real.params).toString(),
    });
    assert.equal(replayed.status, 200);
    const batch = await getBatch(server, submitted.id);
    assert.equal(batch.recipients![0]!.status, 'completed');
  });
});

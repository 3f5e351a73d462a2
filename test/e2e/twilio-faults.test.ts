/**
 * Twilio when things go wrong: a create that never gets its answer, 429 and 500, rejected
 * credentials, callbacks out of order and twice. The fake (test/fakes/twilio) plays Twilio.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ElevenLabsClient } from '@elevenlabs/elevenlabs-js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { getBatch, tableNumber, type WireBatch } from '../helpers/fixtures.js';
import { waitFor, type TestServer } from '../helpers/server.js';
import type { FakeTwilio } from '../fakes/twilio/server.js';
import { fakeAccountSid, startTwilioStack, twilioAgentAndNumber } from '../helpers/twilio.js';

describe('Twilio faults', () => {
  let fake: FakeTwilio;
  let server: TestServer;
  let client: ElevenLabsClient;
  let agentId: string;
  let phoneNumberId: string;
  before(async () => {
    ({ fake, server, client } = await startTwilioStack({ carrierTimeoutSecs: 1 }));
    ({ agentId, phoneNumberId } = await twilioAgentAndNumber(client));
  });
  after(async () => {
    await server.stop();
    await fake.close();
  });

  async function runOne(to: string, name: string): Promise<WireBatch> {
    const submitted = await client.conversationalAi.batchCalls.create({ callName: name, agentId, agentPhoneNumberId: phoneNumberId, recipients: [{ phoneNumber: to }] });
    let batch: WireBatch | undefined;
    await waitFor(async () => {
      batch = await getBatch(server, submitted.id);
      return batch.status === 'completed' || batch.status === 'failed';
    }, 20_000, `${name} to finish`);
    return batch!;
  }

  const creates = (to: string) => fake.requests.filter((request) => request.path.endsWith('/Calls.json') && request.method === 'POST' && request.form.To === to);

  it('never sends a timed-out create again; the late callbacks settle the attempt', async () => {
    const to = tableNumber(10, 501);
    fake.inject(to, { kind: 'hang', ms: 3_000 });
    const batch = await runOne(to, 'hang');
    assert.equal(batch.recipients![0]!.status, 'completed');
    assert.equal(creates(to).length, 1);
  });

  it('finds a timed-out create by listing calls when no callback ever comes', async () => {
    const to = tableNumber(11, 501);
    fake.inject(to, { kind: 'hang', ms: 3_000 });
    fake.inject(to, { kind: 'drop_callbacks' });
    const submitted = await client.conversationalAi.batchCalls.create({ callName: 'hang+drop', agentId, agentPhoneNumberId: phoneNumberId, recipients: [{ phoneNumber: to }] });
    await waitFor(() => fake.requests.some((request) => request.method === 'GET' && request.path.endsWith('/Calls.json') && request.query.To === to), 30_000, 'the lookup');
    assert.equal(creates(to).length, 1);
    await waitFor(async () => (await getBatch(server, submitted.id)).recipients![0]!.status !== 'dispatched', 10_000, 'the found call to be followed');
  });

  for (const status of [429, 500] as const) {
    it(`treats ${status} as transient: provider_error, dialed again only by a retry`, async () => {
      const to = tableNumber(12, status === 429 ? 502 : 503);
      fake.inject(to, { kind: 'status', status, times: 1 });
      const batch = await runOne(to, `status ${status}`);
      assert.equal(batch.status, 'completed');
      assert.equal(batch.recipients![0]!.status, 'failed');
      assert.equal(batch.recipients![0]!.reason, 'provider_error');
      assert.equal(creates(to).length, 1, 'no automatic second create');
      await client.conversationalAi.batchCalls.retry(batch.id);
      await waitFor(async () => (await getBatch(server, batch.id)).recipients![0]!.status === 'completed', 20_000, 'the retry to answer');
      assert.equal(creates(to).length, 2);
    });
  }

  it('fails the batch with a readable reason when Twilio rejects the credentials', async () => {
    const { phoneNumberId: rejected } = await twilioAgentAndNumber(client);
    const newToken = fake.rotateToken(fakeAccountSid);
    try {
      const submitted = await client.conversationalAi.batchCalls.create({
        callName: 'rejected',
        agentId,
        agentPhoneNumberId: rejected,
        recipients: [{ phoneNumber: tableNumber(13, 504) }, { phoneNumber: tableNumber(14, 504) }],
      });
      let batch: WireBatch | undefined;
      await waitFor(async () => {
        batch = await getBatch(server, submitted.id);
        return batch.status === 'failed';
      }, 10_000, 'the batch to fail');
      assert.match(String(batch!.status_reason), /rejected the credentials/);
    } finally {
      await server.api(`/v1/convai/phone-numbers/${phoneNumberId}`, { method: 'PATCH', json: { token: newToken } });
    }
  });

  it('reaches the same outcome when callbacks come out of order or twice', async () => {
    const outOfOrder = tableNumber(15, 505);
    const twice = tableNumber(61, 505);
    fake.inject(outOfOrder, { kind: 'out_of_order' });
    fake.inject(twice, { kind: 'duplicate' });
    const answered = await runOne(outOfOrder, 'out of order');
    assert.equal(answered.recipients![0]!.status, 'completed');
    const busy = await runOne(twice, 'twice');
    assert.equal(busy.recipients![0]!.status, 'failed');
    assert.equal(busy.recipients![0]!.reason, 'busy');
    const events = (await (await server.api(`/v1/redial/batch-calling/${busy.id}/events`)).json()) as { events: { type: string }[] };
    assert.equal(events.events.filter((event) => event.type === 'recipient:fail').length, 1, 'one end, not two');
  });
});

describe('Twilio cancel', () => {
  let fake: FakeTwilio;
  let server: TestServer;
  let client: ElevenLabsClient;
  before(async () => {
    ({ fake, server, client } = await startTwilioStack({ timeScale: 0.01 }));
  });
  after(async () => {
    await server.stop();
    await fake.close();
  });

  it("keeps the phone number's calls per second", async () => {
    const { agentId, phoneNumberId } = await twilioAgentAndNumber(client, 5);
    const recipients = Array.from({ length: 11 }, (_, index) => ({ phoneNumber: tableNumber(index, 507) }));
    const submitted = await client.conversationalAi.batchCalls.create({ callName: 'paced', agentId, agentPhoneNumberId: phoneNumberId, recipients });
    await waitFor(() => fake.requests.filter((request) => request.path.endsWith('/Calls.json') && String(request.form.To).startsWith('+1507')).length === 11, 10_000, 'eleven creates');
    const times = fake.requests.filter((request) => request.path.endsWith('/Calls.json') && String(request.form.To).startsWith('+1507')).map((request) => request.receivedAt);
    // Each create has its own slot 1/5 s after the previous one; a timer may fire late but never
    // early, so no second holds more than five creates plus one that slipped, and eleven creates
    // span at least ten slots (less the first one's lateness).
    for (const start of times) assert.ok(times.filter((t) => t >= start && t < start + 1_000).length <= 6, `creates in the second from ${start}: ${JSON.stringify(times)}`);
    assert.ok(times.at(-1)! - times[0]! >= 10 * 200 - 100, `eleven creates spread over ${times.at(-1)! - times[0]!} ms`);
    await waitFor(async () => (await getBatch(server, submitted.id)).status === 'completed', 10_000, 'the paced batch');
  });

  it('hangs up ringing calls through the REST API when the batch is cancelled', async () => {
    const { agentId, phoneNumberId } = await twilioAgentAndNumber(client);
    const to = tableNumber(55, 506);
    const submitted = await client.conversationalAi.batchCalls.create({
      callName: 'cancel',
      agentId,
      agentPhoneNumberId: phoneNumberId,
      recipients: [{ phoneNumber: to }],
      telephonyCallConfig: { ringingTimeoutSecs: 300 },
    });
    await waitFor(async () => (await getBatch(server, submitted.id)).recipients![0]!.status === 'initiated', 10_000, 'the call to ring');
    await client.conversationalAi.batchCalls.cancel(submitted.id);
    await waitFor(() => fake.requests.some((request) => request.method === 'POST' && /\/Calls\/CA[0-9a-f]{32}\.json$/.test(request.path)), 5_000, 'the hang-up request');
    const hangUp = fake.requests.find((request) => request.method === 'POST' && /\/Calls\/CA[0-9a-f]{32}\.json$/.test(request.path))!;
    assert.equal(hangUp.form.Status, 'completed');
    const sid = hangUp.path.split('/').pop()!.replace('.json', '');
    await waitFor(() => ['canceled', 'completed'].includes(fake.getCall(sid)?.status ?? ''), 5_000, 'the call to end at the fake');
    assert.equal((await getBatch(server, submitted.id)).recipients![0]!.status, 'cancelled');
  });
});

describe('Twilio pacing when the process stops', () => {
  it('places no call that was still waiting for its dial slot, and records those as not dialed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'redial-paced-stop-'));
    const { fake, server, client } = await startTwilioStack({ dataDir });
    try {
      const { agentId, phoneNumberId } = await twilioAgentAndNumber(client, 0.5);
      const recipients = Array.from({ length: 3 }, (_, index) => ({ phoneNumber: tableNumber(index, 508) }));
      await client.conversationalAi.batchCalls.create({ callName: 'paced stop', agentId, agentPhoneNumberId: phoneNumberId, recipients });
      const createsTo508 = () => fake.requests.filter((request) => request.path.endsWith('/Calls.json') && String(request.form.To).startsWith('+1508')).length;
      await waitFor(() => createsTo508() === 1, 10_000, 'the first create');
      await server.stop();
      // The next slot was 2 s after the first: nothing may be dialed once the process stopped.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      assert.equal(createsTo508(), 1);
      // The two that waited end failed / provider_error (retryable), not left dispatched for a
      // later process to call uncertain.
      const store = openSqliteStore({ filename: join(dataDir, 'redial.db') });
      try {
        const [batch] = (await store.batchList({ workspaceId: 'default', limit: 1, before: null, agentId: null })).items;
        const recipients: { status: string; reason: string | null }[] = [];
        for await (const page of store.recipientPages(batch!.key, 100)) recipients.push(...page);
        const waited = recipients.filter((recipient) => recipient.status === 'failed' && recipient.reason === 'provider_error');
        assert.equal(waited.length, 2, JSON.stringify(recipients));
      } finally {
        await store.close();
      }
    } finally {
      await server.stop();
      await fake.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Twilio numbers and callback routes that cannot work', () => {
  let fake: FakeTwilio;
  let server: TestServer;
  before(async () => {
    ({ fake, server } = await startTwilioStack());
  });
  after(async () => {
    await server.stop();
    await fake.close();
  });

  it('refuses an API Key SID without the account auth token that signs callbacks', async () => {
    const response = await server.api('/v1/convai/phone-numbers', {
      method: 'POST',
      json: { provider: 'twilio', phone_number: '+14155550100', label: 'key', sid: 'SK' + '0'.repeat(32), token: 'key-secret', account_sid: 'AC' + '0'.repeat(32) },
    });
    assert.equal(response.status, 422);
    assert.match(await response.text(), /account_auth_token/);
  });

  for (const name of ['constructor', '__proto__', 'simulated', 'sip_trunk']) {
    it(`answers 404 to a callback for '${name}', which takes none`, async () => {
      const response = await fetch(`${server.url}/v1/redial/callbacks/${name}/status/btcal_x/1/1`, { method: 'POST', body: 'CallSid=CA1' });
      assert.equal(response.status, 404);
    });
  }
});

describe('Twilio final callbacks that never arrive', () => {
  it('asks Twilio about a call that should have ended, and records how it ended', async () => {
    // Leases renewed (and overdue calls checked) every 0.5 s; a call is overdue 1 s after its ringing timeout.
    const { fake, server, client } = await startTwilioStack({ config: { leaseTtlSecs: 1.5, maxCallSecs: 1 } });
    try {
      const { agentId, phoneNumberId } = await twilioAgentAndNumber(client);
      const to = tableNumber(21, 509);
      fake.inject(to, { kind: 'drop_callbacks' });
      const submitted = await client.conversationalAi.batchCalls.create({
        callName: 'lost callbacks',
        agentId,
        agentPhoneNumberId: phoneNumberId,
        recipients: [{ phoneNumber: to }],
        telephonyCallConfig: { ringingTimeoutSecs: 1 },
      });
      await waitFor(async () => (await getBatch(server, submitted.id)).recipients![0]!.status === 'completed', 15_000, 'the overdue lookup to settle the call');
      assert.ok(fake.requests.some((request) => request.method === 'GET' && /\/Calls\/CA[0-9a-f]{32}\.json$/.test(request.path)), 'the call was fetched');
      assert.ok(fake.callbacks.filter((callback) => callback.params.To === to).every((callback) => callback.delivery.kind === 'dropped'));
    } finally {
      await server.stop();
      await fake.close();
    }
  });
});

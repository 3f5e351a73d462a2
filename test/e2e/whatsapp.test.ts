/**
 * WhatsApp end to end: a WhatsApp number registered over the API, a batch with whatsapp_params,
 * the fake Graph API (test/fakes/whatsapp) sending signed webhooks to redial's callback route,
 * and the fake agent making the SDP offer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeAgent, type FakeAgent } from '../fakes/whatsapp/agent.js';
import { startFakeGraph, type FakeGraph } from '../fakes/whatsapp/server.js';
import type { FakeGraphNumber } from '../fakes/whatsapp/types.js';
import { getBatch, submitBatch, type WireBatch } from '../helpers/fixtures.js';
import { startTestServer, unusedPort, waitFor, type TestServer } from '../helpers/server.js';
import { graphPhoneNumberId, secrets, waUser } from '../whatsapp/harness.js';

describe('WhatsApp batches through the callback route', () => {
  let fake: FakeGraph;
  let agent: FakeAgent;
  let server: TestServer;
  let webhookUrl: string;
  let agentId: string;
  const number: FakeGraphNumber = {
    phoneNumberId: graphPhoneNumberId,
    displayPhoneNumber: '12025550000',
    wabaId: '102290129340398',
    accessToken: secrets.access_token,
    appSecret: secrets.app_secret,
    webhookUrl: '',
  };

  before(async () => {
    fake = await startFakeGraph({ numbers: [number], timeScale: 0.01 });
    agent = await startFakeAgent();
    const port = await unusedPort();
    server = await startTestServer({
      simulate: false,
      port,
      publicUrl: `http://127.0.0.1:${port}`,
      whatsappApiUrl: fake.graphApiUrl,
      whatsappPermissionTimeoutSecs: 1,
      carrierTimeoutSecs: 2,
    });
    const created = await server.api('/v1/convai/phone-numbers', {
      method: 'POST',
      json: { provider: 'whatsapp', phone_number: '+12025550000', label: 'WhatsApp', whatsapp_phone_number_id: graphPhoneNumberId, ...secrets },
    });
    assert.equal(created.status, 200, await created.clone().text());
    const { phone_number_id: phoneNumberId } = (await created.json()) as { phone_number_id: string };
    webhookUrl = `${server.url}/v1/redial/callbacks/whatsapp/${phoneNumberId}`;
    // Meta's app dashboard is where this URL is set; the fake reads it from the number.
    number.webhookUrl = webhookUrl;
    const agentResponse = await server.api('/v1/convai/agents/create', { method: 'POST', json: { conversation_config: {}, name: 'wa', handoff: { sdp_url: agent.url } } });
    agentId = ((await agentResponse.json()) as { agent_id: string }).agent_id;
  });
  after(async () => {
    await server.stop();
    await agent.close();
    await fake.close();
  });

  it('answers the verification handshake only with the verify token', async () => {
    const ok = await fetch(`${webhookUrl}?hub.mode=subscribe&hub.verify_token=${secrets.webhook_verify_token}&hub.challenge=1158201444`);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), '1158201444');
    const wrong = await fetch(`${webhookUrl}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1`);
    assert.equal(wrong.status, 403);
  });

  it('drives each user to the outcome of the permission and the call, and retries only the retryable', async () => {
    const users = {
      answers: waUser(5),
      declines: waUser(5, 303),
      neverAnswers: waUser(6, 404),
      rejects: waUser(62),
    };
    const submitted = await submitBatch(server, {
      call_name: 'whatsapp',
      agent_id: agentId,
      whatsapp_params: {
        whatsapp_phone_number_id: graphPhoneNumberId,
        whatsapp_call_permission_request_template_name: 'call_permission_request',
        whatsapp_call_permission_request_template_language_code: 'en_US',
      },
      telephony_call_config: { ringing_timeout_secs: 2 },
      recipients: Object.entries(users).map(([id, user]) => ({ id, whatsapp_user_id: user })),
    });
    let batch: WireBatch | undefined;
    await waitFor(async () => {
      batch = await getBatch(server, submitted.id);
      return batch.status === 'completed';
    }, 20_000, 'the WhatsApp batch');
    const byId = new Map(batch!.recipients!.map((recipient) => [recipient.id, recipient]));
    assert.equal(byId.get('answers')!.status, 'completed');
    assert.deepEqual([byId.get('declines')!.status, byId.get('declines')!.reason], ['failed', 'permission_declined']);
    assert.deepEqual([byId.get('neverAnswers')!.status, byId.get('neverAnswers')!.reason], ['failed', 'permission_timeout']);
    assert.deepEqual([byId.get('rejects')!.status, byId.get('rejects')!.reason], ['failed', 'rejected']);
    assert.ok(agent.requests.some((request) => request.action === 'answer'), 'the agent got the SDP answer');

    const permissionRequests = (user: string) => fake.requests.filter((request) => request.path.endsWith('/messages') && JSON.stringify(request.body ?? '').includes(user)).length;
    const declinedBefore = permissionRequests(users.declines);
    await server.api(`/v1/convai/batch-calling/${submitted.id}/retry`, { method: 'POST' });
    await waitFor(async () => (await getBatch(server, submitted.id)).status === 'completed', 20_000, 'the retry');
    assert.equal(permissionRequests(users.declines), declinedBefore, 'a declined user is not asked again');
  });

  it('refuses a webhook with a bad signature', async () => {
    const response = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) },
      body: JSON.stringify({ object: 'whatsapp_business_account', entry: [] }),
    });
    assert.equal(response.status, 403);
  });
});

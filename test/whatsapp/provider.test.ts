/**
 * The WhatsApp provider against the fake Graph API: permission granted / declined / never
 * answered, then answered / rejected / unanswered calls, forged and replayed webhooks, the GET
 * handshake, Graph failures and their classes, a timed-out write that is never re-sent,
 * hang-up, reconciliation, and what is kept of every exchange.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ProviderCallError } from '../../src/telephony/provider.js';
import { whatsappProviderCallId } from '../../src/telephony/whatsapp/provider.js';
import { cannedOfferSdp } from '../fakes/whatsapp/agent.js';
import { callTerminate, permissionReply } from '../fakes/whatsapp/webhooks.js';
import { graphPhoneNumberId, kinds, providerTimings, secrets, setup, waitFor, waUser, type Harness } from './harness.js';

describe('whatsapp provider', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await setup();
  });
  afterEach(async () => {
    await h.close();
  });

  const graphRequests = (endpoint: string, action?: string) =>
    h.fake.requests.filter((r) => r.endpoint === endpoint && (action === undefined || r.action === action));

  describe('permission granted', () => {
    it('asks, calls, hands SDP both ways, and completes an answered call', async () => {
      const user = waUser(0);
      const request = h.request(user);
      const { providerCallId } = await h.provider.placeCall(request);
      assert.equal(providerCallId, whatsappProviderCallId(request));

      const end = await h.waitForEnd(providerCallId);
      assert.deepEqual(end, { kind: 'ended', outcome: 'completed' });
      assert.deepEqual(kinds(h.events(providerCallId)), ['initiated', 'answered', 'ended:completed']);

      assert.equal(graphRequests('call_permissions').length, 1);
      assert.equal(graphRequests('call_permissions')[0]!.query.user_wa_id, user);
      const [message] = graphRequests('messages');
      assert.deepEqual(message!.body, {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: user,
        type: 'template',
        template: { name: 'call_permission_request', language: { code: 'en_US' } },
      });
      const connects = graphRequests('calls', 'connect');
      assert.equal(connects.length, 1);
      assert.deepEqual(connects[0]!.body, {
        messaging_product: 'whatsapp',
        to: user,
        action: 'connect',
        session: { sdp_type: 'offer', sdp: cannedOfferSdp },
        biz_opaque_callback_data: providerCallId,
      });
      assert.equal(graphRequests('calls', 'terminate').length, 0, 'the user hung up: nothing to terminate');

      await waitFor(() => h.agent.requests.some((r) => r.action === 'terminate'), 2_000, 'the agent to hear the end');
      assert.deepEqual(
        h.agent.requests.map((r) => r.action),
        ['offer', 'answer', 'terminate'],
      );
      const [offer, answer, terminate] = h.agent.requests;
      assert.deepEqual(offer!.body.dynamic_variables, { customer_name: 'Ada' });
      assert.equal(offer!.call.provider_call_id, providerCallId);
      assert.equal(offer!.call.whatsapp_user_id, user);
      assert.match(String(answer!.body.sdp), /^v=0/);
      assert.equal(terminate!.body.reason, 'completed');
      const callId = h.fake.calls()[0]!.id;
      assert.equal(answer!.call.whatsapp_call_id, callId);

      const answered = h.sink.events.find((e) => e.providerCallId === providerCallId && e.event.kind === 'answered');
      assert.equal(answered?.providerState?.call_id, callId, 'the call id is kept for a process that reclaims the attempt');
      assert.equal(answered?.providerState?.phase, 'answered');
    });

    it('rejected by the user → failed rejected', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(60)));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'rejected' });
      assert.deepEqual(kinds(h.events(providerCallId)), ['initiated', 'ended:rejected']);
      assert.equal(graphRequests('calls', 'terminate').length, 0);
    });

    it('not answered within the ringing timeout → terminated by us, failed no_answer', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(50)));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'no_answer' });
      await waitFor(() => graphRequests('calls', 'terminate').length === 1, 2_000, 'the terminate request');
      assert.equal(h.fake.calls()[0]!.endedBy, 'business');
      await waitFor(() => h.agent.requests.some((r) => r.action === 'terminate'), 2_000, 'the agent to hear the end');
      // Meta's own terminate webhook follows ours and changes nothing.
      await waitFor(() => h.fake.webhooks.some((w) => w.kind === 'call_terminate' && w.delivery.kind === 'answered'), 2_000, 'the terminate webhook');
      assert.deepEqual(kinds(h.events(providerCallId)), ['initiated', 'ended:no_answer']);
    });

    it('already granted (e.g. through the business profile) → no request, straight to the call', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(1, 505)));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'completed' });
      assert.equal(graphRequests('messages').length, 0);
      assert.equal(graphRequests('calls', 'connect').length, 1);
    });
  });

  describe('permission refused', () => {
    it('declined → failed permission_declined, no call', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(0, 303)));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'permission_declined' });
      assert.equal(graphRequests('calls').length, 0);
      assert.equal(h.agent.requests.length, 0, 'no offer was asked for');
    });

    it('never answered → failed permission_timeout after the permission timeout, no call', async () => {
      const started = Date.now();
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(0, 404)));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'permission_timeout' });
      assert.ok(Date.now() - started >= providerTimings.permissionTimeoutMs - 20);
      assert.equal(graphRequests('calls').length, 0);
    });

    it('a late acceptance after the timeout changes nothing', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(0, 404)));
      await h.waitForEnd(providerCallId);
      const messageId = h.fake.webhooks.find((w) => w.kind === 'message_status')!.subjectId!;
      const late = await h.fake.sendWebhook(graphPhoneNumberId, 'messages', permissionReply(fakeNumber(h), messageId, waUser(0, 404), true, Math.floor(Date.now() / 1000)));
      assert.deepEqual(late.delivery, { kind: 'answered', status: 200 });
      assert.equal(graphRequests('calls').length, 0);
      assert.equal(h.events(providerCallId).length, 1);
    });
  });

  describe('invalid recipients', () => {
    it('a user WhatsApp cannot deliver the request to (131026 status) → failed invalid_number', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(70)));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'invalid_number' });
    });

    it('a request refused at once (131030) → ProviderCallError invalid_number', async () => {
      const error = await rejection(h.provider.placeCall(h.request(waUser(73))));
      assert.equal(error.reason, 'invalid_number');
      assert.equal(error.failsBatch, false);
    });

    it('no whatsapp_user_id → invalid_number', async () => {
      const error = await rejection(h.provider.placeCall(h.request('', { whatsappUserId: null })));
      assert.equal(error.reason, 'invalid_number');
    });
  });

  describe('webhooks', () => {
    it('answers the GET verification handshake only with the verify token', async () => {
      const handshake = (query: Record<string, string>, id = h.phoneNumber.id) =>
        h.provider.handleCallback({ method: 'GET', path: `/${id}`, publicUrl: h.webhookUrl, headers: {}, query, rawBody: Buffer.alloc(0) });
      const ok = await handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': secrets.webhook_verify_token, 'hub.challenge': '1158201444' });
      assert.deepEqual(ok, { status: 200, contentType: 'text/plain', body: '1158201444' });
      assert.equal((await handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'guess', 'hub.challenge': '1' })).status, 403);
      assert.equal((await handshake({ 'hub.mode': 'unsubscribe', 'hub.verify_token': secrets.webhook_verify_token, 'hub.challenge': '1' })).status, 403);
      assert.equal((await handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': secrets.webhook_verify_token, 'hub.challenge': '1' }, 'phnum_unknown')).status, 403);
      // Over HTTP too, as Meta does it.
      const response = await fetch(`${h.webhookUrl}?hub.mode=subscribe&hub.verify_token=${secrets.webhook_verify_token}&hub.challenge=abc`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'abc');
    });

    it('refuses forged webhooks with 403 and changes nothing', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(0, 404)));
      const before = h.sink.events.length;
      // A permission grant signed with another secret, and a genuine signature over another body.
      const forged = await h.fake.sendWebhook(graphPhoneNumberId, 'messages', permissionReply(fakeNumber(h), 'wamid.x', waUser(0, 404), true, Math.floor(Date.now() / 1000)), {
        signWith: 'not-the-app-secret',
      });
      assert.deepEqual(forged.delivery, { kind: 'answered', status: 403 });
      const sent = h.fake.webhooks.find((w) => w.kind === 'message_status')!;
      await waitFor(() => sent.delivery.kind !== 'pending', 1_000, 'a genuine webhook');
      const tampered = await h.fake.replay({ ...sent, body: sent.body.replace('"sent"', '"failed"') });
      assert.deepEqual(tampered.delivery, { kind: 'answered', status: 403 });
      const unsigned = await fetch(h.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sent.body });
      assert.equal(unsigned.status, 403);
      assert.equal(h.sink.events.length, before);
      assert.equal(graphRequests('calls').length, 0, 'the forged grant placed no call');
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'permission_timeout' });
    });

    it('duplicate webhooks change nothing', async () => {
      h.fake.setWebhookMode({ duplicate: true });
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(2)));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'completed' });
      await h.fake.drained();
      assert.deepEqual(kinds(h.events(providerCallId)), ['initiated', 'answered', 'ended:completed']);
      assert.equal(h.events(providerCallId).filter((e) => e.kind === 'answered').length, 1);
      assert.equal(graphRequests('calls', 'connect').length, 1, 'a duplicate grant places no second call');
      assert.equal(h.agent.requests.filter((r) => r.action === 'answer').length, 1);
    });

    it('replayed webhooks after the end change nothing', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(3)));
      await h.waitForEnd(providerCallId);
      await h.fake.drained();
      const count = h.sink.events.length;
      for (const webhook of [...h.fake.webhooks]) {
        const again = await h.fake.replay(webhook);
        assert.deepEqual(again.delivery, { kind: 'answered', status: 200 });
      }
      assert.equal(h.sink.events.length, count);
      assert.equal(graphRequests('calls', 'connect').length, 1);
    });

    it('out-of-order webhooks (the end first) still end the call once, as completed', async () => {
      h.fake.setWebhookMode({ reverseCalls: true });
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(4), { ringingTimeoutSecs: 5 }));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'completed' });
      await h.fake.drained();
      const after = h.events(providerCallId);
      assert.equal(after.filter((e) => e.kind === 'ended').length, 1);
      assert.equal(after[after.length - 1]!.kind, 'ended', 'the late ACCEPTED after the end changed nothing');
    });

    it('a terminate for a call we do not know is ignored', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(0, 404)));
      const stray = await h.fake.sendWebhook(graphPhoneNumberId, 'calls', callTerminate(fakeNumber(h), 'wacid.stranger', waUser(0, 404), 0, 'wa.btcal_other.1.1', null));
      assert.deepEqual(stray.delivery, { kind: 'answered', status: 200 });
      assert.equal(h.events(providerCallId).length, 0);
    });
  });

  describe('Graph failures', () => {
    it('rejected credentials fail the batch with a readable reason', async () => {
      h.fake.inject({ kind: 'reject_credentials' });
      const error = await rejection(h.provider.placeCall(h.request(waUser(0))));
      assert.equal(error.failsBatch, true);
      assert.equal(error.reason, 'provider_error');
      assert.match(error.message, /access token/);
      assert.match(error.message, new RegExp(graphPhoneNumberId));
    });

    it('credentials rejected after the permission request fail the batch through the ended event', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(0)));
      h.fake.inject({ kind: 'reject_credentials' });
      try {
        await h.waitForEnd(providerCallId);
        const ended = h.sink.events.find((e) => e.providerCallId === providerCallId && e.event.kind === 'ended')!;
        assert.deepEqual(ended.event, { kind: 'ended', outcome: 'failed', reason: 'provider_error' });
        assert.match(ended.failsBatch ?? '', /access token/);
      } finally {
        h.fake.clearFaults();
      }
    });

    it('429 and 500 on the permission request are transient provider_error', async () => {
      for (const httpStatus of [429, 500] as const) {
        h.fake.inject({ kind: 'status', endpoint: 'messages', httpStatus });
        const error = await rejection(h.provider.placeCall(h.request(waUser(0))));
        assert.equal(error.reason, 'provider_error', `HTTP ${httpStatus}`);
        assert.equal(error.failsBatch, false);
      }
    });

    it('a 503 on the call itself is provider_error', async () => {
      h.fake.inject({ kind: 'status', endpoint: 'calls', action: 'connect', httpStatus: 503 });
      const error = await rejection(h.provider.placeCall(h.request(waUser(0, 505))));
      assert.equal(error.reason, 'provider_error');
      assert.equal(error.failsBatch, false);
    });

    it('a failing permission lookup does not fail the attempt: it asks instead', async () => {
      h.fake.inject({ kind: 'status', endpoint: 'call_permissions', httpStatus: 429 });
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(5)));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'completed' });
      assert.equal(graphRequests('messages').length, 1);
    });

    it('a template Meta does not know fails the batch', async () => {
      await h.close();
      h = await setup({ templates: [{ name: 'another_template', language: 'en_US' }] });
      const error = await rejection(h.provider.placeCall(h.request(waUser(0))));
      assert.equal(error.failsBatch, true);
      assert.match(error.message, /'call_permission_request' \(en_US\)/);
    });

    it('no whatsapp_params fails the batch', async () => {
      const error = await rejection(h.provider.placeCall(h.request(waUser(0), { whatsappParams: null })));
      assert.equal(error.failsBatch, true);
      assert.match(error.message, /whatsapp_call_permission_request_template_name/);
    });

    it('an agent without handoff.sdp_url fails the batch', async () => {
      const error = await rejection(h.provider.placeCall(h.request(waUser(0), { agent: { ...h.agentRecord, handoff: null } })));
      assert.equal(error.failsBatch, true);
      assert.match(error.message, /handoff\.sdp_url/);
    });

    it("the agent's SDP endpoint failing after the grant ends the attempt provider_error, no call", async () => {
      h.agent.failOffers(500);
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(0)));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'provider_error' });
      assert.equal(graphRequests('calls').length, 0);
    });
  });

  describe('a write that timed out is never sent again', () => {
    it('connect: the call is followed through its late webhooks', async () => {
      h.fake.inject({ kind: 'hold', endpoint: 'calls', action: 'connect', ms: providerTimings.requestTimeoutMs + 300 });
      h.fake.setWebhookMode({ delayMs: providerTimings.requestTimeoutMs + 100 });
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(6, 505), { ringingTimeoutSecs: 2 }));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'completed' });
      assert.equal(graphRequests('calls', 'connect').length, 1);
      const unanswered = h.sink.exchanges.filter((x) => x.request.url.endsWith('/calls') && x.response === null);
      assert.equal(unanswered.length, 1, 'the timed-out exchange is kept, with its error');
      assert.match(unanswered[0]!.error ?? '', /no answer within/);
    });

    it('connect, then a hang-up before any webhook: the call is ended when a webhook names it', async () => {
      h.fake.inject({ kind: 'hold', endpoint: 'calls', action: 'connect', ms: providerTimings.requestTimeoutMs + 300 });
      h.fake.setWebhookMode({ delayMs: providerTimings.requestTimeoutMs + 200 });
      // A user who lets it ring, so the call is still live when its first webhook comes.
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(55, 505), { ringingTimeoutSecs: 5 }));
      await h.provider.hangUp({ providerCallId });
      await waitFor(() => graphRequests('calls', 'terminate').length === 1, 3_000, 'the terminate of the unclaimed call');
      assert.equal(h.fake.calls()[0]!.endedBy, 'business');
      assert.equal(graphRequests('calls', 'connect').length, 1);
    });

    it('permission request: the reply still counts', async () => {
      h.fake.inject({ kind: 'hold', endpoint: 'messages', ms: providerTimings.requestTimeoutMs + 300 });
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(7)));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'completed' });
      assert.equal(graphRequests('messages').length, 1);
    });

    it('permission request with no reply → dispatch_uncertain, not a second request', async () => {
      h.fake.inject({ kind: 'hold', endpoint: 'messages', ms: providerTimings.requestTimeoutMs + 300 });
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(0, 404)));
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'dispatch_uncertain' });
      assert.equal(graphRequests('messages').length, 1);
    });
  });

  describe('hang-up', () => {
    it('while waiting for permission: stops waiting, places no call, reports nothing; twice is fine', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(0, 404)));
      await h.provider.hangUp({ providerCallId });
      await h.provider.hangUp({ providerCallId });
      await new Promise((resolve) => setTimeout(resolve, providerTimings.permissionTimeoutMs + 100));
      assert.equal(h.events(providerCallId).length, 0, 'no permission_timeout after a hang-up');
      assert.equal(graphRequests('calls').length, 0);
    });

    it('during the call: one terminate, however many hang-ups', async () => {
      const { providerCallId } = await h.provider.placeCall(h.request(waUser(8), { ringingTimeoutSecs: 5 }));
      await waitFor(() => h.events(providerCallId).some((e) => e.kind === 'answered'), 3_000, 'the answer');
      await Promise.all([h.provider.hangUp({ providerCallId }), h.provider.hangUp({ providerCallId })]);
      await h.provider.hangUp({ providerCallId });
      assert.equal(graphRequests('calls', 'terminate').length, 1);
      assert.equal(h.fake.calls()[0]!.endedBy, 'business');
      assert.ok(h.agent.requests.some((r) => r.action === 'terminate' && r.body.reason === 'hung_up'));
      await h.fake.drained();
      assert.equal(h.events(providerCallId).filter((e) => e.kind === 'ended').length, 0, 'the engine records a hang-up itself');
    });

    it('of a call nobody here follows: terminated through the id kept with the attempt', async () => {
      const request = h.request(waUser(9), { ringingTimeoutSecs: 5 });
      const { providerCallId } = await h.provider.placeCall(request);
      await waitFor(() => h.events(providerCallId).some((e) => e.kind === 'answered'), 3_000, 'the answer');
      const state = h.sink.events.filter((e) => e.providerCallId === providerCallId).at(-1)!.providerState!;
      h.placed.set(providerCallId, { ...request, providerCallId, dialedAt: Date.now(), providerState: state });
      await h.restartProvider();
      await h.provider.hangUp({ providerCallId });
      await h.provider.hangUp({ providerCallId });
      assert.equal(graphRequests('calls', 'terminate').length, 1);
      assert.equal(h.fake.calls()[0]!.state, 'ended');
    });

    it('of an unknown id resolves', async () => {
      await h.provider.hangUp({ providerCallId: 'wa.btcal_nope.1.1' });
      await h.provider.hangUp({ providerCallId: 'not-ours' });
    });
  });

  describe('lookUp after a crash', () => {
    it('a call with an id: ended by us, completed if it was answered', async () => {
      const request = h.request(waUser(10), { ringingTimeoutSecs: 5 });
      const { providerCallId } = await h.provider.placeCall(request);
      await waitFor(() => h.events(providerCallId).some((e) => e.kind === 'answered'), 3_000, 'the answer');
      const state = h.sink.events.filter((e) => e.providerCallId === providerCallId).at(-1)!.providerState!;
      await h.restartProvider();
      const lookup = await h.provider.lookUp({ ...request, providerCallId, dialedAt: Date.now(), providerState: state });
      assert.equal(lookup.kind, 'ended');
      assert.deepEqual(lookup.kind === 'ended' && lookup.event, { kind: 'ended', outcome: 'completed' });
      assert.equal(graphRequests('calls', 'terminate').length, 1);
    });

    it('still waiting for permission: adopted, and called once the user has granted it', async () => {
      const request = h.request(waUser(11, 404));
      const { providerCallId } = await h.provider.placeCall(request);
      await h.restartProvider();
      h.fake.grantPermission(graphPhoneNumberId, waUser(11, 404));
      const lookup = await h.provider.lookUp({ ...request, providerCallId, dialedAt: Date.now(), providerState: null });
      assert.deepEqual(lookup, { kind: 'live', answered: false });
      assert.deepEqual(await h.waitForEnd(providerCallId), { kind: 'ended', outcome: 'completed' });
      assert.equal(graphRequests('messages').length, 1, 'no second permission request');
    });

    it('still waiting past the permission timeout: permission_timeout', async () => {
      const request = h.request(waUser(12, 404));
      const { providerCallId } = await h.provider.placeCall(request);
      await h.restartProvider();
      const lookup = await h.provider.lookUp({ ...request, providerCallId, dialedAt: Date.now() - 10_000, providerState: null });
      assert.equal(lookup.kind, 'ended');
      assert.deepEqual(lookup.kind === 'ended' && lookup.event, { kind: 'ended', outcome: 'failed', reason: 'permission_timeout' });
    });

    it('a connect whose id never came back: unknown', async () => {
      const request = h.request(waUser(13));
      const lookup = await h.provider.lookUp({ ...request, providerCallId: whatsappProviderCallId(request), dialedAt: Date.now(), providerState: { phase: 'connecting', call_id: null } });
      assert.deepEqual(lookup, { kind: 'unknown' });
    });
  });

  it('keeps every exchange with its attempt, with the access token and app secret blanked', async () => {
    const { providerCallId } = await h.provider.placeCall(h.request(waUser(14)));
    await h.waitForEnd(providerCallId);
    const agentExchanges = () => h.sink.exchanges.filter((x) => x.request.url === h.agent.url);
    await waitFor(() => agentExchanges().some((x) => x.request.body?.includes('"terminate"') === true), 2_000, 'the agent to hear the end');
    const graph = h.sink.exchanges.filter((x) => x.request.url.startsWith(h.fake.graphApiUrl));
    assert.equal(graph.length, h.fake.requests.length, 'one exchange per Graph request');
    assert.equal(agentExchanges().length, h.agent.requests.length, 'and one per agent request');
    for (const exchange of h.sink.exchanges) {
      assert.equal(exchange.provider, 'whatsapp');
      assert.deepEqual([exchange.batchKey, exchange.attemptNumber], [7, 1]);
      const text = JSON.stringify(exchange);
      assert.ok(!text.includes(secrets.access_token), `token leaked in ${exchange.request.url}`);
      assert.ok(!text.includes(secrets.app_secret));
    }
    for (const exchange of graph) assert.equal(exchange.request.headers.authorization, '[redacted]');
  });
});

async function rejection(promise: Promise<unknown>): Promise<ProviderCallError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProviderCallError, `expected a ProviderCallError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected placeCall to be refused');
}

function fakeNumber(h: Harness) {
  return { phoneNumberId: graphPhoneNumberId, displayPhoneNumber: '12025550000', wabaId: '102290129340398', accessToken: secrets.access_token, appSecret: secrets.app_secret, webhookUrl: h.webhookUrl };
}

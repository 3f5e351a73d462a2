/**
 * The provider conformance suite: every provider, against its own far end, dials the same
 * scripted destinations of the number table and must report the same statuses, reasons and
 * status paths; hanging up twice is harmless; callbacks that are forged or replayed change nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/domain/clock.js';
import { CallChangeBuilder } from '../../src/engine/call-changes.js';
import type { PhoneNumber } from '../../src/domain/types.js';
import { ProviderCallError, type PlaceCallRequest, type ReportedCallEvent } from '../../src/telephony/provider.js';
import { SimulatedProvider } from '../../src/telephony/simulated/provider.js';
import { createTwilioProvider } from '../../src/telephony/twilio/provider.js';
import { startFakeTwilio } from '../fakes/twilio/server.js';
import { tableNumber } from '../helpers/fixtures.js';
import { readDialLog, waitFor } from '../helpers/server.js';
import { sipTrunkHarness } from '../sip/conformance-harness.js';
import { setup, waUser } from '../whatsapp/harness.js';
import { eventsOf, logger, RecordingSink, RequestBook, startCallbackReceiver, type ProviderHarness, type StartedProvider } from './harness.js';

const simulated: ProviderHarness = {
  name: 'simulated',
  async start() {
    const sink = new RecordingSink();
    const dir = mkdtempSync(join(tmpdir(), 'redial-conformance-'));
    const dialLogPath = join(dir, 'dials.jsonl');
    const provider = new SimulatedProvider({ clock: systemClock, logger, seed: 1, sink, timeScale: 0.002, dialLogPath });
    const book = new RequestBook(null);
    return {
      provider,
      sink,
      request: (nn, overrides) => book.request(tableNumber(nn, 606), overrides),
      farEndEnded: async (id) => readDialLog(dialLogPath).some((entry) => entry.t === 'end' && entry.call === id),
      close: async () => {
        await provider.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const twilioAccount = { accountSid: 'AC' + 'c3'.repeat(16), authToken: 'conformance-token-0123' };

const twilio: ProviderHarness = {
  name: 'twilio (fake REST API)',
  takesCallbacks: true,
  async start() {
    const fake = await startFakeTwilio({ accounts: [twilioAccount], timeScale: 0.002 });
    const sink = new RecordingSink();
    const phoneNumber: PhoneNumber = {
      id: 'phnum_twilio',
      workspaceId: 'ws',
      provider: 'twilio',
      phoneNumber: '+14155550100',
      label: 'caller',
      agentId: null,
      supportsInbound: null,
      supportsOutbound: null,
      config: { sid: twilioAccount.accountSid },
      secrets: { token: twilioAccount.authToken },
      createdAt: 1,
      updatedAt: 1,
    };
    const book = new RequestBook(phoneNumber);
    let provider: ReturnType<typeof createTwilioProvider> | null = null;
    const receiver = await startCallbackReceiver(() => provider!);
    provider = createTwilioProvider(book.context(sink, receiver.url), { apiUrl: fake.url, requestTimeoutMs: 5_000 });
    return {
      provider,
      sink,
      request: (nn, overrides) => book.request(tableNumber(nn, 707), overrides),
      farEndEnded: async (id) => ['completed', 'canceled', 'busy', 'failed', 'no-answer'].includes(fake.getCall(id)?.status ?? ''),
      forge: async (_request, providerCallId) => {
        await fake.settled(providerCallId);
        const real = fake.callbacks.find((callback) => callback.callSid === providerCallId && callback.kind === 'status')!;
        const post = (params: Record<string, string>, headers: Record<string, string>) =>
          fetch(real.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params).toString() }).then((r) => r.status);
        const forged = await post({ ...real.params, CallStatus: 'busy' }, { 'x-twilio-signature': real.signature });
        const replayed = await post(real.params, { 'x-twilio-signature': real.signature, 'i-twilio-idempotency-token': real.idempotencyToken });
        return { forged, replayed };
      },
      close: async () => {
        await provider!.close();
        await fake.close();
        await new Promise((resolve) => receiver.server.close(resolve));
      },
    };
  },
};

const whatsapp: ProviderHarness = {
  name: 'whatsapp (fake Graph API)',
  takesCallbacks: true,
  // WhatsApp has no busy signal and no answering machines: the fake's users 60–69 reject the call.
  unsupported: ['busy', 'voicemail'],
  async start() {
    const harness = await setup();
    return {
      get provider() {
        return harness.provider;
      },
      sink: harness.sink,
      // The fake rings in real time: keep ring times short, but long enough to hang up a ringing call.
      request: (nn, overrides) => harness.request(waUser(nn), { ...overrides, ringingTimeoutSecs: overrides?.ringingTimeoutSecs === 600 ? 5 : 0.5 }),
      farEndEnded: async (id) => harness.fake.calls().every((call) => call.opaque !== id || call.state === 'ended'),
      forge: async (request) => {
        await harness.fake.drained();
        const real = harness.fake.webhooks.find((webhook) => webhook.field === 'calls' && webhook.body.includes(request.whatsappUserId ?? '-'))!;
        const post = (body: string, signature: string) =>
          fetch(real.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body }).then((r) => r.status);
        const forged = await post(real.body.replace('"ACCEPTED"', '"REJECTED"').replace('"COMPLETED"', '"FAILED"') + ' ', real.signature);
        const replayed = await post(real.body, real.signature);
        return { forged, replayed };
      },
      close: () => harness.close(),
    };
  },
};

export const harnesses: ProviderHarness[] = [simulated, twilio, whatsapp, sipTrunkHarness];

/** The statuses an attempt passes through, from `dispatched`, as the dispatcher would write them. */
function statusPath(events: ReportedCallEvent[]): { path: string[]; reason: string | null } {
  const builder = new CallChangeBuilder({ batchKey: 1, seq: 1, attemptNumber: 1 }, 'dispatched');
  const path: string[] = [];
  for (const e of [...events].sort((a, b) => a.at - b.at)) {
    if (builder.apply({ event: e.event, at: e.at }, () => 'conv')) path.push(builder.status);
  }
  return { path, reason: builder.change.reason ?? null };
}

/** Places the call and waits for its end; a refusal at dial time counts as ending `failed` with the refusal's reason. */
async function outcomeOf(started: StartedProvider, request: PlaceCallRequest): Promise<{ path: string[]; reason: string | null; providerCallId: string | null }> {
  try {
    const { providerCallId } = await started.provider.placeCall(request);
    await waitFor(() => eventsOf(started.sink, request).some((e) => e.event.kind === 'ended'), 15_000, `the end of a call to ${request.to}`);
    return { ...statusPath(eventsOf(started.sink, request)), providerCallId };
  } catch (error) {
    assert.ok(error instanceof ProviderCallError, `a refusal is a ProviderCallError: ${String(error)}`);
    return { path: ['failed'], reason: error.reason, providerCallId: null };
  }
}

const scripted: { nn: number; outcome: string; path: string[][]; reason: string | null }[] = [
  { nn: 5, outcome: 'answer', path: [['initiated', 'in_progress', 'completed']], reason: null },
  { nn: 55, outcome: 'no_answer', path: [['initiated', 'failed']], reason: 'no_answer' },
  { nn: 62, outcome: 'busy', path: [['initiated', 'failed']], reason: 'busy' },
  { nn: 66, outcome: 'voicemail', path: [['initiated', 'in_progress', 'voicemail']], reason: null },
  // A carrier may refuse an invalid number at dial time or end the call with it: both are the same outcome.
  { nn: 72, outcome: 'invalid_number', path: [['failed'], ['initiated', 'failed']], reason: 'invalid_number' },
  { nn: 77, outcome: 'provider_error', path: [['failed'], ['initiated', 'failed']], reason: 'provider_error' },
];

for (const harness of harnesses) {
  describe(`provider conformance: ${harness.name}`, () => {
    let started: StartedProvider;
    before(async () => {
      started = await harness.start();
    });
    after(async () => {
      await started.close();
    });

    for (const { nn, outcome, path, reason } of scripted) {
      if (harness.unsupported?.includes(outcome)) continue;
      it(`NN ${nn} (${outcome}) ends ${path[0]!.at(-1)}${reason ? ` / ${reason}` : ''}`, async () => {
        const result = await outcomeOf(started, started.request(nn));
        assert.ok(
          path.some((expected) => JSON.stringify(expected) === JSON.stringify(result.path)),
          `status path ${JSON.stringify(result.path)} is one of ${JSON.stringify(path)}`,
        );
        assert.equal(result.reason, reason);
      });
    }

    it('hangs up a live call, and a second hang-up is harmless', async () => {
      const request = started.request(8, { ringingTimeoutSecs: 600 });
      const { providerCallId } = await started.provider.placeCall(request);
      await waitFor(() => eventsOf(started.sink, request).length > 0, 10_000, 'the call to start');
      await started.provider.hangUp({ providerCallId, phoneNumber: request.phoneNumber });
      await started.provider.hangUp({ providerCallId, phoneNumber: request.phoneNumber });
      await waitFor(() => started.farEndEnded(providerCallId), 5_000, 'the far end to end the call');
    });

    if (!harness.takesCallbacks) return;
    it('refuses forged callbacks and ignores replayed ones', async () => {
      assert.ok(started.forge, 'a provider that takes callbacks can be sent a forged one');
      const request = started.request(3);
      const { providerCallId } = await started.provider.placeCall(request);
      await waitFor(() => eventsOf(started.sink, request).some((e) => e.event.kind === 'ended'), 15_000, 'the call to end');
      const before = eventsOf(started.sink, request).length;
      const { forged, replayed } = await started.forge(request, providerCallId);
      assert.equal(forged, 403);
      assert.ok(replayed < 300, `a replay is acknowledged (${replayed}) so the carrier stops sending it`);
      assert.equal(eventsOf(started.sink, request).length, before, 'neither reported anything');
    });
  });
}

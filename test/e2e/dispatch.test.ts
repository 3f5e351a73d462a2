import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAgent, createPhoneNumber, getBatch, submitBatch, tableNumber } from '../helpers/fixtures.js';
import { readDialLog, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

interface WireEvent {
  type: string;
  recipient_seq: number | null;
  to_status: string | null;
  reason: string | null;
  at_ms: number;
}

async function eventsOf(server: TestServer, batchId: string): Promise<WireEvent[]> {
  const page = (await (await server.api(`/v1/redial/batch-calling/${batchId}/events?limit=10000`)).json()) as { events: WireEvent[] };
  return page.events;
}

describe('dispatch at realistic speed', () => {
  let server: TestServer;
  let dir: string;
  let agentId: string;
  let phoneNumberId: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redial-dispatch-'));
    server = await startTestServer({ simTimeScale: 1, simDialLog: join(dir, 'dials.jsonl') });
    agentId = await createAgent(server);
    phoneNumberId = await createPhoneNumber(server);
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a scheduled batch no earlier than scheduled_time_unix', async () => {
    const startAt = Math.floor(Date.now() / 1000) + 2;
    const batch = await submitBatch(server, {
      call_name: 'later',
      agent_id: agentId,
      agent_phone_number_id: phoneNumberId,
      scheduled_time_unix: startAt,
      recipients: [{ phone_number: tableNumber(60) }],
    });
    assert.equal(batch.status, 'pending');
    assert.equal(batch.scheduled_time_unix, startAt);
    await waitFor(async () => (await getBatch(server, batch.id)).status === 'completed', 10_000, 'the scheduled batch to run');
    const dispatched = (await eventsOf(server, batch.id)).find((event) => event.type === 'recipient:dispatch')!;
    assert.ok(dispatched.at_ms >= startAt * 1000, `dispatched at ${dispatched.at_ms}, scheduled for ${startAt * 1000}`);
  });

  it('gives up ringing after telephony_call_config.ringing_timeout_secs', async () => {
    const batch = await submitBatch(server, {
      call_name: 'short ring',
      agent_id: agentId,
      agent_phone_number_id: phoneNumberId,
      telephony_call_config: { ringing_timeout_secs: 1 },
      recipients: [{ phone_number: tableNumber(55) }],
    });
    await waitFor(async () => (await getBatch(server, batch.id)).status === 'completed', 10_000, 'the ring-out');
    const events = await eventsOf(server, batch.id);
    const dispatched = events.find((event) => event.type === 'recipient:dispatch')!;
    const failed = events.find((event) => event.to_status === 'failed')!;
    assert.equal(failed.reason, 'no_answer');
    const rang = failed.at_ms - dispatched.at_ms;
    assert.ok(rang >= 900 && rang < 5_000, `rang for ${rang} ms with a 1 s timeout (the default is 60 s)`);
  });

  it('cancel ends queued recipients at once and hangs up live calls through the provider', async () => {
    const batch = await submitBatch(server, {
      call_name: 'cancel me',
      agent_id: agentId,
      agent_phone_number_id: phoneNumberId,
      target_concurrency_limit: 3,
      recipients: Array.from({ length: 8 }, (_, i) => ({ phone_number: tableNumber(i) })),
    });
    // Answered calls talk for at least 15 s at time scale 1, so three are live when we cancel.
    await waitFor(async () => (await getBatch(server, batch.id)).total_calls_dispatched === 3, 10_000, 'three calls to start');
    const response = await server.api(`/v1/convai/batch-calling/${batch.id}/cancel`, { method: 'POST' });
    assert.equal(response.status, 200);
    const cancelled = await getBatch(server, batch.id);
    assert.equal(cancelled.status, 'cancelled');
    assert.deepEqual(
      cancelled.recipients!.map((recipient) => recipient.status),
      Array(8).fill('cancelled'),
    );
    assert.equal(cancelled.total_calls_dispatched, 3);
    assert.equal(cancelled.total_calls_finished, 3);
    const hungUp = readDialLog(join(dir, 'dials.jsonl')).filter((entry) => entry.t === 'end' && entry.how === 'hung_up');
    const dialed = readDialLog(join(dir, 'dials.jsonl')).filter((entry) => entry.t === 'dial' && entry.batch === batch.id);
    assert.equal(dialed.length, 3);
    for (const dial of dialed) assert.ok(hungUp.some((end) => end.call === dial.call), `call ${String(dial.call)} was hung up`);
    assert.equal((await server.api(`/v1/convai/batch-calling/${batch.id}/cancel`, { method: 'POST' })).status, 409);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAgent, createPhoneNumber, getBatch, submitBatch, tableNumber, type WireBatch } from '../helpers/fixtures.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';

async function retry(server: TestServer, batchId: string): Promise<{ status: number; body: WireBatch & { detail?: string } }> {
  const response = await server.api(`/v1/convai/batch-calling/${batchId}/retry`, { method: 'POST' });
  return { status: response.status, body: (await response.json()) as WireBatch & { detail?: string } };
}

describe('POST /v1/convai/batch-calling/{batch_id}/retry', () => {
  let server: TestServer;
  let agentId: string;
  let phoneNumberId: string;
  const completed = async (batchId: string) =>
    waitFor(async () => (await getBatch(server, batchId)).status === 'completed', 15_000, `batch ${batchId} to complete`);

  before(async () => {
    server = await startTestServer({ simTimeScale: 0 });
    agentId = await createAgent(server);
    phoneNumberId = await createPhoneNumber(server);
  });
  after(async () => {
    await server.stop();
  });

  const submit = (numbers: number[], extra: Record<string, unknown> = {}) =>
    submitBatch(server, {
      call_name: 'retry',
      agent_id: agentId,
      agent_phone_number_id: phoneNumberId,
      recipients: numbers.map((nn) => ({ phone_number: tableNumber(nn) })),
      ...extra,
    });

  it('re-queues voicemail and transient failures, leaves completed and permanent failures alone', async () => {
    const batch = await submit([0, 50, 60, 65, 70, 75]);
    await completed(batch.id);
    const { status, body } = await retry(server, batch.id);
    assert.equal(status, 200);
    assert.equal(body.retry_count, 1);
    assert.equal(body.status, 'in_progress');
    await completed(batch.id);
    const after = await getBatch(server, batch.id);
    const attempts = Object.fromEntries(after.recipients!.map((r) => [r.phone_number, r.attempts]));
    assert.deepEqual(attempts, {
      [tableNumber(0)]: 1,
      [tableNumber(50)]: 2,
      [tableNumber(60)]: 2,
      [tableNumber(65)]: 2,
      [tableNumber(70)]: 1,
      [tableNumber(75)]: 2,
    });
    const invalid = after.recipients!.find((r) => r.phone_number === tableNumber(70))!;
    assert.equal(invalid.status, 'failed');
    assert.equal(invalid.reason, 'invalid_number');
    assert.equal(after.total_calls_dispatched, 10);
  });

  it('answers 200 with the batch unchanged when nobody failed', async () => {
    const batch = await submit([1, 2, 3]);
    await completed(batch.id);
    const before = await getBatch(server, batch.id);
    const { status, body } = await retry(server, batch.id);
    assert.equal(status, 200);
    assert.equal(body.retry_count, 0);
    assert.equal(body.status, 'completed');
    assert.equal(body.last_updated_at_unix, before.last_updated_at_unix);
  });

  it('answers 200 unchanged for a batch still pending (scheduled ahead)', async () => {
    const batch = await submit([50], { scheduled_time_unix: Math.floor(Date.now() / 1000) + 3600 });
    const { status, body } = await retry(server, batch.id);
    assert.equal(status, 200);
    assert.equal(body.status, 'pending');
    assert.equal(body.retry_count, 0);
  });

  it('refuses a cancelled batch with 409 and a detail', async () => {
    const batch = await submit([50], { scheduled_time_unix: Math.floor(Date.now() / 1000) + 3600 });
    assert.equal((await server.api(`/v1/convai/batch-calling/${batch.id}/cancel`, { method: 'POST' })).status, 200);
    const { status, body } = await retry(server, batch.id);
    assert.equal(status, 409);
    assert.match(body.detail ?? '', /cancelled/);
  });

  it('answers 404 for an unknown and for a deleted batch', async () => {
    assert.equal((await retry(server, 'btcal_does_not_exist')).status, 404);
    const batch = await submit([50]);
    await completed(batch.id);
    assert.equal((await server.api(`/v1/convai/batch-calling/${batch.id}`, { method: 'DELETE' })).status, 200);
    const { status, body } = await retry(server, batch.id);
    assert.equal(status, 404);
    assert.equal(typeof body.detail, 'string');
  });

  it('works on a batch still in progress', async () => {
    const slow = await startTestServer({ simTimeScale: 0.01 });
    try {
      const slowAgent = await createAgent(slow);
      const slowNumber = await createPhoneNumber(slow);
      // NN 60 is busy within 10 ms; NN 0 talks for at least 150 ms.
      const batch = await submitBatch(slow, {
        call_name: 'in progress',
        agent_id: slowAgent,
        agent_phone_number_id: slowNumber,
        recipients: [{ phone_number: tableNumber(0) }, { phone_number: tableNumber(60) }],
      });
      await waitFor(async () => (await getBatch(slow, batch.id)).recipients!.some((r) => r.status === 'failed'), 10_000, 'the busy call to fail');
      const response = await slow.api(`/v1/convai/batch-calling/${batch.id}/retry`, { method: 'POST' });
      const body = (await response.json()) as WireBatch;
      assert.equal(response.status, 200);
      assert.equal(body.status, 'in_progress');
      assert.equal(body.retry_count, 1);
    } finally {
      await slow.stop();
    }
  });

  it('re-queues each recipient once when two retries arrive at the same moment', async () => {
    const quiet = await startTestServer({ simTimeScale: 0 });
    try {
      const quietAgent = await createAgent(quiet);
      const quietNumber = await createPhoneNumber(quiet);
      const batch = await submitBatch(quiet, {
        call_name: 'twice',
        agent_id: quietAgent,
        agent_phone_number_id: quietNumber,
        recipients: [50, 51, 52, 60, 0].map((nn) => ({ phone_number: tableNumber(nn) })),
      });
      await waitFor(async () => (await getBatch(quiet, batch.id)).status === 'completed', 10_000, 'batch to complete');
      // With the dispatcher stopped nothing is re-dialed between the two retries, so a second
      // re-queue could only come from the retries themselves.
      await quiet.dispatcher.stop(0);
      const [a, b] = await Promise.all([
        quiet.api(`/v1/convai/batch-calling/${batch.id}/retry`, { method: 'POST' }),
        quiet.api(`/v1/convai/batch-calling/${batch.id}/retry`, { method: 'POST' }),
      ]);
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      const after = await getBatch(quiet, batch.id);
      assert.equal(after.retry_count, 1);
      assert.equal(after.recipients!.filter((r) => r.status === 'pending').length, 4);
      const events = (await (await quiet.api(`/v1/redial/batch-calling/${batch.id}/events?limit=10000`)).json()) as {
        events: { type: string; count: number }[];
      };
      const requeues = events.events.filter((event) => event.type === 'recipients:retry');
      assert.deepEqual(
        requeues.map((event) => event.count),
        [4],
      );
    } finally {
      await quiet.stop();
    }
  });
});

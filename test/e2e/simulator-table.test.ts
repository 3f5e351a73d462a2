import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAgent, createPhoneNumber, getBatch, submitBatch, tableNumber, type WireBatch } from '../helpers/fixtures.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';

/** What the README's table promises after the first run and two retries. */
function expected(nn: number): { status: string; reason?: string; attempts: number } {
  if (nn <= 49) return { status: 'completed', attempts: 1 };
  if (nn <= 59) return { status: 'failed', reason: 'no_answer', attempts: 3 };
  if (nn <= 64) return { status: 'failed', reason: 'busy', attempts: 3 };
  if (nn <= 69) return { status: 'voicemail', attempts: 3 };
  if (nn <= 74) return { status: 'failed', reason: 'invalid_number', attempts: 1 };
  if (nn <= 79) return { status: 'failed', reason: 'provider_error', attempts: 3 };
  if (nn <= 89) return { status: 'completed', attempts: 2 };
  return { status: 'completed', attempts: 3 };
}

describe('the simulator number table, run to completion and retried twice', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ simTimeScale: 0 });
  });
  after(async () => {
    await server.stop();
  });

  async function runToCompletion(batchId: string): Promise<WireBatch> {
    let batch: WireBatch | undefined;
    await waitFor(async () => {
      batch = await getBatch(server, batchId);
      return batch.status === 'completed';
    }, 15_000, `batch ${batchId} to complete`);
    return batch!;
  }

  it('gives every NN the outcome and attempt count the table implies', async () => {
    const agentId = await createAgent(server);
    const phoneNumberId = await createPhoneNumber(server);
    const recipients = Array.from({ length: 100 }, (_, nn) => ({ id: `nn-${nn}`, phone_number: tableNumber(nn) }));
    const submitted = await submitBatch(server, { call_name: 'table', agent_id: agentId, agent_phone_number_id: phoneNumberId, recipients });

    const first = await runToCompletion(submitted.id);
    assert.equal(first.total_calls_dispatched, 100);
    assert.equal(first.total_calls_finished, 100);
    const afterFirst = new Map(first.recipients!.map((r) => [r.id, r]));
    assert.equal(afterFirst.get('nn-85')?.status, 'failed');
    assert.equal(afterFirst.get('nn-85')?.reason, 'no_answer');

    for (let retry = 1; retry <= 2; retry++) {
      const response = await server.api(`/v1/convai/batch-calling/${submitted.id}/retry`, { method: 'POST' });
      assert.equal(response.status, 200);
      const retried = (await response.json()) as WireBatch;
      assert.equal(retried.retry_count, retry);
      assert.ok(['in_progress', 'completed'].includes(retried.status));
      await runToCompletion(submitted.id);
    }

    const final = await getBatch(server, submitted.id);
    assert.equal(final.retry_count, 2);
    for (const recipient of final.recipients!) {
      const nn = Number(recipient.id.slice(3));
      const want = expected(nn);
      assert.equal(recipient.status, want.status, `NN ${nn} status`);
      assert.equal(recipient.reason, want.reason, `NN ${nn} reason`);
      assert.equal(recipient.attempts, want.attempts, `NN ${nn} attempts`);
      const answered = want.status === 'completed' || want.status === 'voicemail';
      assert.equal(typeof recipient.conversation_id === 'string', answered, `NN ${nn} conversation id`);
    }
    const totalAttempts = final.recipients!.reduce((sum, r) => sum + (r.attempts ?? 0), 0);
    assert.equal(final.total_calls_dispatched, totalAttempts);
    assert.equal(final.total_calls_finished, totalAttempts);
  });
});

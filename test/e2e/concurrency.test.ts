import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAgent, createPhoneNumber, getBatch, submitBatch, tableNumber } from '../helpers/fixtures.js';
import { readDialLog, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

interface WireEvent {
  id: number;
  type: string;
  recipient_seq: number | null;
  to_status: string | null;
}

const terminal = new Set(['completed', 'failed', 'voicemail', 'cancelled']);

describe('target_concurrency_limit', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redial-concurrency-'));
    // Rings of 4–20 ms and talks of 30–180 ms: calls overlap, so the limit is what holds them back.
    server = await startTestServer({ simTimeScale: 0.002, simDialLog: join(dir, 'dials.jsonl') });
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is never exceeded, as seen in the events and in the far end own dial log', async () => {
    const limit = 5;
    const agentId = await createAgent(server);
    const phoneNumberId = await createPhoneNumber(server);
    const recipients = Array.from({ length: 60 }, (_, i) => ({ phone_number: tableNumber(i % 50, 202 + Math.floor(i / 50)) }));
    const batch = await submitBatch(server, {
      call_name: 'limit',
      agent_id: agentId,
      agent_phone_number_id: phoneNumberId,
      recipients,
      target_concurrency_limit: limit,
    });
    await waitFor(async () => (await getBatch(server, batch.id)).status === 'completed', 30_000, 'batch to complete');

    const events: WireEvent[] = [];
    let afterId = 0;
    for (;;) {
      const page = (await (await server.api(`/v1/redial/batch-calling/${batch.id}/events?after=${afterId}&limit=500`)).json()) as {
        events: WireEvent[];
        next_after: number;
        has_more: boolean;
      };
      events.push(...page.events);
      afterId = page.next_after;
      if (!page.has_more) break;
    }
    let live = 0;
    let peak = 0;
    for (const event of events) {
      if (event.type === 'recipient:dispatch') live++;
      else if (event.recipient_seq !== null && event.to_status !== null && terminal.has(event.to_status)) live--;
      peak = Math.max(peak, live);
    }
    assert.equal(live, 0, 'every dispatched call ended');
    assert.ok(peak <= limit, `events show ${peak} calls at once, limit ${limit}`);
    assert.equal(peak, limit, 'the limit was reached, so the test exercised it');

    const dials = readDialLog(join(dir, 'dials.jsonl'));
    const timeline = dials
      .map((entry) => ({ at: entry.at as number, delta: entry.t === 'dial' ? 1 : -1 }))
      .sort((a, b) => a.at - b.at || a.delta - b.delta);
    let open = 0;
    let farEndPeak = 0;
    for (const step of timeline) {
      open += step.delta;
      farEndPeak = Math.max(farEndPeak, open);
    }
    assert.equal(dials.filter((entry) => entry.t === 'dial').length, 60);
    assert.ok(farEndPeak <= limit, `the far end saw ${farEndPeak} calls at once, limit ${limit}`);
  });
});

/**
 * Races between the dispatcher and the far end, with the real simulator behind a thin wrapper
 * that delays its answers or repeats its reports: the timing a real carrier has and the built-in
 * simulator (which answers a dial at once) does not.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { Dispatcher } from '../../src/engine/dispatcher.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import type { CallEventSink, PlaceCallRequest, PlacedCall, Provider, ReportedCallEvent } from '../../src/telephony/provider.js';
import { createProviderRegistry } from '../../src/telephony/registry.js';
import { SimulatedProvider } from '../../src/telephony/simulated/provider.js';
import { newBatch } from '../store/conformance/harness.js';
import { readDialLog, waitFor } from '../helpers/server.js';

/** The simulator, but its answer to a dial arrives `delayMs` late, and every report it made is kept. */
class SlowCarrier implements Provider {
  readonly name = 'simulated';
  readonly reports: ReportedCallEvent[] = [];
  constructor(
    readonly inner: SimulatedProvider,
    readonly delayMs: number,
  ) {}
  async placeCall(request: PlaceCallRequest) {
    const placed = await this.inner.placeCall(request);
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return placed;
  }
  hangUp(call: { providerCallId: string }) {
    return this.inner.hangUp(call);
  }
  lookUp(call: PlacedCall) {
    return this.inner.lookUp(call);
  }
  close() {
    return this.inner.close();
  }
}

describe('dispatcher races with the far end', () => {
  let dir: string;
  let store: SqliteStore;
  let dispatcher: Dispatcher;
  let carrier: SlowCarrier;
  let sink: CallEventSink;
  const dialLog = () => readDialLog(join(dir, 'dials.jsonl'));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redial-races-'));
    store = openSqliteStore({ filename: join(dir, 'redial.db') });
    await store.agentInsert({
      id: 'agent_1',
      workspaceId: 'ws',
      name: 'Agent',
      conversationConfig: {},
      platformSettings: null,
      workflow: null,
      tags: [],
      handoff: null,
      createdAt: 1,
      updatedAt: 1,
    });
    const logger = pino({ level: 'silent' });
    dispatcher = new Dispatcher({
      store,
      clock: systemClock,
      logger,
      owner: 'races',
      leaseTtlMs: 30_000,
      leaseChunk: 100,
      pollIntervalMs: 20,
      defaultRingingTimeoutSecs: 60,
      maxCallMs: 3_600_000,
      simulate: true,
      makeProviders: (eventSink) => {
        const recording: CallEventSink = {
          report: (events) => {
            carrier.reports.push(...events);
            eventSink.report(events);
          },
          recordExchanges: (exchanges) => eventSink.recordExchanges(exchanges),
        };
        sink = eventSink;
        const inner = new SimulatedProvider({ clock: systemClock, logger, seed: 1, sink: recording, timeScale: 0.01, dialLogPath: join(dir, 'dials.jsonl') });
        // Shorter than any simulated call here (ring ≥ 20 ms + talk ≥ 150 ms at scale 0.01), longer than a cancel takes.
        carrier = new SlowCarrier(inner, 100);
        const context = { sink: eventSink, logger, clock: systemClock, publicUrl: null, directory: { attempt: async () => null, phoneNumber: async () => null } };
        return createProviderRegistry({ context, simulate: true, factories: { simulated: () => carrier } });
      },
    });
    dispatcher.start();
  });
  after(async () => {
    await dispatcher.stop(0);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hangs up a call cancelled while the carrier was still answering the dial', async () => {
    const { batch } = await store.batchSubmit(newBatch({ agentId: 'agent_1', createdAt: Date.now(), scheduledAt: Date.now() }), [
      { id: 'a', phoneNumber: '+12025550101', whatsappUserId: null, clientData: null },
      { id: 'b', phoneNumber: '+12025550102', whatsappUserId: null, clientData: null },
    ]);
    dispatcher.wake();
    await waitFor(() => dialLog().filter((e) => e.t === 'dial' && e.batch === batch.id).length === 2, 5_000, 'both dials');
    const cancelled = await store.batchCancel('ws', batch.id, Date.now());
    assert.equal(cancelled.kind, 'done');
    if (cancelled.kind === 'done') await dispatcher.hangUp(cancelled.hangUp);
    const calls = dialLog()
      .filter((e) => e.t === 'dial' && e.batch === batch.id)
      .map((e) => e.call);
    await waitFor(() => calls.every((call) => dialLog().some((e) => e.t === 'end' && e.call === call && e.how === 'hung_up')), 5_000, 'both hang-ups');
  });

  it('ignores a late report of an earlier attempt while the next attempt is live', async () => {
    // NN 85: no answer on attempt 1 (rings out in 10 ms with a 1 s timeout at scale 0.01), answers on attempt 2 and talks ≥ 150 ms.
    const { batch } = await store.batchSubmit(
      newBatch({ agentId: 'agent_1', createdAt: Date.now(), scheduledAt: Date.now(), telephonyCallConfig: { ringing_timeout_secs: 1 } }),
      [{ id: 'x', phoneNumber: '+12025550185', whatsappUserId: null, clientData: null }],
    );
    dispatcher.wake();
    await waitFor(async () => (await store.batchGetByKey(batch.key))!.status === 'completed', 5_000, 'attempt 1 to end');
    const firstEnd = carrier.reports.find((r) => r.batchKey === batch.key && r.attemptNumber === 1 && r.event.kind === 'ended')!;
    assert.ok(firstEnd);
    await store.batchRetry('ws', batch.id, Date.now());
    dispatcher.wake();
    await waitFor(
      () => carrier.reports.some((r) => r.batchKey === batch.key && r.attemptNumber === 2 && r.event.kind === 'answered'),
      5_000,
      'attempt 2 to be answered',
    );
    // The carrier repeats attempt 1's end while attempt 2 is talking.
    sink.report([{ ...firstEnd, at: Date.now() }]);
    await waitFor(async () => (await store.batchGetByKey(batch.key))!.status === 'completed', 5_000, 'attempt 2 to end');
    const attempts = await store.attemptList(batch.key);
    assert.deepEqual(
      attempts.map((a) => [a.number, a.outcome, a.reason]),
      [
        [1, 'failed', 'no_answer'],
        [2, 'completed', null],
      ],
    );
  });
});

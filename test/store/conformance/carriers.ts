/**
 * What the carrier adapters need from the store: provider state kept with attempts, carrier HTTP
 * exchanges, dial pacing shared by every process, lookups without a workspace, and changes written
 * by a process that does not hold the lease.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CarrierExchange, PhoneNumber } from '../../../src/domain/types.js';
import type { CallChange, LeasedCall, Store } from '../../../src/store/store.js';
import { ended, newBatch, newRecipients, recipientsOf, refOf, type StoreFactory } from './harness.js';

const stateChange = (call: LeasedCall, change: Partial<CallChange> & Pick<CallChange, 'fromStatus' | 'toStatus' | 'transitions'>): CallChange => ({
  ...refOf(call),
  changedAt: 5_100,
  ...change,
});

function exchange(call: { batchKey: number; seq: number; attemptNumber: number }, at: number, overrides: Partial<CarrierExchange> = {}): CarrierExchange {
  return {
    batchKey: call.batchKey,
    seq: call.seq,
    attemptNumber: call.attemptNumber,
    provider: 'twilio',
    at,
    durationMs: 120,
    request: { method: 'POST', url: `https://carrier.example/calls?at=${at}`, headers: { authorization: '[redacted]' }, body: 'To=%2B12025550100' },
    response: { status: 201, headers: { 'content-type': 'application/json' }, body: '{"sid":"CA1"}' },
    error: null,
    ...overrides,
  };
}

function phoneNumber(id: string, workspaceId: string): PhoneNumber {
  return {
    id,
    workspaceId,
    provider: 'sip_trunk',
    phoneNumber: '+12025550100',
    label: id,
    agentId: null,
    supportsInbound: null,
    supportsOutbound: true,
    config: { address: 'sip.example' },
    secrets: { password: 's3cret' },
    createdAt: 1_000,
    updatedAt: 1_000,
  };
}

export function describeCarriers(makeStores: StoreFactory): void {
  describe('carriers', () => {
    let store: Store;
    let other: Store;
    let all: Store[];
    let cleanup: () => Promise<void>;
    before(async () => {
      // Three stores: the pacing race needs more than two processes.
      const opened = await makeStores(3);
      all = opened.stores;
      [store, other] = all as [Store, Store];
      cleanup = opened.cleanup;
    });
    after(async () => {
      await cleanup();
    });

    describe('provider state', () => {
      it('is written by a change, kept by a change without one, replaced by the next, and read by attemptGet and attemptList', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(2));
        const [call] = (await store.recipientLeaseDue('owner', 5_000, 60_000, 1_000)).filter((c) => c.batchKey === batch.key && c.seq === 1);
        assert.equal(call!.providerState, null, 'a fresh lease has no provider state');
        const dialog = { callId: 'abc@host', tags: { local: 'l1', remote: 'r1' }, cseq: 1 };
        await store.callChangesApply(
          'owner',
          [stateChange(call!, { fromStatus: 'dispatched', toStatus: 'initiated', transitions: ['initiate'], providerCallId: 'sip-1', providerState: dialog })],
          5_100,
        );
        const got = await store.attemptGet(batch.key, 1, 1);
        assert.deepEqual(got?.attempt.providerState, dialog);
        assert.equal(got?.attempt.providerCallId, 'sip-1');
        assert.deepEqual(
          [got?.recipient.id, got?.recipient.status, got?.recipient.attemptCount, got?.recipient.lastAttemptAt, got?.recipient.phoneNumber],
          ['r0', 'initiated', 1, 5_000, newRecipients(1)[0]!.phoneNumber],
        );
        await store.callChangesApply('owner', [stateChange(call!, { fromStatus: 'initiated', toStatus: 'in_progress', transitions: ['answer'], answeredAt: 5_200 })], 5_200);
        assert.deepEqual((await store.attemptGet(batch.key, 1, 1))?.attempt.providerState, dialog, 'a change without provider state keeps the old one');
        const replaced = { callId: 'abc@host', cseq: 2 };
        await store.callChangesApply('owner', [stateChange(call!, { fromStatus: 'in_progress', toStatus: 'in_progress', transitions: [], providerState: replaced })], 5_300);
        const attempts = await store.attemptList(batch.key);
        assert.deepEqual(
          attempts.map((a) => [a.seq, a.providerState]),
          [
            [1, replaced],
            [2, null],
          ],
          'the new state replaces the old one whole',
        );
      });

      it('comes back with a lease reclaimed after its owner stopped renewing it', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(2));
        const leased = (await store.recipientLeaseDue('crashed', 5_000, 10_000, 1_000)).filter((c) => c.batchKey === batch.key);
        const first = leased.find((c) => c.seq === 1)!;
        await store.callChangesApply(
          'crashed',
          [stateChange(first, { fromStatus: 'dispatched', toStatus: 'initiated', transitions: ['initiate'], providerCallId: 'sip-9', providerState: { dialog: 'd9' } })],
          5_100,
        );
        const reclaimed = (await other.leaseReclaimExpired('heir', 10_000, 40_000, 1_000)).filter((c) => c.batchKey === batch.key);
        assert.deepEqual(
          reclaimed.map((c) => [c.seq, c.status, c.providerCallId, c.providerState, c.dialedAt]).sort(),
          [
            [1, 'initiated', 'sip-9', { dialog: 'd9' }, 5_000],
            [2, 'dispatched', null, null, 5_000],
          ],
        );
      });

      it('attemptGet is null for an attempt or batch that does not exist', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(1));
        assert.equal(await store.attemptGet(batch.key, 1, 1), null, 'not dialed yet');
        await store.recipientLeaseDue('o', 5_000, 60_000, 1_000);
        assert.notEqual(await store.attemptGet(batch.key, 1, 1), null);
        assert.equal(await store.attemptGet(batch.key, 1, 2), null);
        assert.equal(await store.attemptGet(batch.key, 2, 1), null);
        await store.batchDelete('ws', batch.id);
        assert.equal(await store.attemptGet(batch.key, 1, 1), null, 'deleted with its batch');
      });
    });

    describe('carrier exchanges', () => {
      it('are appended many at a time and listed per recipient over all its attempts, oldest first, until the batch is deleted', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(2));
        const r1a1 = { batchKey: batch.key, seq: 1, attemptNumber: 1 };
        const r1a2 = { ...r1a1, attemptNumber: 2 };
        const r2a1 = { ...r1a1, seq: 2 };
        const timedOut = exchange(r1a1, 5_300, { response: null, error: 'timeout after 10000 ms', durationMs: 10_000 });
        // A carrier body is whatever came back: a NUL, quotes, non-ASCII and an empty header map.
        const odd = exchange(r1a2, 9_000, {
          provider: 'sip_trunk',
          request: { method: 'GET', url: 'https://carrier.example/x', headers: {}, body: null },
          response: { status: 500, headers: {}, body: 'bad \u0000 "byte" — ☎' },
        });
        await store.exchangesAppend([exchange(r1a1, 5_100), exchange(r2a1, 5_150), timedOut]);
        await store.exchangesAppend([]);
        await other.exchangesAppend([odd]);
        assert.deepEqual(await store.exchangeList(batch.key, 1), [exchange(r1a1, 5_100), timedOut, odd]);
        assert.deepEqual(await store.exchangeList(batch.key, 2), [exchange(r2a1, 5_150)]);
        assert.deepEqual(await store.exchangeList(batch.key, 3), []);
        assert.equal((await store.batchDelete('ws', batch.id)).deleted, true);
        assert.deepEqual(await store.exchangeList(batch.key, 1), []);
        assert.deepEqual(await store.exchangeList(batch.key, 2), []);
      });
    });

    describe('dial pacing', () => {
      it('gives the first slot at now, then spaces reservations, and starts again at now after an idle gap', async () => {
        assert.equal(await store.dialSlotsReserve('pace:a', 100, 1, 1_000), 1_000, 'a new key starts at now');
        assert.equal(await other.dialSlotsReserve('pace:a', 100, 3, 1_000), 1_100);
        assert.equal(await store.dialSlotsReserve('pace:a', 100, 1, 1_050), 1_400, 'after the slots taken before');
        assert.equal(await store.dialSlotsReserve('pace:b', 100, 1, 1_050), 1_050, 'keys are independent');
        assert.equal(await other.dialSlotsReserve('pace:a', 100, 2, 60_000), 60_000, 'an idle key does not bank slots');
        assert.equal(await store.dialSlotsReserve('pace:a', 100, 1, 60_000), 60_200);
      });

      it('rounds a fractional interval up to whole milliseconds', async () => {
        assert.equal(await store.dialSlotsReserve('pace:thirds', 1_000 / 3, 3, 0), 0);
        assert.equal(await store.dialSlotsReserve('pace:thirds', 1_000 / 3, 1, 0), 1_000);
      });

      it('never hands out overlapping slots to processes reserving at once', async () => {
        const interval = 10;
        const now = 100_000;
        const taken = await Promise.all(
          Array.from({ length: 60 }, async (_, i) => {
            const count = 1 + (i % 3);
            const first = await all[i % all.length]!.dialSlotsReserve('pace:race', interval, count, now);
            return { first, end: first + count * interval };
          }),
        );
        taken.sort((a, b) => a.first - b.first);
        // All at one `now`, so the reservations tile the time from `now` with no gap and no overlap.
        let expected = now;
        for (const span of taken) {
          assert.equal(span.first, expected, `a reservation starts where the one before it ended (${JSON.stringify(taken)})`);
          expected = span.end;
        }
        assert.equal(expected, now + taken.reduce((sum, span) => sum + (span.end - span.first), 0));
      });
    });

    describe('lookups in any workspace', () => {
      it('finds phone numbers and batches by id alone', async () => {
        await store.phoneNumberInsert(phoneNumber('phnum_carrier_a', 'ws-a'));
        await store.phoneNumberInsert(phoneNumber('phnum_carrier_b', 'ws-b'));
        assert.deepEqual(await other.phoneNumberGetById('phnum_carrier_b'), phoneNumber('phnum_carrier_b', 'ws-b'));
        assert.equal((await other.phoneNumberGetById('phnum_carrier_a'))?.workspaceId, 'ws-a');
        assert.equal(await other.phoneNumberGetById('phnum_nope'), null);
        const { batch } = await store.batchSubmit(newBatch({ workspaceId: 'ws-elsewhere' }), newRecipients(2));
        await store.recipientLeaseDue('o', 5_000, 60_000, 1_000);
        assert.deepEqual(await other.batchGetById(batch.id), await store.batchGet('ws-elsewhere', batch.id));
        assert.equal((await other.batchGetById(batch.id))?.totalCallsDispatched, 2);
        assert.equal(await other.batchGetById('btcal_nope'), null);
      });
    });

    describe('changes from a process without the lease', () => {
      it('apply on a row another process leased, leave its lease alone, and make the owner’s stale change lose', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(3));
        const leased = (await store.recipientLeaseDue('dialer', 5_000, 60_000, 1_000)).filter((c) => c.batchKey === batch.key);
        const [a, b, c] = [1, 2, 3].map((seq) => leased.find((call) => call.seq === seq)!) as [LeasedCall, LeasedCall, LeasedCall];
        const initiated = stateChange(a, { fromStatus: 'dispatched', toStatus: 'initiated', transitions: ['initiate'], providerCallId: 'cb-1', providerState: { leg: 1 } });
        const unowned = await other.callChangesApplyUnowned(
          [
            initiated,
            stateChange(b, { fromStatus: 'initiated', toStatus: 'in_progress', transitions: ['answer'] }),
            stateChange(c, { attemptNumber: 2, fromStatus: 'dispatched', toStatus: 'initiated', transitions: ['initiate'] }),
          ],
          5_100,
        );
        assert.deepEqual(unowned.applied, [initiated]);
        assert.deepEqual(
          unowned.lost.map((change) => change.seq),
          [2, 3],
          'a stale status or attempt number loses',
        );
        const got = await store.attemptGet(batch.key, 1, 1);
        assert.equal(got?.recipient.status, 'initiated');
        assert.equal(got?.attempt.providerCallId, 'cb-1');
        assert.deepEqual(got?.attempt.providerState, { leg: 1 });
        assert.deepEqual(
          [...(await store.leaseRenew('dialer', 5_200, 70_000, leased))].sort(),
          leased.map((call) => `${batch.key}:${call.seq}`).sort(),
          'the owner still holds every lease',
        );

        const stale = await store.callChangesApply('dialer', [stateChange(a, { fromStatus: 'dispatched', toStatus: 'initiated', transitions: ['initiate'] })], 5_300);
        assert.equal(stale.lost.length, 1, 'the owner’s change from the old status loses');
        const onward = await store.callChangesApply('dialer', [stateChange(a, { fromStatus: 'initiated', toStatus: 'in_progress', transitions: ['answer'], answeredAt: 5_400 })], 5_400);
        assert.equal(onward.applied.length, 1, 'and it carries on from the new one');

        const events = (await store.batchEvents(batch.key, 0, 100)).filter((e) => e.seq === 1 && e.type !== 'recipient:dispatch');
        assert.deepEqual(
          events.map((e) => [e.type, e.fromStatus, e.toStatus]),
          [
            ['recipient:initiate', 'dispatched', 'initiated'],
            ['recipient:answer', 'initiated', 'in_progress'],
          ],
        );
      });

      it('end calls with the same counters, events and batch completion as the owner would', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(2));
        const leased = (await store.recipientLeaseDue('dialer', 5_000, 60_000, 1_000)).filter((c) => c.batchKey === batch.key).sort((x, y) => x.seq - y.seq);
        const first = await other.callChangesApplyUnowned([ended(leased[0]!, 'completed')], 6_000);
        assert.equal(first.applied.length, 1);
        assert.deepEqual(first.completedBatchKeys, []);
        assert.deepEqual([...(await store.leaseRenew('dialer', 6_100, 70_000, leased))], [`${batch.key}:${leased[1]!.seq}`], 'an ended call is no longer leased');
        const second = await other.callChangesApplyUnowned([ended(leased[1]!, 'failed', 'busy')], 6_200);
        assert.deepEqual(second.completedBatchKeys, [batch.key]);
        const done = (await store.batchGetByKey(batch.key))!;
        assert.deepEqual([done.status, done.totalCallsDispatched, done.totalCallsFinished], ['completed', 2, 2]);
        assert.deepEqual(
          (await recipientsOf(store, batch.key)).map((r) => [r.status, r.reason, r.conversationId]),
          [
            ['completed', null, `conv-${leased[0]!.seq}`],
            ['failed', 'busy', null],
          ],
        );
        const events = (await store.batchEvents(batch.key, 0, 100)).filter((e) => e.type !== 'recipient:dispatch' && e.type !== 'batch:submit' && e.type !== 'batch:start');
        assert.deepEqual(
          events.map((e) => [e.type, e.seq, e.via]),
          [
            ['recipient:complete', leased[0]!.seq, ['in_progress']],
            ['recipient:fail', leased[1]!.seq, []],
            ['batch:complete', null, []],
          ],
        );
        assert.equal((await store.callChangesApply('dialer', [ended(leased[0]!, 'completed')], 6_300)).lost.length, 1);
        assert.deepEqual(await other.callChangesApplyUnowned([], 6_400), { applied: [], lost: [], completedBatchKeys: [] });
      });
    });
  });
}

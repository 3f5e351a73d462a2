import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../../../src/store/store.js';
import { describeCarriers } from './carriers.js';
import { ended, newBatch, newRecipients, recipientsOf, refOf, type StoreFactory } from './harness.js';

/** Every Store implementation runs this suite. */
export function exerciseStore(name: string, makeStores: StoreFactory): void {
  describe(`${name} store conformance`, () => {
    let store: Store;
    let other: Store;
    let cleanup: () => Promise<void>;
    before(async () => {
      const opened = await makeStores(2);
      [store, other] = opened.stores as [Store, Store];
      cleanup = opened.cleanup;
    });
    after(async () => {
      await cleanup();
    });

    describe('submit', () => {
      it('writes the batch and every recipient, in order, with generated positions', async () => {
        const outcome = await store.batchSubmit(newBatch(), newRecipients(25));
        assert.equal(outcome.kind, 'created');
        const batch = outcome.batch;
        assert.equal(batch.status, 'pending');
        assert.equal(batch.totalCallsScheduled, 25);
        assert.equal(batch.retryCount, 0);
        const recipients = await recipientsOf(store, batch.key);
        assert.deepEqual(
          recipients.map((r) => r.id),
          newRecipients(25).map((r) => r.id),
        );
        assert.deepEqual(recipients[3]!.clientData, { dynamic_variables: { name: 'Person 3' } });
        assert.ok(recipients.every((r) => r.status === 'pending' && r.attemptCount === 0));
        const events = await store.batchEvents(batch.key, 0, 100);
        assert.deepEqual(
          events.map((e) => [e.type, e.count]),
          [['batch:submit', 25]],
        );
      });

      it('returns the earlier batch for a reused idempotency key and writes nothing', async () => {
        const first = await store.batchSubmit(newBatch({ idempotencyKey: 'k1', requestHash: 'h1' }), newRecipients(3));
        const again = await store.batchSubmit(newBatch({ idempotencyKey: 'k1', requestHash: 'h2' }), newRecipients(3));
        assert.equal(again.kind, 'replayed');
        assert.equal(again.batch.id, first.batch.id);
        assert.equal(again.kind === 'replayed' && again.requestHash, 'h1');
      });

      it('lists newest first, a page at a time, filtered by agent', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await store.batchSubmit(newBatch({ workspaceId: 'paging', agentId: i % 2 ? 'odd' : 'even' }), newRecipients(1))).batch.id);
        const first = await store.batchList({ workspaceId: 'paging', limit: 2, before: null, agentId: null });
        const second = await store.batchList({ workspaceId: 'paging', limit: 2, before: first.nextCursor, agentId: null });
        const third = await store.batchList({ workspaceId: 'paging', limit: 2, before: second.nextCursor, agentId: null });
        assert.deepEqual(
          [...first.items, ...second.items, ...third.items].map((b) => b.id),
          [...ids].reverse(),
        );
        assert.equal(third.nextCursor, null);
        const odd = await store.batchList({ workspaceId: 'paging', limit: 10, before: null, agentId: 'odd' });
        assert.deepEqual(
          odd.items.map((b) => b.id),
          [ids[3], ids[1]],
        );
      });
    });

    describe('lease', () => {
      it('leases due recipients up to the concurrency limit, records attempts and starts the batch', async () => {
        const { batch } = await store.batchSubmit(newBatch({ concurrencyLimit: 4 }), newRecipients(10));
        const leased = (await store.recipientLeaseDue('owner-a', 5_000, 60_000, 1_000)).filter((c) => c.batchKey === batch.key);
        assert.equal(leased.length, 4);
        assert.deepEqual(
          leased.map((c) => c.seq).sort((a, b) => a - b),
          [1, 2, 3, 4],
        );
        assert.ok(leased.every((c) => c.status === 'dispatched' && c.attemptNumber === 1 && c.phoneNumber !== null));
        const again = (await store.recipientLeaseDue('owner-a', 5_001, 60_000, 1_000)).filter((c) => c.batchKey === batch.key);
        assert.equal(again.length, 0, 'the limit holds while those calls are live');
        const after = (await store.batchGetByKey(batch.key))!;
        assert.equal(after.status, 'in_progress');
        assert.equal(after.totalCallsDispatched, 4);
        assert.equal((await store.attemptList(batch.key)).length, 4);
        await store.callChangesApply('owner-a', leased.map((c) => ended(c, 'completed')), 6_000);
        const next = (await store.recipientLeaseDue('owner-a', 6_001, 60_000, 1_000)).filter((c) => c.batchKey === batch.key);
        assert.equal(next.length, 4, 'ended calls free their slots');
      });

      it('does not start a batch before its scheduled time', async () => {
        const { batch } = await store.batchSubmit(newBatch({ scheduledAt: 50_000 }), newRecipients(2));
        const early = (await store.recipientLeaseDue('owner-a', 49_999, 100_000, 1_000)).filter((c) => c.batchKey === batch.key);
        assert.equal(early.length, 0);
        const onTime = (await store.recipientLeaseDue('owner-a', 50_000, 100_000, 1_000)).filter((c) => c.batchKey === batch.key);
        assert.equal(onTime.length, 2);
      });

      it('never gives the same recipient to two stores leasing at once', async () => {
        const { batch } = await store.batchSubmit(newBatch({ concurrencyLimit: 1_000 }), newRecipients(300));
        const takes = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).recipientLeaseDue(`racer-${i}`, 5_000, 60_000, 60)),
        );
        // A store may skip a batch another is leasing from at that moment (Postgres does); the
        // rest is leased afterwards. What must never happen is one recipient leased twice.
        for (;;) {
          const more = (await store.recipientLeaseDue('sweeper', 5_000, 60_000, 500)).filter((c) => c.batchKey === batch.key);
          if (more.length === 0) break;
          takes.push(more);
        }
        const seqs = takes.flat().filter((c) => c.batchKey === batch.key).map((c) => c.seq);
        assert.equal(new Set(seqs).size, seqs.length, 'no recipient leased twice');
        assert.equal(seqs.length, 300);
      });

      it('reclaims expired leases, and the stale owner can no longer write', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(2));
        const leased = (await store.recipientLeaseDue('dead', 5_000, 10_000, 1_000)).filter((c) => c.batchKey === batch.key);
        await store.callChangesApply('dead', [{ ...refOf(leased[0]!), fromStatus: 'dispatched', toStatus: 'dispatched', transitions: [], changedAt: 5_001, providerCallId: 'p-1' }], 5_001);
        const notYet = (await other.leaseReclaimExpired('alive', 9_999, 40_000, 1_000)).filter((c) => c.batchKey === batch.key);
        assert.equal(notYet.length, 0);
        const reclaimed = (await other.leaseReclaimExpired('alive', 10_000, 40_000, 1_000)).filter((c) => c.batchKey === batch.key);
        assert.equal(reclaimed.length, 2);
        const first = reclaimed.find((c) => c.seq === leased[0]!.seq)!;
        assert.equal(first.providerCallId, 'p-1', 'the provider call id survives for reconciliation');
        assert.equal(first.dialedAt, 5_000);
        const stale = await store.callChangesApply('dead', [ended(leased[0]!, 'completed')], 10_001);
        assert.equal(stale.applied.length, 0);
        assert.equal(stale.lost.length, 1);
        const fresh = await other.callChangesApply('alive', [ended(first, 'failed', 'dispatch_uncertain')], 10_002);
        assert.equal(fresh.applied.length, 1);
      });

      it('renews only the leases asked for, only its own, and gives them all back on shutdown', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(4));
        const leased = (await store.recipientLeaseDue('renewer', 5_000, 10_000, 1_000)).filter((c) => c.batchKey === batch.key);
        const followed = leased.filter((c) => c.seq !== 4);
        const held = await store.leaseRenew('renewer', 9_000, 30_000, followed);
        assert.deepEqual([...held].sort(), followed.map((c) => `${batch.key}:${c.seq}`).sort());
        assert.equal((await other.leaseRenew('thief', 9_000, 90_000, leased)).size, 0, 'nobody renews a lease it does not own');
        const unfollowed = (await other.leaseReclaimExpired('heir', 20_000, 50_000, 1_000)).filter((c) => c.batchKey === batch.key);
        assert.deepEqual(
          unfollowed.map((c) => c.seq),
          [4],
          'a leased row its owner no longer follows expires and is reclaimed',
        );
        assert.ok((await store.leaseExpireAll('renewer', 20_000)) >= 3);
        assert.equal((await other.leaseReclaimExpired('heir', 20_000, 50_000, 1_000)).filter((c) => c.batchKey === batch.key).length, 3);
      });
    });

    describe('transitions and counters', () => {
      it('applies changes compare-and-set, writes one event each, counts and completes the batch', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(3));
        const leased = (await store.recipientLeaseDue('o', 5_000, 60_000, 1_000)).filter((c) => c.batchKey === batch.key);
        const result = await store.callChangesApply('o', [ended(leased[0]!, 'completed'), ended(leased[1]!, 'failed', 'busy'), ended(leased[2]!, 'voicemail')], 6_000);
        assert.equal(result.applied.length, 3);
        assert.deepEqual(result.completedBatchKeys, [batch.key]);
        const done = (await store.batchGetByKey(batch.key))!;
        assert.equal(done.status, 'completed');
        assert.equal(done.totalCallsDispatched, 3);
        assert.equal(done.totalCallsFinished, 3);
        const recipients = await recipientsOf(store, batch.key);
        assert.deepEqual(
          recipients.map((r) => [r.status, r.reason, r.conversationId]),
          [
            ['completed', null, `conv-${leased[0]!.seq}`],
            ['failed', 'busy', null],
            ['voicemail', null, null],
          ],
        );
        const events = (await store.batchEvents(batch.key, 0, 100)).filter((e) => e.seq !== null && e.type !== 'recipient:dispatch');
        assert.deepEqual(
          events.map((e) => [e.type, e.fromStatus, e.toStatus, e.via]),
          [
            ['recipient:complete', 'dispatched', 'completed', ['in_progress']],
            ['recipient:fail', 'dispatched', 'failed', []],
            ['recipient:voicemail', 'dispatched', 'voicemail', []],
          ],
        );
        const again = await store.callChangesApply('o', [ended(leased[0]!, 'completed')], 7_000);
        assert.equal(again.lost.length, 1, 'a terminal recipient does not move again');
        const attempts = await store.attemptList(batch.key);
        assert.deepEqual(
          attempts.map((a) => [a.outcome, a.reason, a.providerCallId !== null, a.endedAt]),
          [
            ['completed', null, true, 2_000],
            ['failed', 'busy', true, 2_000],
            ['voicemail', null, true, 2_000],
          ],
        );
      });
    });

    describe('retry', () => {
      it('re-queues voicemail and transient failures in one operation, with one event and its count', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(5));
        const leased = (await store.recipientLeaseDue('o', 5_000, 60_000, 1_000)).filter((c) => c.batchKey === batch.key);
        await store.callChangesApply(
          'o',
          [
            ended(leased[0]!, 'completed'),
            ended(leased[1]!, 'failed', 'no_answer'),
            ended(leased[2]!, 'failed', 'invalid_number'),
            ended(leased[3]!, 'voicemail'),
            ended(leased[4]!, 'failed', 'provider_error'),
          ],
          6_000,
        );
        const outcome = await store.batchRetry('ws', batch.id, 7_000);
        assert.equal(outcome.kind, 'done');
        assert.equal(outcome.kind === 'done' && outcome.requeued, 3);
        assert.equal(outcome.kind === 'done' && outcome.batch.retryCount, 1);
        assert.equal(outcome.kind === 'done' && outcome.batch.status, 'in_progress');
        const statuses = (await recipientsOf(store, batch.key)).map((r) => [r.status, r.reason]);
        assert.deepEqual(statuses, [
          ['completed', null],
          ['pending', null],
          ['failed', 'invalid_number'],
          ['pending', null],
          ['pending', null],
        ]);
        const second = await store.batchRetry('ws', batch.id, 7_001);
        assert.equal(second.kind === 'done' && second.requeued, 0);
        assert.equal(second.kind === 'done' && second.batch.retryCount, 1);
        const events = (await store.batchEvents(batch.key, 0, 100)).filter((e) => e.type === 'recipients:retry');
        assert.deepEqual(
          events.map((e) => e.count),
          [3],
        );
        const requeued = (await store.recipientLeaseDue('o', 8_000, 60_000, 1_000)).filter((c) => c.batchKey === batch.key);
        assert.deepEqual(
          requeued.map((c) => c.attemptNumber),
          [2, 2, 2],
        );
      });

      it('takes a failed batch back to in_progress and drops the reason it failed for', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(2));
        const calls = (await store.recipientLeaseDue('o', 5_000, 60_000, 1_000)).filter((c) => c.batchKey === batch.key);
        await store.callChangesApply('o', [ended(calls[0]!, 'failed', 'busy')], 5_500);
        assert.equal(await store.batchFail(batch.key, 'credentials rejected', 5_600), true);
        await store.callChangesApply('o', [ended(calls[1]!, 'failed', 'provider_error')], 5_700);
        const failed = (await store.batchGetByKey(batch.key))!;
        assert.equal(failed.status, 'failed');
        assert.equal(failed.statusReason, 'credentials rejected');
        assert.equal(await store.batchFail(batch.key, 'again', 5_800), false, 'a failed batch does not fail twice');
        const retried = await store.batchRetry('ws', batch.id, 6_000);
        assert.equal(retried.kind === 'done' && retried.requeued, 2);
        assert.equal(retried.kind === 'done' && retried.batch.status, 'in_progress');
        assert.equal(retried.kind === 'done' && retried.batch.statusReason, null);
      });

      it('refuses a cancelled batch and reports an unknown one', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(1));
        await store.batchCancel('ws', batch.id, 5_000);
        assert.equal((await store.batchRetry('ws', batch.id, 5_001)).kind, 'refused');
        assert.equal((await store.batchRetry('ws', 'btcal_nope', 5_001)).kind, 'not_found');
        assert.equal((await store.batchRetry('other-workspace', batch.id, 5_001)).kind, 'not_found');
      });
    });

    describe('cancel and delete', () => {
      it('cancels queued and live recipients at once and names the live attempts to hang up', async () => {
        const { batch } = await store.batchSubmit(newBatch({ concurrencyLimit: 2 }), newRecipients(5));
        const leased = (await store.recipientLeaseDue('holder', 5_000, 60_000, 1_000)).filter((c) => c.batchKey === batch.key);
        await store.callChangesApply('holder', [{ ...refOf(leased[0]!), fromStatus: 'dispatched', toStatus: 'initiated', transitions: ['initiate'], changedAt: 5_100, providerCallId: 'live-1' }], 5_100);
        const outcome = await store.batchCancel('ws', batch.id, 6_000);
        assert.equal(outcome.kind, 'done');
        if (outcome.kind !== 'done') return;
        assert.equal(outcome.batch.status, 'cancelled');
        assert.equal(outcome.batch.totalCallsFinished, 2);
        assert.deepEqual(
          outcome.hangUp.map((h) => [h.seq, h.providerCallId, h.leaseOwner]).sort(),
          [
            [leased[0]!.seq, 'live-1', 'holder'],
            [leased[1]!.seq, null, 'holder'],
          ].sort(),
        );
        assert.ok((await recipientsOf(store, batch.key)).every((r) => r.status === 'cancelled'));
        const late = await store.callChangesApply('holder', [ended(leased[0]!, 'completed')], 6_001);
        assert.equal(late.lost.length, 1, 'a cancelled call cannot complete afterwards');
        assert.equal((await store.batchCancel('ws', batch.id, 6_002)).kind, 'refused');
        const events = await store.batchEvents(batch.key, 0, 100);
        assert.deepEqual(
          events.filter((e) => e.type === 'recipients:cancel').map((e) => e.count),
          [3, 2],
        );
      });

      it('deletes a batch with everything it owns', async () => {
        const { batch } = await store.batchSubmit(newBatch(), newRecipients(3));
        await store.recipientLeaseDue('o', 5_000, 60_000, 1_000);
        const outcome = await store.batchDelete('ws', batch.id);
        assert.equal(outcome.deleted, true);
        assert.equal(outcome.hangUp.length, 3);
        assert.equal(await store.batchGet('ws', batch.id), null);
        assert.equal((await recipientsOf(store, batch.key)).length, 0);
        assert.equal((await store.attemptList(batch.key)).length, 0);
        assert.equal((await store.batchEvents(batch.key, 0, 10)).length, 0);
        assert.equal((await store.batchDelete('ws', batch.id)).deleted, false);
      });
    });

    describeCarriers(makeStores);
  });
}

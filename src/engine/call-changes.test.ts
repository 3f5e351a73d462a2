import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallChangeBuilder } from './call-changes.js';

const ref = { batchKey: 1, seq: 7, attemptNumber: 2 };
const conv = () => 'conv_test';

describe('CallChangeBuilder', () => {
  it('coalesces a whole call into one change with one event per step', () => {
    const builder = new CallChangeBuilder(ref, 'dispatched');
    builder.acknowledge('CA1');
    builder.apply({ event: { kind: 'initiated' }, at: 1 }, conv);
    builder.apply({ event: { kind: 'answered' }, at: 2 }, conv);
    builder.apply({ event: { kind: 'ended', outcome: 'completed' }, at: 3 }, conv);
    const change = builder.change;
    assert.equal(change.fromStatus, 'dispatched');
    assert.equal(change.toStatus, 'completed');
    assert.deepEqual(change.transitions, ['initiate', 'answer', 'complete']);
    assert.equal(change.changedAt, 3);
    assert.equal(change.providerCallId, 'CA1');
    assert.equal(change.conversationId, 'conv_test');
    assert.equal(change.answeredAt, 2);
    assert.equal(change.endedAt, 3);
  });

  it('ignores duplicate and late reports', () => {
    const builder = new CallChangeBuilder(ref, 'in_progress');
    assert.equal(builder.apply({ event: { kind: 'initiated' }, at: 1 }, conv), false);
    assert.equal(builder.apply({ event: { kind: 'ended', outcome: 'failed', reason: 'busy' }, at: 2 }, conv), true);
    assert.equal(builder.apply({ event: { kind: 'answered' }, at: 3 }, conv), false);
    assert.equal(builder.apply({ event: { kind: 'ended', outcome: 'completed' }, at: 4 }, conv), false);
    assert.equal(builder.change.toStatus, 'failed');
    assert.equal(builder.change.reason, 'busy');
    assert.deepEqual(builder.change.transitions, ['fail']);
  });

  it('infers the answer of a call reported completed without one', () => {
    const builder = new CallChangeBuilder(ref, 'initiated');
    builder.apply({ event: { kind: 'ended', outcome: 'completed' }, at: 5 }, conv);
    assert.deepEqual(builder.change.transitions, ['answer', 'complete']);
  });

  it('has nothing to write when nothing changed', () => {
    const builder = new CallChangeBuilder(ref, 'initiated');
    builder.apply({ event: { kind: 'initiated' }, at: 1 }, conv);
    assert.equal(builder.dirty, false);
  });
});

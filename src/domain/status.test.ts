import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InvalidTransitionError,
  nextBatchStatus,
  nextRecipientStatus,
  recipientStatuses,
  recipientTransitions,
  retryableFailureReasons,
  terminalRecipientStatuses,
} from './status.js';

describe('recipient state machine', () => {
  it('walks the happy path pending → dispatched → initiated → in_progress → completed', () => {
    let status = nextRecipientStatus('pending', 'dispatch');
    status = nextRecipientStatus(status, 'initiate');
    status = nextRecipientStatus(status, 'answer');
    assert.equal(nextRecipientStatus(status, 'complete'), 'completed');
  });

  it('refuses every transition its table does not list', () => {
    let refused = 0;
    for (const status of recipientStatuses) {
      for (const [name, rule] of Object.entries(recipientTransitions)) {
        const allowed = (rule.from as readonly string[]).includes(status);
        if (allowed) continue;
        refused++;
        assert.throws(() => nextRecipientStatus(status, name as keyof typeof recipientTransitions), InvalidTransitionError);
      }
    }
    assert.ok(refused > 30);
  });

  it('never leaves a terminal status except by retry', () => {
    for (const status of terminalRecipientStatuses) {
      for (const [name, rule] of Object.entries(recipientTransitions)) {
        if (name === 'retry') continue;
        assert.ok(!(rule.from as readonly string[]).includes(status), `${name} leaves ${status}`);
      }
    }
  });

  it('retries transient failures only', () => {
    // The retry statement re-queues exactly these reasons (plus voicemail).
    assert.deepEqual([...retryableFailureReasons].sort(), ['busy', 'dispatch_uncertain', 'no_answer', 'permission_timeout', 'provider_error', 'rejected', 'trunk_rejected']);
    assert.ok(!retryableFailureReasons.includes('invalid_number'));
  });
});

describe('batch state machine', () => {
  it('goes back to in_progress or pending on retry, never from cancelled', () => {
    assert.equal(nextBatchStatus('completed', 'retry'), 'in_progress');
    assert.equal(nextBatchStatus('completed', 'retryScheduled'), 'pending');
    assert.throws(() => nextBatchStatus('cancelled', 'retry'), InvalidTransitionError);
    assert.throws(() => nextBatchStatus('completed', 'cancel'), InvalidTransitionError);
  });
});

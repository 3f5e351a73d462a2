import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failureForStatus, retryAfterSeconds } from './status-map.js';

test('SIP final responses map to failure reasons, unknown codes by their class', () => {
  const reasons = Object.fromEntries([403, 404, 408, 410, 480, 484, 486, 487, 488, 500, 503, 302, 600, 603, 604, 606, 699].map((status) => [status, failureForStatus(status).reason]));
  assert.deepEqual(reasons, {
    302: 'provider_error',
    403: 'trunk_rejected',
    404: 'invalid_number',
    408: 'no_answer',
    410: 'invalid_number',
    480: 'no_answer',
    484: 'invalid_number',
    486: 'busy',
    487: 'no_answer',
    488: 'provider_error',
    500: 'provider_error',
    503: 'provider_error',
    600: 'busy',
    603: 'rejected',
    604: 'invalid_number',
    606: 'provider_error',
    699: 'rejected',
  });
  assert.match(failureForStatus(403).description, /trunk rejected/);
  assert.equal(failureForStatus(403).failsBatch, true, 'a trunk that refuses us refuses every call of the batch');
});

test('Retry-After: seconds, with or without a comment and parameters', () => {
  assert.equal(retryAfterSeconds('120'), 120);
  assert.equal(retryAfterSeconds('18000 (in a meeting);duration=3600'), 18_000);
  assert.equal(retryAfterSeconds(undefined), null);
  assert.equal(retryAfterSeconds('soon'), null);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyGraphError, mapCallSignal, mapMessageFailure, mapPermissionResponse } from './status-map.js';

const action = { doing: 'sending the call permission request', phoneNumberId: '1065', template: { name: 'cpr', languageCode: 'en_US' } };
const classify = (status: number, code?: number, subcode?: number) =>
  classifyGraphError(status, code === undefined ? null : { code, ...(subcode !== undefined ? { error_subcode: subcode } : {}), message: 'm' }, action);

describe('whatsapp status map', () => {
  it('classifies Graph errors: credentials and number problems fail the batch', () => {
    for (const failure of [classify(401, 190), classify(400, 190), classify(403), classify(400, 10), classify(400, 200), classify(400, 100, 33), classify(400, 138000), classify(404, 132001)]) {
      assert.equal(failure.reason, 'provider_error');
      assert.equal(failure.failsBatch, true, failure.message);
    }
    assert.match(classify(401, 190).message, /access token of WhatsApp phone number id '1065'/);
    assert.match(classify(404, 132001).message, /'cpr' \(en_US\)/);
  });

  it('classifies Graph errors: throttling and 5xx are transient, unreachable users permanent', () => {
    for (const failure of [classify(429), classify(500), classify(503, 2), classify(400, 130429), classify(400, 131056), classify(400, 4)]) {
      assert.deepEqual([failure.reason, failure.failsBatch], ['provider_error', false], failure.message);
    }
    for (const code of [131026, 131030, 138001]) assert.equal(classify(400, code).reason, 'invalid_number');
    assert.equal(classify(400, 138006).reason, 'permission_declined');
    assert.deepEqual([classify(400, 100).reason, classify(400, 100).failsBatch], ['provider_error', false]);
  });

  it('maps call statuses and terminates', () => {
    assert.deepEqual(mapCallSignal({ kind: 'status', status: 'RINGING' }, false).event, { kind: 'initiated' });
    assert.deepEqual(mapCallSignal({ kind: 'status', status: 'ACCEPTED' }, false).event, { kind: 'answered' });
    assert.deepEqual(mapCallSignal({ kind: 'status', status: 'REJECTED' }, false).event, { kind: 'ended', outcome: 'failed', reason: 'rejected' });
    const unknown = mapCallSignal({ kind: 'status', status: 'TELEPORTED' }, false);
    assert.deepEqual(unknown, { event: { kind: 'ended', outcome: 'failed', reason: 'provider_error' }, known: false });

    const terminate = (status: string | null, durationSecs: number | null, errorCode: number | null = null) => ({ kind: 'terminate' as const, status, durationSecs, errorCode });
    assert.deepEqual(mapCallSignal(terminate('COMPLETED', 42), false).event, { kind: 'ended', outcome: 'completed' });
    assert.deepEqual(mapCallSignal(terminate('Completed', null), true).event, { kind: 'ended', outcome: 'completed' }, 'answered before');
    assert.deepEqual(mapCallSignal(terminate('FAILED', null), false).event, { kind: 'ended', outcome: 'failed', reason: 'no_answer' });
    assert.deepEqual(mapCallSignal(terminate('FAILED', null, 138001), false).event, { kind: 'ended', outcome: 'failed', reason: 'invalid_number' });
    assert.equal(mapCallSignal(terminate('SOMETHING', null), false).known, false);
  });

  it('maps permission replies and failed permission requests', () => {
    assert.deepEqual(mapPermissionResponse('accept'), { granted: true });
    assert.deepEqual(mapPermissionResponse('reject'), { granted: false });
    assert.deepEqual(mapPermissionResponse('maybe'), { failed: 'provider_error', known: false });
    assert.equal(mapMessageFailure(131026, 'Message undeliverable', '1065').reason, 'invalid_number');
    assert.equal(mapMessageFailure(131000, null, '1065').reason, 'provider_error');
    assert.equal(mapMessageFailure(null, null, '1065').reason, 'provider_error');
  });
});

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { createRequest, type SipMessage, type SipRequest, type SipResponse } from './message.js';
import { ClientTransaction, defaultSipTimers } from './transaction.js';

/** Advances the mocked clock one millisecond at a time, so each timer sees its own time. */
function advance(ms: number): void {
  for (let i = 0; i < ms; i++) mock.timers.tick(1);
}

function request(method: string): SipRequest {
  return createRequest(method, 'sip:+15550100@trunk', [
    { name: 'Via', value: 'SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKtest;rport' },
    { name: 'From', value: '<sip:+15550001111@trunk>;tag=a' },
    { name: 'To', value: '<sip:+15550100@trunk>' },
    { name: 'Call-ID', value: 'c1' },
    { name: 'CSeq', value: `1 ${method}` },
  ]);
}

function response(status: number, method: string): SipResponse {
  return {
    kind: 'response',
    status,
    reason: 'x',
    headers: [
      { name: 'Via', value: 'SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKtest;rport' },
      { name: 'To', value: '<sip:+15550100@trunk>;tag=b' },
      { name: 'CSeq', value: `1 ${method}` },
    ],
    body: Buffer.alloc(0),
  };
}

function harness(method: string, reliable = false) {
  const sent: { at: number; message: SipMessage }[] = [];
  const seen: { at: number; what: string }[] = [];
  let terminated = false;
  const transaction = new ClientTransaction({
    request: request(method),
    reliable,
    timers: defaultSipTimers,
    send: async (message) => {
      sent.push({ at: Date.now(), message });
    },
    user: {
      response: (r) => seen.push({ at: Date.now(), what: String(r.status) }),
      timeout: () => seen.push({ at: Date.now(), what: 'timeout' }),
      transportError: () => seen.push({ at: Date.now(), what: 'transport' }),
    },
    terminated: () => (terminated = true),
  });
  const sentAt = (m: string) => sent.filter((entry) => entry.message.kind === 'request' && entry.message.method === m).map((entry) => entry.at);
  return { transaction, sent, seen, sentAt, isTerminated: () => terminated };
}

describe('client transaction timers (RFC 3261 §17.1)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  test('INVITE over UDP: timer A doubles from T1 without a cap; timer B ends it at 64*T1', async () => {
    const h = harness('INVITE');
    await h.transaction.start();
    advance(32_000);
    assert.deepEqual(h.sentAt('INVITE'), [0, 500, 1_500, 3_500, 7_500, 15_500, 31_500]);
    assert.deepEqual(h.seen, [{ at: 32_000, what: 'timeout' }]);
    assert.equal(h.isTerminated(), true);
  });

  test('INVITE: a provisional stops retransmission and timer B (the ringing timeout is the user\'s)', async () => {
    const h = harness('INVITE');
    await h.transaction.start();
    advance(600);
    h.transaction.receive(response(180, 'INVITE'));
    advance(60_000);
    assert.deepEqual(h.sentAt('INVITE'), [0, 500]);
    assert.deepEqual(h.seen.map((entry) => entry.what), ['180']);
    assert.equal(h.transaction.state, 'proceeding');
  });

  test('INVITE failure: ACKed with the same branch, retransmitted finals re-ACKed, timer D ends it', async () => {
    const h = harness('INVITE');
    await h.transaction.start();
    h.transaction.receive(response(486, 'INVITE'));
    h.transaction.receive(response(486, 'INVITE'));
    assert.deepEqual(h.seen.map((entry) => entry.what), ['486'], 'the user hears of the final response once');
    const acks = h.sent.filter((entry) => entry.message.kind === 'request' && entry.message.method === 'ACK').map((entry) => entry.message as SipRequest);
    assert.equal(acks.length, 2);
    assert.equal(acks[0]!.headers.find((header) => header.name === 'Via')?.value, 'SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKtest;rport');
    assert.equal(acks[0]!.headers.find((header) => header.name === 'To')?.value, '<sip:+15550100@trunk>;tag=b', 'the To tag of the response');
    assert.equal(acks[0]!.headers.find((header) => header.name === 'CSeq')?.value, '1 ACK');
    advance(31_999);
    assert.equal(h.isTerminated(), false);
    advance(1);
    assert.equal(h.isTerminated(), true, 'timer D: 32 s');
  });

  test('INVITE 2xx: Accepted (RFC 6026) passes retransmitted 2xx to the user for 64*T1', async () => {
    const h = harness('INVITE');
    await h.transaction.start();
    h.transaction.receive(response(200, 'INVITE'));
    advance(10_000);
    h.transaction.receive(response(200, 'INVITE'));
    assert.deepEqual(h.seen.map((entry) => entry.what), ['200', '200']);
    assert.equal(h.sentAt('ACK').length, 0, 'the ACK for a 2xx is the dialog\'s, not the transaction\'s');
    advance(22_000);
    assert.equal(h.isTerminated(), true);
  });

  test('non-INVITE over UDP: timer E doubles up to T2, timer F at 64*T1', async () => {
    const h = harness('BYE');
    await h.transaction.start();
    advance(32_000);
    assert.deepEqual(h.sentAt('BYE'), [0, 500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    assert.deepEqual(h.seen, [{ at: 32_000, what: 'timeout' }]);
  });

  test('non-INVITE: after a provisional, retransmit every T2; after the final, timer K (T4)', async () => {
    const h = harness('BYE');
    await h.transaction.start();
    advance(100);
    h.transaction.receive(response(100, 'BYE'));
    advance(8_400);
    assert.deepEqual(h.sentAt('BYE'), [0, 500, 4_500, 8_500]);
    h.transaction.receive(response(200, 'BYE'));
    advance(4_999);
    assert.equal(h.isTerminated(), false);
    advance(1);
    assert.equal(h.isTerminated(), true);
  });

  test('over TCP nothing is retransmitted, and the timeouts still run', async () => {
    const h = harness('INVITE', true);
    await h.transaction.start();
    advance(32_000);
    assert.deepEqual(h.sentAt('INVITE'), [0]);
    assert.deepEqual(h.seen, [{ at: 32_000, what: 'timeout' }]);
  });
});

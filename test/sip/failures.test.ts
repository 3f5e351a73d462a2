/**
 * Calls that do not get answered, against real sipp: each final status the issue names, the
 * ringing timeout (CANCEL after a provisional, then 487), 503 with Retry-After, and a trunk that
 * never answers at all.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, test, type TestContext } from 'node:test';
import { ProviderCallError } from '../../src/telephony/provider.js';
import { callRequest, freePort, sippHost, sippPassed, startProvider, startSipp, tracedFirstLines, type CallOptions } from './helpers.js';
import type { FailureReason } from '../../src/domain/status.js';

async function setup(t: TestContext, scenario: string, providerOptions: Parameters<typeof startProvider>[0] = {}) {
  const trunk = await startSipp({ scenario, owner: t });
  const { provider, sink } = startProvider(providerOptions);
  t.after(() => provider.close());
  const place = (options: Partial<CallOptions> = {}) => provider.placeCall(callRequest({ trunkAddress: trunk.address, ...options }));
  return { trunk, provider, sink, place };
}

const rejections: [scenario: string, reason: FailureReason][] = [
  ['reject-486.xml', 'busy'],
  ['reject-603.xml', 'rejected'],
  ['reject-404.xml', 'invalid_number'],
  ['reject-403.xml', 'trunk_rejected'],
];

describe('sip_trunk: calls that fail', { concurrency: true }, () => {
  for (const [scenario, reason] of rejections) {
    test(`${scenario.replace(/^reject-|\.xml$/g, '')} ends the call '${reason}', and the failure is ACKed`, async (t) => {
      const { trunk, sink, place } = await setup(t, scenario);
      const { providerCallId } = await place();
      assert.deepEqual(await sink.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason });
      assert.deepEqual(
        sink.of(providerCallId).map((event) => event.kind),
        ['initiated', 'ended'],
      );
      const result = await trunk.exited;
      assert.equal(sippPassed(result), null, 'the ACK for the failure reached sipp');
    });
  }

  test('503 with Retry-After: provider_error, and no new INVITE goes to that trunk until it passes', async (t) => {
    const { trunk, sink, place } = await setup(t, 'reject-503.xml');
    const { providerCallId } = await place();
    assert.deepEqual(await sink.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'provider_error' });
    await assert.rejects(place(), (error: unknown) => {
      assert.ok(error instanceof ProviderCallError);
      assert.equal(error.reason, 'provider_error');
      assert.match(error.message, /503 with Retry-After/);
      return true;
    });
    const result = await trunk.exited;
    assert.equal(sippPassed(result), null);
    const invites = tracedFirstLines(result.messages).filter((entry) => entry.direction === 'received' && entry.firstLine.startsWith('INVITE '));
    assert.equal(invites.length, 1, 'the second call was refused before any INVITE');
  });

  test('rings forever: CANCEL at the ringing timeout (same branch and CSeq as the INVITE), 487, no_answer', async (t) => {
    const { trunk, sink, place } = await setup(t, 'trunk-ring-forever.xml');
    const started = Date.now();
    const { providerCallId } = await place({ ringingTimeoutSecs: 1 });
    assert.deepEqual(await sink.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'no_answer' });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1_000 && elapsed < 3_000, `ended ${elapsed} ms after the INVITE, the timeout being 1 s`);
    const result = await trunk.exited;
    assert.equal(sippPassed(result), null, 'the CANCEL matched the INVITE and the 487 was ACKed');
    const received = tracedFirstLines(result.messages).filter((entry) => entry.direction === 'received').map((entry) => entry.firstLine.split(' ')[0]);
    assert.deepEqual(received, ['INVITE', 'CANCEL', 'ACK']);
  });

  test('a trunk that never responds: INVITE retransmitted at T1, 2T1, 4T1… then timer B, provider_error', async (t) => {
    // A socket that swallows everything; T1 of 50 ms makes timer B (64*T1) 3.2 s.
    const silent = dgram.createSocket('udp4');
    const arrivals: number[] = [];
    silent.on('message', () => arrivals.push(Date.now()));
    const port = await freePort(sippHost);
    await new Promise<void>((resolve) => silent.bind(port, sippHost, resolve));
    const { provider, sink } = startProvider({ timers: { t1: 50 } });
    t.after(async () => {
      await provider.close();
      silent.close();
    });
    const started = Date.now();
    const { providerCallId } = await provider.placeCall(callRequest({ trunkAddress: `${sippHost}:${port}` }));
    assert.deepEqual(await sink.waitForEnd(providerCallId, 6_000), { kind: 'ended', outcome: 'failed', reason: 'provider_error' });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 3_100 && elapsed < 4_500, `timer B fired after ${elapsed} ms (64 * 50 ms = 3200 ms)`);
    // Sent at 0, 50, 150, 350, 750, 1550 and 3150 ms: the interval doubles each time. The exact
    // schedule is pinned with mocked timers in transaction.test.ts; here only the long gaps are
    // checked, which a busy event loop (sipps starting beside us) cannot blur.
    assert.equal(arrivals.length, 7, `INVITE sent ${arrivals.length} times`);
    const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
    assert.ok(Math.abs(gaps[4]! - 800) < 250 && Math.abs(gaps[5]! - 1_600) < 250, `gaps were ${gaps.join(', ')} ms`);
    assert.deepEqual(sink.of(providerCallId), [{ kind: 'ended', outcome: 'failed', reason: 'provider_error' }]);
  });

  test('a TCP trunk that refuses the connection: placeCall throws provider_error', async (t) => {
    const { provider } = startProvider();
    t.after(() => provider.close());
    const port = await freePort(sippHost);
    await assert.rejects(provider.placeCall(callRequest({ trunkAddress: `${sippHost}:${port}`, transport: 'tcp' })), (error: unknown) => {
      assert.ok(error instanceof ProviderCallError);
      assert.equal(error.reason, 'provider_error');
      assert.match(error.message, /ECONNREFUSED/);
      return true;
    });
  });
});

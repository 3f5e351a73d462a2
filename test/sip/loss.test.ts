/**
 * Packet loss over UDP: a relay between the user agent and the sipp trunk drops the first
 * INVITE, the first 200 and the first ACK, and the call must still complete, each loss repaired
 * by a retransmission (timer A for the INVITE, sipp's 2xx retransmissions for the 200 and the
 * ACK, which redial answers with the same ACK again).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callRequest, freePort, sippHost, sippPassed, startProvider, startSipp, tracedFirstLines } from './helpers.js';
import { startUdpRelay } from './udp-relay.js';

test('sip_trunk: a call completes when the INVITE, the 200 and the ACK are each lost once', async (t) => {
  const agent = await startSipp({ scenario: 'agent-answer.xml', owner: t });
  const trunkPort = await freePort(sippHost);
  const relay = await startUdpRelay({
    host: sippHost,
    target: { host: sippHost, port: trunkPort },
    drop: [
      { direction: 'to_trunk', match: /^INVITE / },
      { direction: 'from_trunk', match: /^SIP\/2\.0 200 [\s\S]*\r\nCSeq: \d+ INVITE\r\n/ },
      { direction: 'to_trunk', match: /^ACK / },
    ],
  });
  // The trunk's Contact points at the relay too, or the end-to-end ACK would go around it.
  const trunk = await startSipp({ scenario: 'trunk-answer-hangup.xml', port: trunkPort, keys: { contact: relay.address }, owner: t });
  const { provider, sink } = startProvider();
  t.after(async () => {
    await provider.close();
    await relay.close();
  });

  const { providerCallId } = await provider.placeCall(callRequest({ trunkAddress: relay.address, agentUri: `sip:agent@${agent.address}` }));
  assert.deepEqual(await sink.waitForEnd(providerCallId, 10_000), { kind: 'ended', outcome: 'completed' });
  const [trunkResult, agentResult] = await Promise.all([trunk.exited, agent.exited]);
  assert.equal(sippPassed(trunkResult), null, 'the trunk saw the whole call, its ACK with the agent SDP included');
  assert.equal(sippPassed(agentResult), null);

  const seen = (direction: 'to_trunk' | 'from_trunk', prefix: string) => relay.packets.filter((packet) => packet.direction === direction && packet.firstLine.startsWith(prefix));
  const invites = seen('to_trunk', 'INVITE ');
  assert.deepEqual(invites.map((packet) => packet.dropped), [true, false], 'the INVITE was sent again after the first was lost');
  const gap = invites[1]!.at - invites[0]!.at;
  // Timer A is T1 (500 ms); the bounds are loose because the relay shares the test's event loop.
  assert.ok(gap >= 250 && gap < 1_500, `retransmitted after ${gap} ms`);
  const oks = seen('from_trunk', 'SIP/2.0 200 OK');
  assert.ok(oks.length >= 3 && oks[0]!.dropped && !oks[1]!.dropped, `200s relayed: ${oks.map((p) => (p.dropped ? 'dropped' : 'passed')).join(', ')}`);
  const acks = seen('to_trunk', 'ACK ');
  assert.ok(acks.length >= 2 && acks[0]!.dropped && !acks[1]!.dropped, 'the ACK was sent again when the 200 came again');

  const trunkReceived = tracedFirstLines(trunkResult.messages).filter((entry) => entry.direction === 'received').map((entry) => entry.firstLine.split(' ')[0]);
  assert.equal(trunkReceived.filter((method) => method === 'INVITE').length, 1, 'sipp never saw the lost INVITE');
  const trunkSent200 = tracedFirstLines(trunkResult.messages).filter((entry) => entry.direction === 'sent' && entry.firstLine === 'SIP/2.0 200 OK');
  assert.ok(trunkSent200.length >= 3, `sipp retransmitted its 200 (${trunkSent200.length} sent)`);
});

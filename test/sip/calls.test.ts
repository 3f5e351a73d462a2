/**
 * Answered calls through real sipp on loopback: sipp plays the trunk (the callee) and the agent,
 * and its scenarios check what redial sent (SDP handed through, headers, ACK contents); a
 * scenario that saw anything else makes sipp exit non-zero.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { callRequest, sippPassed, startProvider, startSipp, tracedFirstLines, type CallOptions } from './helpers.js';

async function setup(t: TestContext, scenarios: { trunk: string; agent: string; trunkTransport?: 'udp' | 'tcp' }, providerOptions: Parameters<typeof startProvider>[0] = {}) {
  const [trunk, agent] = await Promise.all([
    startSipp({ scenario: scenarios.trunk, owner: t, ...(scenarios.trunkTransport ? { transport: scenarios.trunkTransport } : {}) }),
    startSipp({ scenario: scenarios.agent, owner: t }),
  ]);
  const { provider, sink } = startProvider(providerOptions);
  t.after(() => provider.close());
  const place = (options: Partial<CallOptions> = {}) =>
    provider.placeCall(callRequest({ trunkAddress: trunk.address, transport: trunk.transport, agentUri: `sip:agent@${agent.address}`, ...options }));
  return { trunk, agent, provider, sink, place };
}

describe('sip_trunk: answered calls', { concurrency: true }, () => {
  test('third-party flow: the offer goes to the agent, its answer to the callee, headers to their legs', async (t) => {
    const { trunk, agent, sink, place } = await setup(t, { trunk: 'trunk-3pcc.xml', agent: 'agent-3pcc.xml' });
    const { providerCallId } = await place({
      headers: { 'X-Trunk-Tag': 'blue' },
      attributesToHeaders: { customer_name: 'X-Customer-Name' },
      dynamicVariables: { customer_name: 'Zoë Ann' },
    });
    assert.deepEqual(await sink.waitForEnd(providerCallId), { kind: 'ended', outcome: 'completed' });
    const [trunkResult, agentResult] = await Promise.all([trunk.exited, agent.exited]);
    assert.equal(sippPassed(trunkResult), null, 'the trunk saw what it expected');
    assert.equal(sippPassed(agentResult), null, 'the agent saw what it expected');
    assert.deepEqual(
      sink.of(providerCallId).map((event) => event.kind),
      ['initiated', 'initiated', 'answered', 'ended'],
      'initiated on the 183, again with the dialog once the callee answered, answered when both legs are up',
    );
    const agentTrace = tracedFirstLines(agentResult.messages);
    assert.ok(
      agentTrace.some((entry) => entry.direction === 'received' && entry.firstLine.startsWith('BYE ')),
      'the callee hanging up sent a BYE to the agent',
    );
    const answered = sink.events.find((event) => event.providerCallId === providerCallId && event.event.kind === 'answered');
    const state = answered?.providerState as { phase: string; callee: { remoteTag: string }; agent: { remoteTag: string } } | undefined;
    assert.equal(state?.phase, 'answered');
    assert.match(state?.callee.remoteTag ?? '', /SIPpTag01/);
    assert.match(state?.agent.remoteTag ?? '', /SIPpTag02/);
  });

  test('answered then the callee hangs up, with the trunk over TCP', async (t) => {
    const { trunk, agent, sink, place } = await setup(t, { trunk: 'trunk-answer-hangup.xml', agent: 'agent-answer.xml', trunkTransport: 'tcp' });
    const { providerCallId } = await place();
    assert.deepEqual(await sink.waitForEnd(providerCallId), { kind: 'ended', outcome: 'completed' });
    const [trunkResult, agentResult] = await Promise.all([trunk.exited, agent.exited]);
    assert.equal(sippPassed(trunkResult), null);
    assert.equal(sippPassed(agentResult), null);
    assert.match(trunkResult.messages, /TCP message received[\s\S]*INVITE sip:\+12025550100@127\.0\.0\.1/);
    assert.match(trunkResult.messages, /Via: SIP\/2\.0\/TCP 127\.0\.0\.2:\d+;branch=z9hG4bK[0-9a-f]{24}/, 'a TCP Via with 96 random bits in the branch');
  });

  test('listening on every interface, Via and Contact carry the address that faces the trunk', async (t) => {
    const { trunk, agent, sink, place } = await setup(t, { trunk: 'trunk-answer-hangup.xml', agent: 'agent-answer.xml' }, { listen: { host: '0.0.0.0', port: 0 } });
    const { providerCallId } = await place();
    assert.deepEqual(await sink.waitForEnd(providerCallId), { kind: 'ended', outcome: 'completed' });
    const [trunkResult, agentResult] = await Promise.all([trunk.exited, agent.exited]);
    assert.equal(sippPassed(trunkResult), null, 'the trunk\'s BYE reached redial at the advertised Contact');
    assert.equal(sippPassed(agentResult), null);
    assert.match(trunkResult.messages, /^Contact: <sip:redial@127\.0\.0\.1:\d+>/m);
  });

  test('the agent ends its leg with X-Redial-Outcome: voicemail', async (t) => {
    const { trunk, agent, sink, place } = await setup(t, { trunk: 'trunk-answer-wait-bye.xml', agent: 'agent-voicemail.xml' });
    const { providerCallId } = await place();
    assert.deepEqual(await sink.waitForEnd(providerCallId), { kind: 'ended', outcome: 'voicemail' });
    const [trunkResult, agentResult] = await Promise.all([trunk.exited, agent.exited]);
    assert.equal(sippPassed(trunkResult), null, 'the callee got a BYE when the agent hung up');
    assert.equal(sippPassed(agentResult), null);
  });

  test('hangUp after the answer sends BYE on both legs; a second hangUp does nothing', async (t) => {
    const { trunk, agent, provider, sink, place } = await setup(t, { trunk: 'trunk-answer-wait-bye.xml', agent: 'agent-answer.xml' });
    const { providerCallId } = await place();
    await sink.waitFor((event) => event.providerCallId === providerCallId && event.event.kind === 'answered', 5_000, 'the answer');
    await provider.hangUp({ providerCallId });
    await provider.hangUp({ providerCallId });
    const [trunkResult, agentResult] = await Promise.all([trunk.exited, agent.exited]);
    assert.equal(sippPassed(trunkResult), null);
    assert.equal(sippPassed(agentResult), null);
    const byes = [...tracedFirstLines(trunkResult.messages), ...tracedFirstLines(agentResult.messages)].filter(
      (entry) => entry.direction === 'received' && entry.firstLine.startsWith('BYE '),
    );
    assert.equal(byes.length, 2, 'one BYE per leg');
    assert.deepEqual(
      sink.of(providerCallId).map((event) => event.kind),
      ['initiated', 'initiated', 'answered'],
      'a hang-up redial asked for is not reported back',
    );
  });

  test('the agent refuses: the callee is ACKed with its media rejected, then BYEd', async (t) => {
    const { trunk, agent, sink, place } = await setup(t, { trunk: 'trunk-agent-fails.xml', agent: 'reject-603.xml' });
    const { providerCallId } = await place();
    assert.deepEqual(await sink.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'provider_error' });
    const [trunkResult, agentResult] = await Promise.all([trunk.exited, agent.exited]);
    assert.equal(sippPassed(trunkResult), null, 'the ACK rejected every stream and a BYE followed');
    assert.equal(sippPassed(agentResult), null);
  });
});

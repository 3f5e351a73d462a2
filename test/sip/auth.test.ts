/**
 * Digest challenges from a sipp trunk that really checks the password: 401 with qop=auth (sipp's
 * verifyauth) and 407 without qop (the right response computed here, independently of redial's
 * digest code, and compared by the scenario). A wrong password gets a second challenge, and
 * redial must not answer it again.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { callRequest, freePort, sippHost, sippPassed, startProvider, startSipp, tracedFirstLines } from './helpers.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

async function setup(t: TestContext, scenario: string, password: string) {
  const port = await freePort(sippHost);
  // The one response the 407 scenario accepts: RFC 2069 form, no qop, so no client nonce in it.
  const expected = md5(`${md5('alice:redial.test:wonderland')}:n407:${md5(`INVITE:sip:+12025550100@${sippHost}:${port}`)}`);
  const [trunk, agent] = await Promise.all([
    startSipp({ scenario, port, owner: t, ...(scenario === 'auth-407.xml' ? { vars: { expected } } : {}) }),
    startSipp({ scenario: 'agent-answer.xml', owner: t }),
  ]);
  const { provider, sink } = startProvider();
  t.after(() => provider.close());
  const { providerCallId } = await provider.placeCall(
    callRequest({ trunkAddress: trunk.address, agentUri: `sip:agent@${agent.address}`, username: 'alice', password, to: '+12025550100' }),
  );
  return { trunk, agent, provider, sink, providerCallId };
}

function invitesSeenBy(messages: string): string[] {
  return tracedFirstLines(messages)
    .filter((entry) => entry.direction === 'received' && entry.firstLine.startsWith('INVITE '))
    .map((entry) => entry.text);
}

describe('sip_trunk: digest authentication', { concurrency: true }, () => {
  for (const status of [401, 407] as const) {
    const header = status === 401 ? 'Authorization' : 'Proxy-Authorization';

    test(`${status} with the right password: the INVITE is sent again with ${header} and the call goes through`, async (t) => {
      const { trunk, agent, provider, sink, providerCallId } = await setup(t, `auth-${status}.xml`, 'wonderland');
      await sink.waitFor((event) => event.providerCallId === providerCallId && event.event.kind === 'answered', 5_000, 'the answer');
      await provider.hangUp({ providerCallId });
      const [trunkResult, agentResult] = await Promise.all([trunk.exited, agent.exited]);
      assert.equal(sippPassed(trunkResult), null, 'sipp accepted the credentials and got its BYE');
      assert.equal(sippPassed(agentResult), null);
      const [first, second] = invitesSeenBy(trunkResult.messages);
      assert.doesNotMatch(first ?? '', new RegExp(`^${header}:`, 'm'));
      assert.match(second ?? '', new RegExp(`^${header}: Digest username="alice", realm="redial.test"`, 'm'));
      assert.match(second ?? '', /^CSeq: 2 INVITE/m, 'the retry is a new request with the next CSeq');
      const callIds = [first, second].map((text) => /^Call-ID: (.*)$/m.exec(text ?? '')?.[1]);
      assert.equal(callIds[0], callIds[1], 'and the same Call-ID');
    });

    test(`${status} with a wrong password: one retry, then trunk_rejected`, async (t) => {
      const { trunk, sink, providerCallId } = await setup(t, `auth-${status}.xml`, 'not-the-password');
      assert.deepEqual(await sink.waitForEnd(providerCallId), { kind: 'ended', outcome: 'failed', reason: 'trunk_rejected' });
      const trunkResult = await trunk.exited;
      assert.equal(sippPassed(trunkResult), null, 'sipp rejected the credentials and got its ACK');
      assert.equal(invitesSeenBy(trunkResult.messages).length, 2, 'the second challenge was not answered');
    });
  }
});

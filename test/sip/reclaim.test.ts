/**
 * A call whose process died (SIGKILL, so no BYE or CANCEL went out) is ended by another process
 * from the dialog state stored with the attempt (`providerState`), through `lookUp`.
 *
 * The reclaiming provider listens where the dead one did, as a restarted worker with the same
 * --sip-listen would: sipp answers in-dialog requests at the address it latched on to from the
 * INVITE, not at the request's source (a real trunk honours rport and would answer anywhere).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PlaceCallRequest, ReportedCallEvent } from '../../src/telephony/provider.js';
import { callRequest, sippPassed, startProvider, startSipp, tracedFirstLines, uaHost } from './helpers.js';

const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

/** Places `request` in a child process and kills it once it has reported `until`. */
/** The port the dead process listened on, from the Via it stored. */
function deadPort(event: ReportedCallEvent): number {
  const via = ((event.providerState?.callee as { inviteVia?: string } | undefined)?.inviteVia ?? '');
  return Number(/:(\d+);/.exec(via)?.[1]);
}

async function placeAndCrash(t: TestContext, request: PlaceCallRequest, until: (event: ReportedCallEvent) => boolean): Promise<ReportedCallEvent> {
  const process_ = spawn(process.execPath, ['--import', 'tsx', child, JSON.stringify(request)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => void process_.kill('SIGKILL'));
  const lines = createInterface({ input: process_.stdout });
  for await (const line of lines) {
    const event = JSON.parse(line) as ReportedCallEvent;
    if (until(event)) {
      process_.kill('SIGKILL');
      await new Promise((resolve) => process_.once('exit', resolve));
      return event;
    }
  }
  throw new Error('the child process ended before reporting the event');
}

describe('sip_trunk: reclaiming a dead process\'s call', { concurrency: true }, () => {
  test('an answered call is BYEd on both legs and ends completed', async (t) => {
    const [trunk, agent] = await Promise.all([
      startSipp({ scenario: 'trunk-answer-wait-bye.xml', owner: t }),
      startSipp({ scenario: 'agent-answer.xml', owner: t }),
    ]);
    const request = callRequest({ trunkAddress: trunk.address, agentUri: `sip:agent@${agent.address}` });
    const answered = await placeAndCrash(t, request, (event) => event.event.kind === 'answered');
    const { provider } = startProvider({ listen: { host: uaHost, port: deadPort(answered) } });
    t.after(() => provider.close());
    const started = Date.now();
    const lookup = await provider.lookUp({ ...request, providerCallId: answered.providerCallId, dialedAt: answered.at, providerState: answered.providerState ?? null });
    assert.equal(lookup.kind, 'ended');
    assert.deepEqual(lookup.kind === 'ended' ? lookup.event : null, { kind: 'ended', outcome: 'completed' });
    assert.ok(Date.now() - started < 2_000, 'both BYEs were answered (lookUp waits up to 4 s otherwise)');
    const [trunkResult, agentResult] = await Promise.all([trunk.exited, agent.exited]);
    assert.equal(sippPassed(trunkResult), null, 'the callee got its BYE');
    assert.equal(sippPassed(agentResult), null, 'the agent got its BYE');
    const trunkMessages = tracedFirstLines(trunkResult.messages);
    const invite = trunkMessages.find((entry) => entry.firstLine.startsWith('INVITE '))!.text;
    const bye = trunkMessages.find((entry) => entry.firstLine.startsWith('BYE '))!.text;
    const header = (text: string, name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1];
    assert.equal(header(bye, 'From'), header(invite, 'From'), 'the BYE comes from the dialog\'s own From, tag included');
    assert.equal(header(bye, 'Call-ID'), answered.providerCallId);
    assert.match(header(bye, 'To') ?? '', /;tag=\d+SIPpTag01/, 'and is addressed to the callee\'s tag');
  });

  test('a ringing call is CANCELled with its INVITE\'s branch; the 487 is ACKed and the call ends no_answer', async (t) => {
    const trunk = await startSipp({ scenario: 'trunk-ring-forever.xml', owner: t });
    const request = callRequest({ trunkAddress: trunk.address, ringingTimeoutSecs: 60 });
    const initiated = await placeAndCrash(t, request, (event) => event.event.kind === 'initiated');
    const { provider } = startProvider({ listen: { host: uaHost, port: deadPort(initiated) } });
    t.after(() => provider.close());
    const lookup = await provider.lookUp({ ...request, providerCallId: initiated.providerCallId, dialedAt: initiated.at, providerState: initiated.providerState ?? null });
    assert.equal(lookup.kind, 'ended');
    assert.deepEqual(lookup.kind === 'ended' ? lookup.event : null, { kind: 'ended', outcome: 'failed', reason: 'no_answer' });
    const trunkResult = await trunk.exited;
    assert.equal(sippPassed(trunkResult), null, 'the CANCEL matched the INVITE and the 487 was ACKed by the new process');
    const received = tracedFirstLines(trunkResult.messages).filter((entry) => entry.direction === 'received').map((entry) => entry.firstLine.split(' ')[0]);
    assert.deepEqual(received, ['INVITE', 'CANCEL', 'ACK']);
  });

  test('without dialog state there is nothing to end: unknown', async (t) => {
    const { provider } = startProvider();
    t.after(() => provider.close());
    const request = callRequest({ trunkAddress: '127.0.0.1:9' });
    assert.deepEqual(await provider.lookUp({ ...request, providerCallId: 'gone@redial', dialedAt: Date.now(), providerState: null }), { kind: 'unknown' });
  });
});

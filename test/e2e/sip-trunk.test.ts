/**
 * SIP trunk end to end: a `sip_trunk` phone number and an agent with a SIP URI created over the
 * API, batches dialed through a sipp trunk that follows the number table, with sipp as the agent.
 * redial's user agent listens on 127.0.0.2, sipp on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ElevenLabsClient } from '@elevenlabs/elevenlabs-js';
import { getBatch, submitBatch, tableNumber, type WireBatch } from '../helpers/fixtures.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { freePort, startSipp, uaHost } from '../sip/helpers.js';
import { expectedTableOutcome, startSipTable, type SipTable } from '../sip/trunk.js';

describe('SIP trunk batches through sipp', () => {
  let table: SipTable;
  let server: TestServer;
  let agentId: string;

  before(async () => {
    table = await startSipTable({ talkMs: 300, timeoutSecs: 120 });
    server = await startTestServer({ simulate: false, sipListen: `${uaHost}:${await freePort(uaHost)}` });
    const agent = await server.api('/v1/convai/agents/create', { method: 'POST', json: { conversation_config: {}, name: 'sip agent', handoff: { sip_uri: table.agentUri } } });
    agentId = ((await agent.json()) as { agent_id: string }).agent_id;
  });
  after(async () => {
    await server.stop();
    await table.stop();
  });

  async function trunkNumber(address: string): Promise<string> {
    const response = await server.api('/v1/convai/phone-numbers', {
      method: 'POST',
      json: { provider: 'sip_trunk', phone_number: '+14155550100', label: 'trunk', outbound_trunk_config: { address, transport: 'udp' } },
    });
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { phone_number_id: string }).phone_number_id;
  }

  async function finished(batchId: string): Promise<WireBatch> {
    let batch: WireBatch | undefined;
    await waitFor(async () => {
      batch = await getBatch(server, batchId);
      return batch.status === 'completed' || batch.status === 'failed';
    }, 60_000, `batch ${batchId}`);
    return batch!;
  }

  it('dials 50 recipients at most 5 at a time, each ending as the trunk scenario says', async () => {
    const phoneNumberId = await trunkNumber(table.trunkAddress);
    // NN 0–79 of the table, in an order that mixes outcomes; 65–69 answer (SIP has no answering machines).
    const nns = Array.from({ length: 50 }, (_, index) => (index * 37) % 80);
    const submitted = await submitBatch(server, {
      call_name: 'sip table',
      agent_id: agentId,
      agent_phone_number_id: phoneNumberId,
      target_concurrency_limit: 5,
      telephony_call_config: { ringing_timeout_secs: 1 },
      recipients: nns.map((nn) => ({ id: `nn-${nn}`, phone_number: tableNumber(nn, 808) })),
    });
    const batch = await finished(submitted.id);
    assert.equal(batch.status, 'completed');
    for (const recipient of batch.recipients!) {
      const expected = expectedTableOutcome(recipient.phone_number!);
      assert.equal(recipient.status, expected.outcome, `${recipient.id}`);
      if (expected.outcome === 'failed') assert.equal(recipient.reason, expected.reason, `${recipient.id} reason`);
    }
    const dialogs = table.dialogs().filter((dialog) => nns.includes(dialog.nn ?? -1));
    assert.ok(dialogs.length >= 50, `the trunk saw ${dialogs.length} INVITE dialogs`);
    assert.ok(table.maxOpenDialogs() <= 5, `at most 5 dialogs open at once (sipp counted ${table.maxOpenDialogs()})`);
    assert.ok(table.maxOpenDialogs() >= 2, 'calls did run in parallel');
  });

  it('places a single call through /v1/convai/sip-trunk/outbound-call and returns its Call-ID', async () => {
    const phoneNumberId = await trunkNumber(table.trunkAddress);
    const client = new ElevenLabsClient({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
    const response = await client.conversationalAi.sipTrunk.outboundCall({ agentId, agentPhoneNumberId: phoneNumberId, toNumber: tableNumber(1, 809) });
    assert.equal(response.success, true);
    assert.ok(response.sipCallId, 'a sip_call_id');
    await waitFor(() => table.dialogs().some((dialog) => dialog.callId === response.sipCallId), 5_000, 'the trunk to see that Call-ID');
  });

  it('fails the batch with a readable reason when the trunk answers 403', async (t) => {
    const forbidding = await startSipp({ scenario: 'reject-403.xml', calls: 0, owner: t, timeoutSecs: 60 });
    const phoneNumberId = await trunkNumber(forbidding.address);
    const submitted = await submitBatch(server, {
      call_name: 'forbidden',
      agent_id: agentId,
      agent_phone_number_id: phoneNumberId,
      target_concurrency_limit: 1,
      recipients: [{ phone_number: tableNumber(2, 810) }, { phone_number: tableNumber(3, 810) }, { phone_number: tableNumber(4, 810) }],
    });
    const batch = await finished(submitted.id);
    assert.equal(batch.status, 'failed');
    assert.match(String(batch.status_reason), /403 Forbidden/);
    let recipients = batch.recipients!;
    await waitFor(async () => {
      recipients = (await getBatch(server, submitted.id)).recipients!;
      return recipients.some((recipient) => recipient.reason === 'trunk_rejected');
    }, 5_000, 'the first call to end trunk_rejected');
    assert.deepEqual(
      recipients.map((recipient) => recipient.status).sort(),
      ['failed', 'pending', 'pending'],
      `the first call tells, the rest are not dialed: ${JSON.stringify(recipients)}`,
    );
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAgent, createPhoneNumber, type WireBatch } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('large submits', () => {
  let server: TestServer;
  let agentId: string;
  let phoneNumberId: string;
  before(async () => {
    server = await startTestServer();
    // Only what submit writes is under test here.
    await server.dispatcher.stop(0);
    agentId = await createAgent(server);
    phoneNumberId = await createPhoneNumber(server);
  });
  after(async () => {
    await server.stop();
  });

  const numbers = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      id: `r${i}`,
      phone_number: `+1${['202', '415', '212', '646', '718'][i % 5]}555${String(i % 10000).padStart(4, '0')}`,
      conversation_initiation_client_data: { dynamic_variables: { name: `Person ${i}`, index: i } },
    }));

  it('takes 100,000 recipients within the default body limit, in one transaction', async () => {
    const recipients = numbers(100_000);
    const response = await server.api('/v1/convai/batch-calling/submit', {
      method: 'POST',
      json: { call_name: 'big', agent_id: agentId, agent_phone_number_id: phoneNumberId, recipients },
    });
    assert.equal(response.status, 200, await response.clone().text());
    const batch = (await response.json()) as WireBatch;
    assert.equal(batch.total_calls_scheduled, 100_000);
    const csv = await (await server.api(`/v1/convai/batch-calling/${batch.id}/export`)).text();
    const lines = csv.trimEnd().split('\n');
    assert.equal(lines.length, 100_001);
    assert.equal(lines[100_000], `r99999,'+17185559999,,pending,,0,,,99999,Person 99999`);
  });

  it('normalises and validates numbers handled off the main thread as well as on it', async () => {
    const recipients = numbers(6_000);
    recipients[5_999]!.phone_number = '(718) 555-0199';
    recipients[4_321]!.phone_number = '+1 202 555 01';
    const bad = await server.api('/v1/convai/batch-calling/submit', {
      method: 'POST',
      json: { call_name: 'bad', agent_id: agentId, agent_phone_number_id: phoneNumberId, recipients },
    });
    assert.equal(bad.status, 422);
    const { detail } = (await bad.json()) as { detail: { loc: unknown[] }[] };
    assert.deepEqual(
      detail.map((issue) => issue.loc),
      [['body', 'recipients', 4321, 'phone_number']],
    );

    recipients[4_321]!.phone_number = '+1 202 555 0101';
    const good = await server.api('/v1/convai/batch-calling/submit', {
      method: 'POST',
      json: { call_name: 'good', agent_id: agentId, agent_phone_number_id: phoneNumberId, recipients },
    });
    assert.equal(good.status, 200);
    const batch = (await good.json()) as WireBatch;
    const csv = (await (await server.api(`/v1/convai/batch-calling/${batch.id}/export`)).text()).trimEnd().split('\n');
    assert.ok(csv[4_322]!.startsWith(`r4321,'+12025550101,`));
    assert.ok(csv[6_000]!.startsWith(`r5999,'+17185550199,`));
  });
});

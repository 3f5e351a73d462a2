/**
 * Twilio callbacks that reach a process which does not follow the call: an API-only process
 * (`serve --no-dispatch`) is the public URL, and two workers place the calls. Every status callback
 * lands on the API process, which writes it compare-and-set; the workers see the rows move.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeTwilio, type FakeTwilio } from '../fakes/twilio/server.js';
import { apiFetch, killAll, launchWorker, spawnServer, unusedPort, waitFor, type SpawnedServer, type SpawnedWorker } from '../helpers/server.js';
import { getBatch, submitBatch, tableNumber, type WireBatch } from '../helpers/fixtures.js';
import { createSchema, dropSchema, holdServerShared, newSchemaName, urlWithSchema, type ServerLock } from '../helpers/postgres.js';
import { fakeAccountSid, fakeAuthToken } from '../helpers/twilio.js';

describe('Twilio on PostgreSQL: callbacks to an API-only process, calls placed by workers', () => {
  const schema = newSchemaName('redial_twilio');
  const databaseUrl = urlWithSchema(schema);
  const dir = mkdtempSync(join(tmpdir(), 'redial-twilio-pg-'));
  const processes: (SpawnedServer | SpawnedWorker)[] = [];
  let fake: FakeTwilio;
  let lock: ServerLock | null = null;
  let apiServer: SpawnedServer;

  before(
    async () => {
      lock = await holdServerShared();
      await createSchema(schema);
      fake = await startFakeTwilio({ accounts: [{ accountSid: fakeAccountSid, authToken: fakeAuthToken }], timeScale: 0.005 });
      const port = await unusedPort();
      const carrierArgs = ['--database-url', databaseUrl, '--public-url', `http://127.0.0.1:${port}`, '--twilio-api-url', fake.url, '--poll-interval-ms', '100'];
      apiServer = await spawnServer({ dataDir: join(dir, 'api'), port, args: ['--no-dispatch', ...carrierArgs] });
      processes.push(apiServer);
      const workers = [launchWorker({ databaseUrl, args: carrierArgs }), launchWorker({ databaseUrl, args: carrierArgs })];
      processes.push(...workers);
      await Promise.all(workers.map((worker) => worker.ready));
    },
    { timeout: 250_000 },
  );
  after(async () => {
    await killAll(processes);
    await fake.close();
    await dropSchema(schema);
    await lock?.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drives every recipient to its outcome from callbacks the workers never receive', { timeout: 60_000 }, async () => {
    const server = { api: (path: string, init?: RequestInit & { json?: unknown }) => apiFetch(apiServer.url, apiServer.apiKey, path, init) };
    const agent = await server.api('/v1/convai/agents/create', { method: 'POST', json: { conversation_config: {}, name: 'a', handoff: { stream_url: 'wss://agent.example.test/media' } } });
    const agentId = ((await agent.json()) as { agent_id: string }).agent_id;
    const number = await server.api('/v1/convai/phone-numbers', {
      method: 'POST',
      json: { provider: 'twilio', phone_number: '+14155550100', label: 'caller', sid: fakeAccountSid, token: fakeAuthToken, calls_per_second: 100 },
    });
    const phoneNumberId = ((await number.json()) as { phone_number_id: string }).phone_number_id;
    const nns = [0, 1, 2, 3, 4, 50, 51, 60, 61, 70, 75];
    const submitted = await submitBatch(server, {
      call_name: 'twilio on postgres',
      agent_id: agentId,
      agent_phone_number_id: phoneNumberId,
      telephony_call_config: { ringing_timeout_secs: 20 },
      recipients: nns.map((nn) => ({ id: `nn-${nn}`, phone_number: tableNumber(nn, 909) })),
    });
    let batch: WireBatch | undefined;
    await waitFor(async () => {
      batch = await getBatch(server, submitted.id);
      return batch.status === 'completed';
    }, 45_000, 'the batch to complete');
    const byId = new Map(batch!.recipients!.map((recipient) => [recipient.id, recipient]));
    for (const nn of [0, 1, 2, 3, 4]) assert.equal(byId.get(`nn-${nn}`)!.status, 'completed', `nn ${nn}`);
    for (const nn of [50, 51]) assert.equal(byId.get(`nn-${nn}`)!.reason, 'no_answer', `nn ${nn}`);
    for (const nn of [60, 61]) assert.equal(byId.get(`nn-${nn}`)!.reason, 'busy', `nn ${nn}`);
    assert.equal(byId.get('nn-70')!.reason, 'invalid_number');
    assert.equal(byId.get('nn-75')!.reason, 'provider_error');
    // Every callback went to the API process (the public URL), and each number was created once.
    assert.ok(fake.callbacks.every((callback) => callback.url.startsWith(apiServer.url)));
    for (const nn of nns) {
      assert.equal(fake.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/Calls.json') && request.form.To === tableNumber(nn, 909)).length, 1, `one create for nn ${nn}`);
    }
  });
});

/**
 * The official SDK (`@elevenlabs/elevenlabs-js` 2.73.0) against a real redial server on a real
 * port: every route is called through `ElevenLabsClient`, so the SDK's strict response parser
 * has to accept every answer (a missing required key or a wrong type is a `ParseError`).
 *
 * The client's `fetch` is wrapped to record every exchange, so the end of the file can check
 * things about *all* responses at once: each carried an `x-request-id`, and none contained a
 * secret that was sent in (Twilio token, SIP passwords).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ElevenLabs, ElevenLabsClient, ElevenLabsError } from '@elevenlabs/elevenlabs-js';
import { tableNumber } from '../helpers/fixtures.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const secrets = {
  twilioToken: 'twilio-token-SECRET-7f3a91',
  twilioAccountAuthToken: 'twilio-account-auth-SECRET-4d2c',
  twilioRegionToken: 'twilio-region-SECRET-88e1',
  sipOutboundPassword: 'sip-outbound-SECRET-9c1e',
  sipInboundPassword: 'sip-inbound-SECRET-2b8d',
};

interface Exchange {
  method: string;
  url: string;
  status: number;
  requestId: string | null;
  requestBody: string | undefined;
  responseText: Promise<string>;
}

function nowSecs(): number {
  return Math.floor(Date.now() / 1000);
}

/** A unix-seconds integer within a minute of now. */
function assertRecentUnix(value: unknown, what: string): void {
  assert.equal(typeof value, 'number', `${what} is a number`);
  assert.ok(Number.isInteger(value), `${what} is an integer (got ${String(value)})`);
  assert.ok(Math.abs((value as number) - nowSecs()) <= 60, `${what} = ${String(value)} is about now (${nowSecs()})`);
}

/** The ElevenLabsError a call ends with (fails the test if it succeeds or throws anything else). */
async function rejection(promise: Promise<unknown>): Promise<ElevenLabsError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ElevenLabsError, `expected an ElevenLabsError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

async function readStream(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF line ends. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

describe('the official ElevenLabs SDK against redial', () => {
  let server: TestServer;
  let client: ElevenLabsClient;
  const exchanges: Exchange[] = [];
  let agentId: string;
  const agentName = 'SDK baseline agent';
  let phoneNumberId: string;

  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    exchanges.push({
      method: init?.method ?? 'GET',
      url: String(input),
      status: response.status,
      requestId: response.headers.get('x-request-id'),
      requestBody: typeof init?.body === 'string' ? init.body : undefined,
      responseText: response.clone().text(),
    });
    return response;
  };

  /** The JSON body of the last request the SDK sent to a URL containing `pathPart`. */
  function lastRequestBody(pathPart: string): Record<string, unknown> {
    const exchange = [...exchanges].reverse().find((e) => e.url.includes(pathPart) && e.requestBody !== undefined);
    assert.ok(exchange, `a recorded request to ${pathPart}`);
    return JSON.parse(exchange.requestBody!) as Record<string, unknown>;
  }

  async function waitForStatus(batchId: string, status: string): Promise<ElevenLabs.BatchCallDetailedResponse> {
    let batch: ElevenLabs.BatchCallDetailedResponse | undefined;
    await waitFor(
      async () => {
        batch = await client.conversationalAi.batchCalls.get(batchId);
        return batch.status === status;
      },
      15_000,
      `batch ${batchId} to be ${status}`,
    );
    return batch!;
  }

  before(async () => {
    server = await startTestServer();
    client = new ElevenLabsClient({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0, fetch: recordingFetch });
    assert.equal(server.apiKey, 'test-key-0123456789');
    agentId = (await client.conversationalAi.agents.create({ conversationConfig: {}, name: agentName })).agentId;
    phoneNumberId = (
      await client.conversationalAi.phoneNumbers.create({
        provider: 'twilio',
        phoneNumber: '+14155550100',
        label: 'baseline caller',
        sid: 'AC00000000000000000000000000000001',
        token: secrets.twilioToken,
      })
    ).phoneNumberId;
  });

  after(async () => {
    await server?.stop();
  });

  describe('agents', () => {
    it('create (with a handoff extension), get, list, update and delete all parse', async () => {
      const agents = client.conversationalAi.agents;
      const handoff = { stream_url: 'wss://agent.example/stream', sip_uri: 'sip:agent@example.com' };
      const created = await agents.create(
        {
          conversationConfig: { agent: { firstMessage: 'Hello {{name}}', language: 'en' }, tts: { voiceId: 'voice-sdk-1' } },
          name: 'SDK agent',
          tags: ['sdk', 'compat'],
        },
        { additionalBodyParameters: { handoff } },
      );
      assert.equal(typeof created.agentId, 'string');
      assert.ok(created.agentId.length > 0);
      assert.deepEqual(lastRequestBody('/v1/convai/agents/create').handoff, handoff, 'the SDK sent the handoff');

      const got = await agents.get(created.agentId);
      assert.equal(got.agentId, created.agentId);
      assert.equal(got.name, 'SDK agent');
      assert.deepEqual(got.tags, ['sdk', 'compat']);
      assert.equal(got.conversationConfig.agent?.firstMessage, 'Hello {{name}}');
      assert.equal(got.conversationConfig.agent?.language, 'en');
      assert.equal(got.conversationConfig.tts?.voiceId, 'voice-sdk-1');
      assertRecentUnix(got.metadata.createdAtUnixSecs, 'metadata.created_at_unix_secs');
      assertRecentUnix(got.metadata.updatedAtUnixSecs, 'metadata.updated_at_unix_secs');
      assert.deepEqual((got as unknown as { handoff?: unknown }).handoff, handoff, 'handoff is returned (snake_case, passed through)');

      // Pages of one: the baseline agent and this one make at least two.
      const seen = new Set<string>();
      let cursor: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await agents.list({ pageSize: 1, cursor });
        pages++;
        assert.ok(page.agents.length <= 1);
        for (const summary of page.agents) {
          assert.ok(!seen.has(summary.agentId), `agent ${summary.agentId} listed twice`);
          seen.add(summary.agentId);
          assert.equal(typeof summary.voiceId, 'string');
          assert.ok(Array.isArray(summary.tags));
          assertRecentUnix(summary.createdAtUnixSecs, 'created_at_unix_secs');
          assert.equal(typeof summary.accessInfo.isCreator, 'boolean');
          assert.equal(typeof summary.accessInfo.role, 'string');
        }
        assert.equal(typeof page.hasMore, 'boolean');
        if (!page.hasMore) {
          assert.equal(page.nextCursor, undefined);
          break;
        }
        assert.equal(typeof page.nextCursor, 'string');
        cursor = page.nextCursor;
        assert.ok(pages < 20, 'agent pagination terminates');
      }
      assert.ok(pages >= 2, 'pageSize 1 with two agents needs two pages');
      assert.ok(seen.has(agentId) && seen.has(created.agentId));
      const full = await agents.list({ pageSize: 100 });
      const summary = full.agents.find((a) => a.agentId === created.agentId);
      assert.ok(summary);
      assert.equal(summary.name, 'SDK agent');
      assert.equal(summary.voiceId, 'voice-sdk-1');
      assert.deepEqual(summary.tags, ['sdk', 'compat']);
      assert.equal(full.hasMore, false);

      const updated = await agents.update(created.agentId, { name: 'SDK agent renamed', tags: ['updated'] });
      assert.equal(updated.agentId, created.agentId);
      assert.equal(updated.name, 'SDK agent renamed');
      assert.deepEqual(updated.tags, ['updated']);
      assert.equal(updated.conversationConfig.agent?.firstMessage, 'Hello {{name}}', 'a PATCH without conversation_config keeps it');
      assert.deepEqual((updated as unknown as { handoff?: unknown }).handoff, handoff, 'a PATCH without handoff keeps it');
      assert.ok(updated.metadata.updatedAtUnixSecs >= got.metadata.updatedAtUnixSecs);
      assert.equal(updated.metadata.createdAtUnixSecs, got.metadata.createdAtUnixSecs);
      assert.equal((await agents.get(created.agentId)).name, 'SDK agent renamed', 'the update is stored');

      assert.equal(await agents.delete(created.agentId), undefined);
      const gone = await rejection(agents.get(created.agentId));
      assert.equal(gone.statusCode, 404);
      assert.ok(!(gone instanceof ElevenLabs.UnprocessableEntityError));
      assert.ok(!(await agents.list({ pageSize: 100 })).agents.some((a) => a.agentId === created.agentId));
    });

    it('an agent created with a workflow reads back through the SDK (get and update parse)', async () => {
      // The SDK's request model for `workflow` has every key optional, its response model requires
      // edges, nodes and prevent_subagent_loops: echoing the stored body is not enough.
      const agents = client.conversationalAi.agents;
      for (const workflow of [{}, { preventSubagentLoops: true }]) {
        const { agentId: id } = await agents.create({ conversationConfig: {}, name: 'workflow agent', workflow });
        const got = await agents.get(id);
        assert.equal(got.agentId, id);
        const updated = await agents.update(id, { name: 'workflow agent 2' });
        assert.equal(updated.name, 'workflow agent 2');
        for (const returned of [got.workflow, updated.workflow]) {
          if (returned === undefined) continue;
          assert.equal(typeof returned.edges, 'object');
          assert.equal(typeof returned.nodes, 'object');
          assert.equal(returned.preventSubagentLoops, workflow.preventSubagentLoops ?? returned.preventSubagentLoops);
        }
        await agents.delete(id);
      }
    });
  });

  describe('phone numbers', () => {
    it('twilio and sip_trunk: create, get, list, update, delete; no secret ever comes back', async () => {
      const numbers = client.conversationalAi.phoneNumbers;
      const twilio = await numbers.create({
        provider: 'twilio',
        phoneNumber: '+14155550111',
        label: 'twilio line',
        sid: 'AC00000000000000000000000000000002',
        token: secrets.twilioToken,
        accountAuthToken: secrets.twilioAccountAuthToken,
        regionConfig: { regionId: 'ie1', token: secrets.twilioRegionToken, edgeLocation: 'dublin' },
      });
      const sip = await numbers.create({
        provider: 'sip_trunk',
        phoneNumber: '+14155550112',
        label: 'sip line',
        outboundTrunkConfig: {
          address: 'sip.carrier.example',
          transport: 'tls',
          mediaEncryption: 'required',
          headers: { 'X-Tenant': 'sdk' },
          credentials: { username: 'trunk-user', password: secrets.sipOutboundPassword },
        },
        inboundTrunkConfig: {
          allowedAddresses: ['203.0.113.0/24'],
          credentials: { username: 'inbound-user', password: secrets.sipInboundPassword },
        },
      });
      assert.equal(typeof twilio.phoneNumberId, 'string');
      assert.equal(typeof sip.phoneNumberId, 'string');
      assert.notEqual(twilio.phoneNumberId, sip.phoneNumberId);

      const gotTwilio = await numbers.get(twilio.phoneNumberId);
      assert.equal(gotTwilio.provider, 'twilio');
      assert.equal(gotTwilio.phoneNumberId, twilio.phoneNumberId);
      assert.equal(gotTwilio.phoneNumber, '+14155550111');
      assert.equal(gotTwilio.label, 'twilio line');
      assert.equal(gotTwilio.assignedAgent, undefined);

      const gotSip = await numbers.get(sip.phoneNumberId);
      assert.equal(gotSip.provider, 'sip_trunk');
      if (gotSip.provider !== 'sip_trunk') return;
      assert.equal(gotSip.phoneNumber, '+14155550112');
      assert.equal(gotSip.label, 'sip line');
      assert.ok(['standard', 'static'].includes(gotSip.livekitStack));
      assert.ok(gotSip.outboundTrunk, 'outbound_trunk is returned');
      assert.equal(gotSip.outboundTrunk.address, 'sip.carrier.example');
      assert.equal(gotSip.outboundTrunk.transport, 'tls');
      assert.equal(gotSip.outboundTrunk.mediaEncryption, 'required');
      assert.equal(gotSip.outboundTrunk.hasAuthCredentials, true);
      assert.equal(gotSip.outboundTrunk.username, 'trunk-user');
      assert.deepEqual(gotSip.outboundTrunk.headers, { 'X-Tenant': 'sdk' });
      assert.ok(gotSip.inboundTrunk, 'inbound_trunk is returned');
      assert.deepEqual(gotSip.inboundTrunk.allowedAddresses, ['203.0.113.0/24']);
      assert.equal(gotSip.inboundTrunk.hasAuthCredentials, true);
      assert.equal(typeof gotSip.inboundTrunk.mediaEncryption, 'string');

      const all = await numbers.list();
      assert.ok(Array.isArray(all), 'list is a bare array');
      const listedIds = all.map((n) => n.phoneNumberId);
      for (const id of [phoneNumberId, twilio.phoneNumberId, sip.phoneNumberId]) assert.ok(listedIds.includes(id), `${id} listed`);
      for (const entry of all) assert.ok(['twilio', 'sip_trunk'].includes(entry.provider), `provider ${entry.provider}`);
      const sipOnly = await numbers.list({ provider: 'sip_trunk' });
      assert.deepEqual(
        sipOnly.map((n) => n.phoneNumberId),
        [sip.phoneNumberId],
      );

      const updatedTwilio = await numbers.update(twilio.phoneNumberId, { label: 'twilio line renamed', agentId });
      assert.equal(updatedTwilio.provider, 'twilio');
      assert.equal(updatedTwilio.label, 'twilio line renamed');
      assert.equal(updatedTwilio.phoneNumber, '+14155550111');
      assert.equal(updatedTwilio.assignedAgent?.agentId, agentId);
      assert.equal(updatedTwilio.assignedAgent?.agentName, agentName);
      const byAgent = await numbers.list({ agentId });
      assert.deepEqual(
        byAgent.map((n) => n.phoneNumberId),
        [twilio.phoneNumberId],
      );
      // The agent now shows its number, provider-tagged like §4.2.
      const agent = await client.conversationalAi.agents.get(agentId);
      assert.deepEqual(
        agent.phoneNumbers?.map((n) => [n.provider, n.phoneNumberId]),
        [['twilio', twilio.phoneNumberId]],
      );

      const updatedSip = await numbers.update(sip.phoneNumberId, {
        label: 'sip line renamed',
        agentId,
        outboundTrunkConfig: { address: 'sip2.carrier.example', transport: 'tcp', credentials: { username: 'trunk-user-2' } },
        livekitStack: 'static',
        storeSipMessages: true,
      });
      assert.equal(updatedSip.provider, 'sip_trunk');
      if (updatedSip.provider !== 'sip_trunk') return;
      assert.equal(updatedSip.label, 'sip line renamed');
      assert.equal(updatedSip.livekitStack, 'static');
      assert.equal(updatedSip.storeSipMessages, true);
      assert.equal(updatedSip.outboundTrunk?.address, 'sip2.carrier.example');
      assert.equal(updatedSip.outboundTrunk?.transport, 'tcp');
      assert.equal(updatedSip.outboundTrunk?.username, 'trunk-user-2');
      assert.equal(updatedSip.outboundTrunk?.hasAuthCredentials, true);
      assert.deepEqual(updatedSip.inboundTrunk?.allowedAddresses, ['203.0.113.0/24'], 'inbound trunk untouched');
      assert.equal(updatedSip.assignedAgent?.agentId, agentId);
      const reread = await numbers.get(sip.phoneNumberId);
      assert.equal(reread.label, 'sip line renamed', 'the update is stored');
      // Both variants of the union parse inside the agent too.
      const withBoth = await client.conversationalAi.agents.get(agentId);
      assert.deepEqual(
        withBoth.phoneNumbers?.map((n) => [n.provider, n.phoneNumberId]).sort(),
        [
          ['sip_trunk', sip.phoneNumberId],
          ['twilio', twilio.phoneNumberId],
        ].sort(),
      );
      const sipInAgent = withBoth.phoneNumbers?.find((n) => n.phoneNumberId === sip.phoneNumberId);
      assert.equal(sipInAgent?.provider === 'sip_trunk' ? sipInAgent.livekitStack : undefined, 'static');

      // The raw bodies, read with plain fetch (the SDK's parsed objects would hide extra keys).
      const rawPaths = [
        '/v1/convai/phone-numbers',
        `/v1/convai/phone-numbers/${twilio.phoneNumberId}`,
        `/v1/convai/phone-numbers/${sip.phoneNumberId}`,
        `/v1/convai/agents/${agentId}`,
      ];
      for (const path of rawPaths) {
        const response = await server.api(path);
        assert.equal(response.status, 200, path);
        const text = await response.text();
        for (const [name, secret] of Object.entries(secrets)) assert.ok(!text.includes(secret), `${name} leaked in GET ${path}: ${text}`);
        for (const key of ['"token"', '"password"', '"account_auth_token"', '"region_config"']) {
          assert.ok(!text.includes(key), `key ${key} in GET ${path}: ${text}`);
        }
      }
      const raw = await numbers.get(sip.phoneNumberId).withRawResponse();
      assert.equal(raw.rawResponse.status, 200);
      assert.ok(raw.rawResponse.headers.get('x-request-id'));

      await numbers.delete(twilio.phoneNumberId);
      await numbers.delete(sip.phoneNumberId);
      for (const id of [twilio.phoneNumberId, sip.phoneNumberId]) {
        const gone = await rejection(numbers.get(id));
        assert.equal(gone.statusCode, 404);
      }
      const afterDelete = (await numbers.list()).map((n) => n.phoneNumberId);
      assert.ok(!afterDelete.includes(twilio.phoneNumberId) && !afterDelete.includes(sip.phoneNumberId));
      assert.ok(afterDelete.includes(phoneNumberId));
    });
  });

  describe('batch calling', () => {
    it('submit with variables and an override, run to completion, get every recipient, export CSV', async () => {
      const batches = client.conversationalAi.batchCalls;
      const clientData = {
        dynamicVariables: { name: 'Ada', amount: 42, vip: true },
        conversationConfigOverride: {
          agent: { firstMessage: 'Hello Ada', language: 'en', prompt: { prompt: 'Be brief.' } },
          tts: { voiceId: 'voice-override', stability: 0.5 },
        },
        userId: 'user-ada',
      };
      const submitted = await batches.create({
        callName: 'SDK run',
        agentId,
        agentPhoneNumberId: phoneNumberId,
        recipients: [
          { id: 'r-answer', phoneNumber: tableNumber(0), conversationInitiationClientData: clientData },
          { phoneNumber: tableNumber(50), conversationInitiationClientData: { dynamicVariables: { name: 'Bob' } } },
          { id: 'r-busy', phoneNumber: tableNumber(60) },
          { id: 'r-voicemail', phoneNumber: tableNumber(65) },
        ],
        telephonyCallConfig: { ringingTimeoutSecs: 30, twilioMachineDetection: { mode: 'enable' } },
        timezone: 'Europe/Paris',
        targetConcurrencyLimit: 2,
      });
      const sent = lastRequestBody('/batch-calling/submit');
      assert.equal(sent.call_name, 'SDK run');
      assert.equal(sent.agent_phone_number_id, phoneNumberId);

      assert.equal(typeof submitted.id, 'string');
      assert.equal(submitted.name, 'SDK run');
      assert.equal(submitted.agentId, agentId);
      assert.equal(submitted.agentName, agentName);
      assert.equal(submitted.phoneNumberId, phoneNumberId);
      assert.equal(submitted.phoneProvider, 'twilio');
      assert.ok(['pending', 'in_progress'].includes(submitted.status), `status ${submitted.status}`);
      assert.equal(submitted.totalCallsScheduled, 4);
      assert.equal(typeof submitted.totalCallsDispatched, 'number');
      assert.equal(typeof submitted.totalCallsFinished, 'number');
      assert.equal(submitted.retryCount, 0);
      assert.equal(submitted.timezone, 'Europe/Paris');
      assert.equal(submitted.targetConcurrencyLimit, 2);
      assert.deepEqual(submitted.telephonyCallConfig, { ringingTimeoutSecs: 30, twilioMachineDetection: { mode: 'enable' } });
      assertRecentUnix(submitted.createdAtUnix, 'created_at_unix');
      assertRecentUnix(submitted.scheduledTimeUnix, 'scheduled_time_unix (send now)');
      assertRecentUnix(submitted.lastUpdatedAtUnix, 'last_updated_at_unix');

      const done = await waitForStatus(submitted.id, 'completed');
      assert.equal(done.id, submitted.id);
      assert.equal(done.totalCallsScheduled, 4);
      assert.equal(done.totalCallsDispatched, 4);
      assert.equal(done.totalCallsFinished, 4);
      assert.equal(done.recipients.length, 4);
      const ids = done.recipients.map((r) => r.id);
      assert.equal(new Set(ids).size, 4, 'recipient ids are unique');
      for (const recipient of done.recipients) {
        assert.equal(typeof recipient.id, 'string');
        assert.ok(recipient.id.length > 0);
        assertRecentUnix(recipient.createdAtUnix, `recipient ${recipient.id} created_at_unix`);
        assertRecentUnix(recipient.updatedAtUnix, `recipient ${recipient.id} updated_at_unix`);
        assert.ok(recipient.updatedAtUnix >= recipient.createdAtUnix);
      }
      const byId = new Map(done.recipients.map((r) => [r.id, r]));
      const answered = byId.get('r-answer');
      assert.ok(answered);
      assert.equal(answered.status, 'completed');
      assert.equal(answered.phoneNumber, tableNumber(0));
      assert.equal(typeof answered.conversationId, 'string');
      assert.deepEqual(answered.conversationInitiationClientData, clientData, 'client data is echoed back exactly');
      const generated = done.recipients.find((r) => !['r-answer', 'r-busy', 'r-voicemail'].includes(r.id));
      assert.ok(generated, 'a recipient sent without id gets one');
      assert.equal(generated.phoneNumber, tableNumber(50));
      assert.equal(generated.status, 'failed');
      assert.deepEqual(generated.conversationInitiationClientData?.dynamicVariables, { name: 'Bob' });
      assert.equal(byId.get('r-busy')?.status, 'failed');
      assert.equal(byId.get('r-voicemail')?.status, 'voicemail');
      // The raw JSON keeps the dynamic variables' keys and JSON types as sent.
      const rawGet = await (await server.api(`/v1/convai/batch-calling/${submitted.id}`)).json() as {
        recipients: { id: string; conversation_initiation_client_data?: Record<string, unknown> }[];
      };
      const rawAnswered = rawGet.recipients.find((r) => r.id === 'r-answer');
      assert.deepEqual(rawAnswered?.conversation_initiation_client_data?.dynamic_variables, { name: 'Ada', amount: 42, vip: true });

      const { data: stream, rawResponse } = await batches.export(submitted.id).withRawResponse();
      assert.equal(rawResponse.status, 200);
      assert.match(rawResponse.headers.get('content-type') ?? '', /^text\/csv/);
      const rows = parseCsv(await readStream(stream));
      const header = rows[0]!;
      assert.equal(header[0], 'recipient_id');
      for (const column of ['phone_number', 'status', 'conversation_id', 'name', 'amount', 'vip']) {
        assert.ok(header.includes(column), `CSV column ${column} in ${header.join(',')}`);
      }
      const data = rows.slice(1);
      assert.equal(data.length, 4, 'one row per recipient');
      for (const row of data) assert.equal(row.length, header.length, `row ${row.join(',')} has every column`);
      assert.deepEqual(data.map((row) => row[0]).sort(), [...ids].sort());
      const cell = (row: string[], column: string) => row[header.indexOf(column)];
      const answerRow = data.find((row) => row[0] === 'r-answer')!;
      assert.equal(cell(answerRow, 'status'), 'completed');
      assert.ok(cell(answerRow, 'phone_number')!.endsWith(tableNumber(0)), `phone cell ${cell(answerRow, 'phone_number')}`);
      assert.equal(cell(answerRow, 'conversation_id'), answered.conversationId);
      assert.equal(cell(answerRow, 'name'), 'Ada');
      assert.equal(cell(answerRow, 'amount'), '42');
      assert.equal(cell(answerRow, 'vip'), 'true');
      assert.equal(cell(data.find((row) => row[0] === 'r-voicemail')!, 'status'), 'voicemail');

      const preview = parseCsv(await readStream(await batches.export(submitted.id, { limit: 2 })));
      assert.deepEqual(preview[0], header);
      assert.equal(preview.length - 1, 2, 'limit keeps only the first N recipients');
    });

    it('list pages newest-first with limit 2 and last_doc, without duplicates', async () => {
      const batches = client.conversationalAi.batchCalls;
      const listAgent = (await client.conversationalAi.agents.create({ conversationConfig: {}, name: 'list agent' })).agentId;
      const later = nowSecs() + 3600;
      const submittedIds: string[] = [];
      for (let i = 0; i < 5; i++) {
        const batch = await batches.create({
          callName: `page ${i}`,
          agentId: listAgent,
          agentPhoneNumberId: phoneNumberId,
          scheduledTimeUnix: later,
          recipients: [{ phoneNumber: tableNumber(i) }],
        });
        submittedIds.push(batch.id);
      }
      const newestFirst = [...submittedIds].reverse();

      // Only this agent's batches.
      const seen: string[] = [];
      let lastDoc: string | undefined;
      const pageSizes: number[] = [];
      for (;;) {
        const page = await batches.list({ limit: 2, lastDoc, agentId: listAgent });
        pageSizes.push(page.batchCalls.length);
        for (const batch of page.batchCalls) {
          assert.equal(batch.agentId, listAgent);
          assert.equal(batch.agentName, 'list agent');
          assert.equal(batch.scheduledTimeUnix, later);
          assert.equal(batch.status, 'pending');
          seen.push(batch.id);
        }
        if (!page.hasMore) {
          assert.equal(page.nextDoc, undefined, 'no next_doc on the last page');
          break;
        }
        assert.equal(typeof page.nextDoc, 'string');
        lastDoc = page.nextDoc;
        assert.ok(pageSizes.length < 10, 'pagination terminates');
      }
      assert.deepEqual(pageSizes, [2, 2, 1]);
      assert.deepEqual(seen, newestFirst, 'newest first, nothing twice, nothing missing');

      // The whole workspace, two at a time: still newest first and no duplicates.
      const everything: ElevenLabs.BatchCallResponse[] = [];
      lastDoc = undefined;
      for (let pages = 0; ; pages++) {
        assert.ok(pages < 50, 'pagination terminates');
        const page = await batches.list({ limit: 2, lastDoc });
        assert.ok(page.batchCalls.length <= 2);
        everything.push(...page.batchCalls);
        if (!page.hasMore) break;
        lastDoc = page.nextDoc;
      }
      const everyId = everything.map((b) => b.id);
      assert.equal(new Set(everyId).size, everyId.length, 'no batch on two pages');
      for (let i = 1; i < everything.length; i++) {
        assert.ok(everything[i - 1]!.createdAtUnix >= everything[i]!.createdAtUnix, 'created_at_unix never increases down the list');
      }
      assert.deepEqual(
        everyId.filter((id) => submittedIds.includes(id)),
        newestFirst,
      );
      const unpaged = await batches.list();
      assert.deepEqual(
        unpaged.batchCalls.map((b) => b.id),
        everyId,
        'one unpaged list equals the pages joined',
      );

      for (const id of submittedIds) assert.equal((await batches.cancel(id)).status, 'cancelled');
    });

    it('cancel a batch scheduled for later; cancel again and retry it are 409', async () => {
      const batches = client.conversationalAi.batchCalls;
      const later = nowSecs() + 3600;
      const submitted = await batches.create({
        callName: 'for later',
        agentId,
        agentPhoneNumberId: phoneNumberId,
        scheduledTimeUnix: later,
        recipients: [{ phoneNumber: tableNumber(10) }, { phoneNumber: tableNumber(11) }, { phoneNumber: tableNumber(12) }],
      });
      assert.equal(submitted.status, 'pending');
      assert.equal(submitted.scheduledTimeUnix, later);

      const cancelled = await batches.cancel(submitted.id);
      assert.equal(cancelled.id, submitted.id);
      assert.equal(cancelled.status, 'cancelled');
      assert.equal(cancelled.totalCallsDispatched, 0);
      const detail = await batches.get(submitted.id);
      assert.equal(detail.status, 'cancelled');
      assert.deepEqual(
        detail.recipients.map((r) => r.status),
        ['cancelled', 'cancelled', 'cancelled'],
      );

      const retried = await rejection(batches.retry(submitted.id));
      assert.equal(retried.statusCode, 409, `retry of a cancelled batch: ${retried.message}`);
      assert.ok(!(retried instanceof ElevenLabs.UnprocessableEntityError));
      assert.equal(typeof (retried.body as { detail?: unknown }).detail, 'string');
      const again = await rejection(batches.cancel(submitted.id));
      assert.equal(again.statusCode, 409, `cancel of a cancelled batch: ${again.message}`);
      assert.equal((await batches.get(submitted.id)).status, 'cancelled', 'nothing changed');
    });

    it('retry dials failed recipients again; cancel of a completed batch is 409', async () => {
      const batches = client.conversationalAi.batchCalls;
      const submitted = await batches.create({
        callName: 'retry me',
        agentId,
        agentPhoneNumberId: phoneNumberId,
        recipients: [
          { id: 'ok', phoneNumber: tableNumber(1) },
          // NN 80–89 rings out on the first attempt and answers on the second.
          { id: 'second-time', phoneNumber: tableNumber(80) },
          { id: 'never', phoneNumber: tableNumber(55) },
        ],
      });
      const first = await waitForStatus(submitted.id, 'completed');
      const firstById = new Map(first.recipients.map((r) => [r.id, r]));
      assert.equal(firstById.get('ok')?.status, 'completed');
      assert.equal(firstById.get('second-time')?.status, 'failed');
      assert.equal(firstById.get('never')?.status, 'failed');
      assert.equal(first.retryCount, 0);

      const refused = await rejection(batches.cancel(submitted.id));
      assert.equal(refused.statusCode, 409, `cancel of a completed batch: ${refused.message}`);
      assert.ok(!(refused instanceof ElevenLabs.UnprocessableEntityError));

      const retried = await batches.retry(submitted.id);
      assert.equal(retried.id, submitted.id);
      assert.equal(retried.retryCount, 1);
      assert.ok(['pending', 'in_progress'].includes(retried.status), `status after retry ${retried.status}`);
      const second = await waitForStatus(submitted.id, 'completed');
      const secondById = new Map(second.recipients.map((r) => [r.id, r]));
      assert.equal(second.retryCount, 1);
      assert.equal(secondById.get('ok')?.status, 'completed');
      assert.equal(secondById.get('ok')?.conversationId, firstById.get('ok')?.conversationId, 'a completed recipient is not dialed again');
      assert.equal(secondById.get('second-time')?.status, 'completed');
      assert.equal(typeof secondById.get('second-time')?.conversationId, 'string');
      assert.equal(secondById.get('never')?.status, 'failed');
      assert.equal(second.totalCallsDispatched, 5);
      assert.equal(second.totalCallsFinished, 5);
    });

    it('delete removes the batch: get, export, cancel and delete again are 404', async () => {
      const batches = client.conversationalAi.batchCalls;
      const submitted = await batches.create({
        callName: 'delete me',
        agentId,
        agentPhoneNumberId: phoneNumberId,
        recipients: [{ phoneNumber: tableNumber(3) }],
      });
      await waitForStatus(submitted.id, 'completed');
      assert.equal(await batches.delete(submitted.id), undefined);

      const gone = await rejection(batches.get(submitted.id));
      assert.equal(gone.statusCode, 404);
      assert.ok(!(gone instanceof ElevenLabs.UnprocessableEntityError));
      assert.equal(typeof gone.requestId, 'string', 'ElevenLabsError.requestId comes from x-request-id');
      assert.equal(typeof (gone.body as { detail?: unknown }).detail, 'string', 'the error body was parsed as JSON');
      for (const call of [batches.export(submitted.id), batches.cancel(submitted.id), batches.retry(submitted.id), batches.delete(submitted.id)]) {
        assert.equal((await rejection(call)).statusCode, 404);
      }
      assert.ok(!(await batches.list()).batchCalls.some((b) => b.id === submitted.id));
    });

    it('a WhatsApp batch (no phone number, whatsapp_params) round-trips', async () => {
      const batches = client.conversationalAi.batchCalls;
      const whatsappParams = {
        whatsappPhoneNumberId: 'wa-number-1',
        whatsappCallPermissionRequestTemplateName: 'call_permission',
        whatsappCallPermissionRequestTemplateLanguageCode: 'en_US',
      };
      const submitted = await batches.create({
        callName: 'whatsapp',
        agentId,
        whatsappParams,
        recipients: [{ id: 'wa-1', whatsappUserId: '15550001111' }],
      });
      assert.deepEqual(submitted.whatsappParams, whatsappParams);
      assert.equal(submitted.phoneNumberId, undefined);
      await waitFor(
        async () => ['completed', 'failed'].includes((await batches.get(submitted.id)).status),
        15_000,
        'the WhatsApp batch to finish',
      );
      const detail = await batches.get(submitted.id);
      assert.deepEqual(detail.whatsappParams, whatsappParams);
      assert.equal(detail.recipients[0]?.id, 'wa-1');
      assert.equal(detail.recipients[0]?.whatsappUserId, '15550001111');
      assert.equal(detail.recipients[0]?.phoneNumber, undefined);
    });

    it('a batch id is percent-encoded by the SDK and an unknown one is a JSON 404', async () => {
      const missing = await rejection(client.conversationalAi.batchCalls.get('b/1 x'));
      assert.equal(missing.statusCode, 404);
      assert.ok(exchanges.some((e) => e.url.endsWith('/v1/convai/batch-calling/b%2F1%20x')));
      assert.match(String((missing.body as { detail?: unknown }).detail), /b\/1 x/, 'the 404 names the batch, not a missing route');
    });

    it('validation failures come back as UnprocessableEntityError with FastAPI-style detail', async () => {
      const batches = client.conversationalAi.batchCalls;
      const unknownAgent = await rejection(
        batches.create({
          callName: 'no such agent',
          agentId: 'agent_does_not_exist',
          agentPhoneNumberId: phoneNumberId,
          recipients: [{ phoneNumber: tableNumber(4) }],
        }),
      );
      assert.ok(unknownAgent instanceof ElevenLabs.UnprocessableEntityError, `got ${unknownAgent.constructor.name}`);
      assert.equal(unknownAgent.statusCode, 422);
      const detail = (unknownAgent.body as { detail: { loc: (string | number)[]; msg: string; type: string }[] }).detail;
      assert.ok(Array.isArray(detail) && detail.length > 0);
      assert.ok(detail[0]!.loc.includes('agent_id'), `loc ${JSON.stringify(detail[0]!.loc)}`);
      for (const issue of detail) {
        assert.ok(Array.isArray(issue.loc));
        assert.equal(typeof issue.msg, 'string');
        assert.equal(typeof issue.type, 'string');
      }

      const cases: { body: ElevenLabs.conversationalAi.BodySubmitABatchCallRequestV1ConvaiBatchCallingSubmitPost; extra?: Record<string, unknown>; loc: (string | number)[] }[] = [
        { body: { callName: 'empty', agentId, agentPhoneNumberId: phoneNumberId, recipients: [] }, loc: ['body', 'recipients'] },
        { body: { callName: 'no number', agentId, agentPhoneNumberId: phoneNumberId, recipients: [{}] }, loc: ['body', 'recipients', 0] },
        {
          body: { callName: 'bad zone', agentId, agentPhoneNumberId: phoneNumberId, timezone: 'Mars/Olympus_Mons', recipients: [{ phoneNumber: tableNumber(4) }] },
          loc: ['body', 'timezone'],
        },
        {
          body: { callName: 'bad number', agentId, agentPhoneNumberId: phoneNumberId, recipients: [{ phoneNumber: 'not a number' }] },
          loc: ['body', 'recipients', 0, 'phone_number'],
        },
        {
          body: { callName: 'string time', agentId, agentPhoneNumberId: phoneNumberId, recipients: [{ phoneNumber: tableNumber(4) }] },
          extra: { scheduled_time_unix: '1700000000' },
          loc: ['body', 'scheduled_time_unix'],
        },
      ];
      for (const { body, extra, loc } of cases) {
        const error = await rejection(batches.create(body, extra ? { additionalBodyParameters: extra } : undefined));
        assert.ok(error instanceof ElevenLabs.UnprocessableEntityError, `${body.callName}: got ${error.constructor.name} ${error.statusCode}`);
        const issues = (error.body as { detail: { loc: (string | number)[] }[] }).detail;
        assert.ok(
          issues.some((issue) => JSON.stringify(issue.loc) === JSON.stringify(loc)),
          `${body.callName}: expected loc ${JSON.stringify(loc)} in ${JSON.stringify(issues)}`,
        );
      }
      const listed = await batches.list({ agentId });
      assert.ok(!listed.batchCalls.some((b) => ['empty', 'no number', 'bad zone', 'bad number', 'string time'].includes(b.name)), 'nothing was stored');
    });

    it('fields the SDK user sets to undefined are sent as null and accepted', async () => {
      const batches = client.conversationalAi.batchCalls;
      const submitted = await batches.create({
        callName: 'undefined fields',
        agentId,
        agentPhoneNumberId: phoneNumberId,
        recipients: [
          {
            id: undefined,
            phoneNumber: tableNumber(5),
            whatsappUserId: undefined,
            conversationInitiationClientData: { dynamicVariables: undefined, conversationConfigOverride: undefined, userId: undefined },
          },
        ],
        scheduledTimeUnix: undefined,
        timezone: undefined,
        branchId: undefined,
        environment: undefined,
        whatsappParams: undefined,
        telephonyCallConfig: { ringingTimeoutSecs: undefined, twilioMachineDetection: undefined, twilioCallRecordingEnabled: undefined },
        targetConcurrencyLimit: undefined,
      });
      const sent = lastRequestBody('/batch-calling/submit');
      for (const key of ['scheduled_time_unix', 'timezone', 'branch_id', 'environment', 'whatsapp_params', 'target_concurrency_limit']) {
        assert.equal(sent[key], null, `the SDK sent ${key}: null`);
      }
      const sentRecipient = (sent.recipients as Record<string, unknown>[])[0]!;
      assert.equal(sentRecipient.id, null);
      assert.equal(sentRecipient.whatsapp_user_id, null);
      assert.equal((sentRecipient.conversation_initiation_client_data as Record<string, unknown>).dynamic_variables, null);

      assertRecentUnix(submitted.scheduledTimeUnix, 'scheduled_time_unix of a null schedule');
      assert.equal(submitted.timezone, undefined);
      assert.equal(submitted.branchId, undefined);
      assert.deepEqual(submitted.telephonyCallConfig, {});
      const done = await waitForStatus(submitted.id, 'completed');
      assert.equal(done.recipients.length, 1);
      assert.equal(done.recipients[0]!.status, 'completed');
      assert.ok(done.recipients[0]!.id.length > 0, 'a null id gets a generated one');

      const agents = client.conversationalAi.agents;
      const agent = await agents.create({ conversationConfig: {}, name: undefined, tags: undefined, platformSettings: undefined, workflow: undefined });
      assert.equal(lastRequestBody('/v1/convai/agents/create').name, null);
      const gotAgent = await agents.get(agent.agentId);
      assert.equal(typeof gotAgent.name, 'string');
      const renamed = await agents.update(agent.agentId, { name: 'named later' });
      const untouched = await agents.update(agent.agentId, { name: undefined, tags: undefined, conversationConfig: undefined });
      assert.equal(lastRequestBody(`/v1/convai/agents/${agent.agentId}`).name, null);
      assert.equal(untouched.name, renamed.name, 'a null name leaves the name alone');
      await agents.delete(agent.agentId);

      const numbers = client.conversationalAi.phoneNumbers;
      const number = await numbers.create({
        provider: 'twilio',
        phoneNumber: '+14155550113',
        label: 'nulls',
        sid: 'AC00000000000000000000000000000003',
        token: secrets.twilioToken,
        agentId: undefined,
        supportsInbound: undefined,
        supportsOutbound: undefined,
        accountAuthToken: undefined,
        regionConfig: undefined,
        enableSms: undefined,
      });
      assert.equal(lastRequestBody('/v1/convai/phone-numbers').agent_id, null);
      const sameNumber = await numbers.update(number.phoneNumberId, { label: undefined, agentId: undefined, livekitStack: undefined });
      assert.equal(sameNumber.label, 'nulls');
      assert.equal(sameNumber.assignedAgent, undefined);
      await numbers.delete(number.phoneNumberId);

      const page = await batches.list({ limit: undefined, lastDoc: undefined, agentId: undefined });
      assert.ok(page.batchCalls.some((b) => b.id === submitted.id));
      const listUrl = [...exchanges].reverse().find((e) => e.url.includes('/batch-calling/workspace'))!.url;
      assert.equal(new URL(listUrl).search, '', 'undefined query parameters are left out');
    });
  });

  describe('every response', () => {
    it('carries x-request-id, also on errors, and echoes a sane one the caller sent', async () => {
      const traced = await client.conversationalAi.batchCalls
        .list({ limit: 1 }, { headers: { 'x-request-id': 'sdk-compat-trace-1' } })
        .withRawResponse();
      assert.equal(traced.rawResponse.headers.get('x-request-id'), 'sdk-compat-trace-1');

      const wrongKey = new ElevenLabsClient({ apiKey: 'not-the-key-000', baseUrl: server.url, maxRetries: 0, fetch: recordingFetch });
      const unauthorized = await rejection(wrongKey.conversationalAi.batchCalls.list());
      assert.equal(unauthorized.statusCode, 401);
      assert.equal(typeof unauthorized.requestId, 'string');

      const plain = await fetch(`${server.url}/v1/convai/batch-calling/workspace`);
      assert.equal(plain.status, 401);
      assert.ok(plain.headers.get('x-request-id'));

      assert.ok(exchanges.length >= 60, `recorded ${exchanges.length} exchanges`);
      const statuses = new Set(exchanges.map((e) => e.status));
      for (const status of [200, 401, 404, 409, 422]) assert.ok(statuses.has(status), `a ${status} was seen`);
      for (const exchange of exchanges) {
        assert.ok(exchange.requestId, `${exchange.method} ${exchange.url} → ${exchange.status} has no x-request-id`);
      }
    });

    it('never contains a secret that was sent in', async () => {
      assert.ok(exchanges.some((e) => e.requestBody?.includes(secrets.sipOutboundPassword)), 'the secrets were really sent');
      for (const exchange of exchanges) {
        const text = await exchange.responseText;
        for (const [name, secret] of Object.entries(secrets)) {
          assert.ok(!text.includes(secret), `${name} in the response to ${exchange.method} ${exchange.url}: ${text}`);
        }
      }
    });
  });
});

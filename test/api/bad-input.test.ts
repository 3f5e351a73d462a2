/**
 * Bad input, auth and not-found handling of the batch-calling API, written as data in the style
 * of mailroom's `testdata/*.json` case files: each case is a request and what must come back.
 * The cases run in order against one real server on a real port. After every case the list of
 * batches is compared with the list before it, so a rejected submit that wrote anything fails
 * (the issue: "validates everything before writing anything").
 *
 * Strings in a case may hold `{{name}}` placeholders: the fixtures made in `before` (agent,
 * phone number, batches to cancel or retry) and the ids of batches saved by earlier cases.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAgent, createPhoneNumber, getBatch, submitBatch, tableNumber, type WireBatch } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Loc = (string | number)[];

interface Case {
  name: string;
  request: {
    method: 'DELETE' | 'GET' | 'POST';
    path: string;
    headers?: Record<string, string>;
    /** Sent without the xi-api-key header (every other request carries the right key unless `headers` sets one). */
    omitApiKey?: boolean;
    /** Sent as JSON with `content-type: application/json`. */
    body?: unknown;
    /** Sent as is; give the content type in `headers` if it should have one. */
    rawBody?: string;
  };
  expect: {
    /** The status, or the statuses that are all acceptable. */
    status: number | number[];
    /** Some issue in the 422 `detail` list has a `loc` starting with this. */
    detailLoc?: Loc;
    /** Further locs that must be reported in the same response (every problem at once). */
    moreLocs?: Loc[];
    /** The `detail` (string, or the issue list as JSON) contains this, ignoring case. */
    detailIncludes?: string;
    /** Top-level fields the 2xx body must have, with these values. */
    body?: Record<string, unknown>;
    /** How many batches this request adds to the workspace list; 0 unless given. */
    batchesAdded?: number;
    /** The response's batch id is the one saved under this name by an earlier case. */
    sameBatchAs?: string;
    /** The batch's recipients, in order, as GET returns them (only the fields given are compared). */
    recipients?: Record<string, unknown>[];
  };
  /** Saves the response's batch id under this name for later cases. */
  saveAs?: string;
}

const submitPath = '/v1/convai/batch-calling/submit';
const apiKey = 'test-key-0123456789';
/** 2030-03-17 in milliseconds: what a caller sends after mixing up `Date.now()` and unix seconds. */
const millisecondsTimestamp = 1_900_000_000_000;

/** A valid voice submit body with `overrides` applied (an override of `undefined` removes the field). */
function submitBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {
    call_name: 'bad-input',
    agent_id: '{{agent}}',
    agent_phone_number_id: '{{phone}}',
    recipients: [{ phone_number: tableNumber(1) }, { phone_number: tableNumber(2) }],
    ...overrides,
  };
  for (const [key, value] of Object.entries(body)) if (value === undefined) delete body[key];
  return body;
}

const submit = (body: unknown, headers?: Record<string, string>): Case['request'] => ({ method: 'POST', path: submitPath, body, headers });

const cases: Case[] = [
  // --- auth -------------------------------------------------------------------------------------
  { name: '/health answers without a key', request: { method: 'GET', path: '/health', omitApiKey: true }, expect: { status: 200, body: { status: 'ok' } } },
  {
    name: 'list without a key is 401',
    request: { method: 'GET', path: '/v1/convai/batch-calling/workspace', omitApiKey: true },
    expect: { status: 401, detailIncludes: 'xi-api-key' },
  },
  {
    name: 'list with a wrong key is 401',
    request: { method: 'GET', path: '/v1/convai/batch-calling/workspace', headers: { 'xi-api-key': 'wrong-key-0123456789' } },
    expect: { status: 401, detailIncludes: 'key' },
  },
  {
    name: 'a key in Authorization instead of xi-api-key is 401',
    request: { method: 'GET', path: '/v1/convai/batch-calling/workspace', omitApiKey: true, headers: { authorization: `Bearer ${apiKey}` } },
    expect: { status: 401 },
  },
  { name: 'submit without a key is 401 and writes nothing', request: { ...submit(submitBody()), omitApiKey: true }, expect: { status: 401 } },
  {
    name: 'submit with a wrong key is 401 and writes nothing',
    request: submit(submitBody(), { 'xi-api-key': 'wrong-key-0123456789' }),
    expect: { status: 401 },
  },
  { name: 'get batch without a key is 401', request: { method: 'GET', path: '/v1/convai/batch-calling/{{toCancelBare}}', omitApiKey: true }, expect: { status: 401 } },
  {
    name: 'cancel without a key is 401',
    request: { method: 'POST', path: '/v1/convai/batch-calling/{{toCancelBare}}/cancel', omitApiKey: true },
    expect: { status: 401 },
  },

  // --- unknown ids ------------------------------------------------------------------------------
  { name: 'get an unknown batch is 404', request: { method: 'GET', path: '/v1/convai/batch-calling/btcal_nope' }, expect: { status: 404, detailIncludes: 'btcal_nope' } },
  {
    name: 'cancel an unknown batch is 404',
    request: { method: 'POST', path: '/v1/convai/batch-calling/btcal_nope/cancel' },
    expect: { status: 404, detailIncludes: 'btcal_nope' },
  },
  {
    name: 'retry an unknown batch is 404',
    request: { method: 'POST', path: '/v1/convai/batch-calling/btcal_nope/retry' },
    expect: { status: 404, detailIncludes: 'btcal_nope' },
  },
  {
    name: 'delete an unknown batch is 404',
    request: { method: 'DELETE', path: '/v1/convai/batch-calling/btcal_nope' },
    expect: { status: 404, detailIncludes: 'btcal_nope' },
  },
  {
    name: 'export an unknown batch is 404',
    request: { method: 'GET', path: '/v1/convai/batch-calling/btcal_nope/export' },
    expect: { status: 404, detailIncludes: 'btcal_nope' },
  },
  {
    name: 'a percent-encoded unknown id (as the SDK sends it) is 404',
    request: { method: 'GET', path: '/v1/convai/batch-calling/b%2F1%20x' },
    expect: { status: 404 },
  },

  // --- submit: references -----------------------------------------------------------------------
  {
    name: 'unknown agent_id is 422 naming agent_id',
    request: submit(submitBody({ agent_id: 'agent_does_not_exist' })),
    expect: { status: 422, detailLoc: ['body', 'agent_id'], detailIncludes: 'agent_does_not_exist' },
  },
  {
    name: 'unknown agent_phone_number_id is 422',
    request: submit(submitBody({ agent_phone_number_id: 'phnum_does_not_exist' })),
    expect: { status: 422, detailLoc: ['body', 'agent_phone_number_id'], detailIncludes: 'phnum_does_not_exist' },
  },
  {
    name: 'a voice batch without agent_phone_number_id is 422',
    request: submit(submitBody({ agent_phone_number_id: undefined })),
    expect: { status: 422, detailLoc: ['body', 'agent_phone_number_id'] },
  },

  // --- submit: recipients -----------------------------------------------------------------------
  { name: 'empty recipients is 422', request: submit(submitBody({ recipients: [] })), expect: { status: 422, detailLoc: ['body', 'recipients'] } },
  {
    name: 'a recipient with both phone_number and whatsapp_user_id is 422',
    request: submit(submitBody({ recipients: [{ phone_number: tableNumber(1) }, { phone_number: tableNumber(2), whatsapp_user_id: 'wa_2' }] })),
    expect: { status: 422, detailLoc: ['body', 'recipients', 1] },
  },
  {
    name: 'a recipient with neither phone_number nor whatsapp_user_id is 422',
    request: submit(submitBody({ recipients: [{ phone_number: tableNumber(1) }, { id: 'nobody' }] })),
    expect: { status: 422, detailLoc: ['body', 'recipients', 1] },
  },
  {
    name: 'an empty recipient object is 422',
    request: submit(submitBody({ recipients: [{}] })),
    expect: { status: 422, detailLoc: ['body', 'recipients', 0] },
  },
  {
    name: 'an invalid phone number at index 3 is 422 at recipients.3.phone_number',
    request: submit(
      submitBody({
        recipients: [{ phone_number: tableNumber(1) }, { phone_number: tableNumber(2) }, { phone_number: tableNumber(3) }, { phone_number: '12345' }],
      }),
    ),
    expect: { status: 422, detailLoc: ['body', 'recipients', 3, 'phone_number'], detailIncludes: '12345' },
  },
  {
    name: 'a phone number that is not a number at all is 422',
    request: submit(submitBody({ recipients: [{ phone_number: 'call me maybe' }] })),
    expect: { status: 422, detailLoc: ['body', 'recipients', 0, 'phone_number'] },
  },
  {
    name: 'an empty phone number is 422',
    request: submit(submitBody({ recipients: [{ phone_number: '' }] })),
    expect: { status: 422, detailLoc: ['body', 'recipients', 0] },
  },
  {
    name: 'duplicate recipient ids are 422 at the second one',
    request: submit(
      submitBody({
        recipients: [
          { id: 'r-a', phone_number: tableNumber(1) },
          { id: 'r-b', phone_number: tableNumber(2) },
          { id: 'r-a', phone_number: tableNumber(3) },
        ],
      }),
    ),
    expect: { status: 422, detailLoc: ['body', 'recipients', 2, 'id'], detailIncludes: 'r-a' },
  },
  {
    name: 'a phone number sent as a JSON number is 422 (no coercion)',
    request: submit(submitBody({ recipients: [{ phone_number: 12025550101 }] })),
    expect: { status: 422, detailLoc: ['body', 'recipients', 0, 'phone_number'] },
  },
  {
    name: 'an empty recipient id is 422',
    request: submit(submitBody({ recipients: [{ id: '', phone_number: tableNumber(1) }] })),
    expect: { status: 422, detailLoc: ['body', 'recipients', 0, 'id'] },
  },
  {
    name: 'an empty whatsapp_user_id in a WhatsApp batch is 422',
    request: submit(
      submitBody({
        agent_phone_number_id: null,
        whatsapp_params: { whatsapp_call_permission_request_template_name: 'permission', whatsapp_call_permission_request_template_language_code: 'en' },
        recipients: [{ whatsapp_user_id: 'wa_1' }, { whatsapp_user_id: '' }],
      }),
    ),
    expect: { status: 422, detailLoc: ['body', 'recipients', 1, 'whatsapp_user_id'] },
  },
  {
    name: 'a whatsapp_user_id recipient in a voice batch is 422',
    request: submit(submitBody({ recipients: [{ whatsapp_user_id: 'wa_1' }] })),
    expect: { status: 422, detailLoc: ['body', 'recipients', 0] },
  },
  {
    name: 'recipients that is not an array is 422 (no coercion)',
    request: submit(submitBody({ recipients: { phone_number: tableNumber(1) } })),
    expect: { status: 422, detailLoc: ['body', 'recipients'] },
  },
  {
    name: 'every problem is reported at once, and nothing is written',
    request: submit(
      submitBody({
        agent_id: 'agent_does_not_exist',
        recipients: [{ phone_number: tableNumber(1) }, { phone_number: tableNumber(2) }, { phone_number: tableNumber(3) }, { phone_number: '12345' }],
        timezone: 'Mars/Olympus',
      }),
    ),
    expect: {
      status: 422,
      detailLoc: ['body', 'agent_id'],
      moreLocs: [
        ['body', 'recipients', 3, 'phone_number'],
        ['body', 'timezone'],
      ],
    },
  },

  // --- submit: scalars --------------------------------------------------------------------------
  {
    name: 'scheduled_time_unix in milliseconds is 422',
    request: submit(submitBody({ scheduled_time_unix: millisecondsTimestamp })),
    expect: { status: 422, detailLoc: ['body', 'scheduled_time_unix'] },
  },
  {
    name: 'a negative scheduled_time_unix is 422',
    request: submit(submitBody({ scheduled_time_unix: -1 })),
    expect: { status: 422, detailLoc: ['body', 'scheduled_time_unix'] },
  },
  {
    name: 'a fractional scheduled_time_unix is 422 (unix seconds are integers)',
    request: submit(submitBody({ scheduled_time_unix: 1_800_000_000.5 })),
    expect: { status: 422, detailLoc: ['body', 'scheduled_time_unix'] },
  },
  {
    name: 'scheduled_time_unix as a string is 422 (no coercion)',
    request: submit(submitBody({ scheduled_time_unix: '1800000000' })),
    expect: { status: 422, detailLoc: ['body', 'scheduled_time_unix'] },
  },
  {
    name: 'target_concurrency_limit 0 is 422',
    request: submit(submitBody({ target_concurrency_limit: 0 })),
    expect: { status: 422, detailLoc: ['body', 'target_concurrency_limit'] },
  },
  {
    name: 'a negative target_concurrency_limit is 422',
    request: submit(submitBody({ target_concurrency_limit: -3 })),
    expect: { status: 422, detailLoc: ['body', 'target_concurrency_limit'] },
  },
  {
    name: 'target_concurrency_limit "5" is 422 (no coercion)',
    request: submit(submitBody({ target_concurrency_limit: '5' })),
    expect: { status: 422, detailLoc: ['body', 'target_concurrency_limit'] },
  },
  {
    name: 'timezone Mars/Olympus is 422',
    request: submit(submitBody({ timezone: 'Mars/Olympus' })),
    expect: { status: 422, detailLoc: ['body', 'timezone'], detailIncludes: 'Mars/Olympus' },
  },
  {
    name: 'a UTC offset is not an IANA zone name: 422',
    request: submit(submitBody({ timezone: '+01:00' })),
    expect: { status: 422, detailLoc: ['body', 'timezone'] },
  },
  { name: 'missing call_name is 422', request: submit(submitBody({ call_name: undefined })), expect: { status: 422, detailLoc: ['body', 'call_name'] } },
  { name: 'missing agent_id is 422', request: submit(submitBody({ agent_id: undefined })), expect: { status: 422, detailLoc: ['body', 'agent_id'] } },
  { name: 'call_name null is 422 (it is required)', request: submit(submitBody({ call_name: null })), expect: { status: 422, detailLoc: ['body', 'call_name'] } },

  // --- submit: body framing ---------------------------------------------------------------------
  {
    name: 'malformed JSON is 400 with a clear message',
    request: { method: 'POST', path: submitPath, headers: { 'content-type': 'application/json' }, rawBody: '{"call_name": "x", "agent_id": ' },
    expect: { status: 400, detailIncludes: 'JSON' },
  },
  {
    name: 'a trailing comma is malformed JSON: 400',
    request: { method: 'POST', path: submitPath, headers: { 'content-type': 'application/json' }, rawBody: '{"call_name": "x",}' },
    expect: { status: 400, detailIncludes: 'JSON' },
  },
  {
    name: 'a JSON array instead of an object is 422',
    request: { method: 'POST', path: submitPath, headers: { 'content-type': 'application/json' }, rawBody: '[]' },
    expect: { status: 422, detailLoc: ['body'] },
  },
  {
    name: 'JSON null as the body is 422',
    request: { method: 'POST', path: submitPath, headers: { 'content-type': 'application/json' }, rawBody: 'null' },
    expect: { status: 422, detailLoc: ['body'] },
  },
  {
    name: 'submit with an empty JSON body is 422',
    request: { method: 'POST', path: submitPath, headers: { 'content-type': 'application/json' }, rawBody: '' },
    expect: { status: 422, detailLoc: ['body'] },
  },
  {
    name: 'submit with text/plain is refused and writes nothing',
    request: { method: 'POST', path: submitPath, headers: { 'content-type': 'text/plain' }, rawBody: JSON.stringify(submitBody()) },
    expect: { status: [415, 422] },
  },

  // --- submit: accepted -------------------------------------------------------------------------
  {
    name: 'null for every optional field is accepted',
    request: submit(
      submitBody({
        scheduled_time_unix: null,
        whatsapp_params: null,
        timezone: null,
        branch_id: null,
        environment: null,
        telephony_call_config: null,
        target_concurrency_limit: null,
        recipients: [{ id: null, phone_number: tableNumber(1), whatsapp_user_id: null, conversation_initiation_client_data: null }],
      }),
    ),
    expect: { status: 200, batchesAdded: 1, body: { agent_id: '{{agent}}', phone_number_id: '{{phone}}', telephony_call_config: {} }, recipients: [{ phone_number: tableNumber(1) }] },
  },
  {
    name: 'null for every optional nested field is accepted',
    request: submit(
      submitBody({
        telephony_call_config: { ringing_timeout_secs: null, twilio_call_recording_enabled: null, twilio_machine_detection: { mode: null } },
        recipients: [
          {
            phone_number: tableNumber(1),
            conversation_initiation_client_data: {
              conversation_config_override: null,
              custom_llm_extra_body: null,
              user_id: null,
              source_info: null,
              branch_id: null,
              environment: null,
              starting_workflow_node_id: null,
              procedure_ids: null,
              dynamic_variables: null,
            },
          },
        ],
      }),
    ),
    expect: { status: 200, batchesAdded: 1 },
  },
  {
    name: 'a WhatsApp batch with agent_phone_number_id null is accepted',
    request: submit(
      submitBody({
        agent_phone_number_id: null,
        whatsapp_params: {
          whatsapp_phone_number_id: null,
          whatsapp_call_permission_request_template_name: 'permission',
          whatsapp_call_permission_request_template_language_code: 'en',
        },
        recipients: [{ whatsapp_user_id: 'wa_1', phone_number: null }],
      }),
    ),
    expect: { status: 200, batchesAdded: 1, recipients: [{ whatsapp_user_id: 'wa_1' }] },
  },
  {
    name: 'phone numbers are normalised to E.164 (national form via the US caller number) and ids generated where absent',
    request: submit(
      submitBody({
        recipients: [{ phone_number: '(202) 555-0123' }, { phone_number: '+1 202-555-0123' }, { id: 'given-id', phone_number: '+1 (202) 555 0124' }],
      }),
    ),
    expect: {
      status: 200,
      batchesAdded: 1,
      body: { name: 'bad-input', status: 'pending', total_calls_scheduled: 3, retry_count: 0 },
      recipients: [{ phone_number: '+12025550123' }, { phone_number: '+12025550123' }, { id: 'given-id', phone_number: '+12025550124' }],
    },
  },
  {
    name: 'a valid scheduled batch with every scalar set is accepted',
    request: submit(submitBody({ scheduled_time_unix: '{{inAnHour}}', timezone: 'America/New_York', target_concurrency_limit: 1 })),
    expect: { status: 200, batchesAdded: 1, body: { status: 'pending', timezone: 'America/New_York', target_concurrency_limit: 1 } },
  },

  // --- submit: Idempotency-Key ------------------------------------------------------------------
  {
    name: 'a first submit with an Idempotency-Key writes one batch',
    request: submit(submitBody({ call_name: 'idem' }), { 'idempotency-key': 'bad-input-idem-1' }),
    expect: { status: 200, batchesAdded: 1 },
    saveAs: 'idem',
  },
  {
    name: 'the same key and body replays the same batch and writes nothing',
    request: submit(submitBody({ call_name: 'idem' }), { 'idempotency-key': 'bad-input-idem-1' }),
    expect: { status: 200, batchesAdded: 0, sameBatchAs: 'idem' },
  },
  {
    // JSON objects are unordered and the issue makes null mean "absent" for every optional field,
    // so this is the same body: a client that rebuilds its request to retry must get its batch back.
    name: 'the same key and the same body with keys reordered and null for absent fields replays the batch',
    request: submit(
      {
        recipients: [{ phone_number: tableNumber(1), id: null }, { phone_number: tableNumber(2) }],
        timezone: null,
        agent_phone_number_id: '{{phone}}',
        agent_id: '{{agent}}',
        call_name: 'idem',
      },
      { 'idempotency-key': 'bad-input-idem-1' },
    ),
    expect: { status: 200, batchesAdded: 0, sameBatchAs: 'idem' },
  },
  {
    name: 'the same key with a different body is 409 and writes nothing',
    request: submit(submitBody({ call_name: 'idem, changed' }), { 'idempotency-key': 'bad-input-idem-1' }),
    expect: { status: 409, detailIncludes: 'bad-input-idem-1' },
  },
  {
    name: 'the same body without the key is a new batch',
    request: submit(submitBody({ call_name: 'idem' })),
    expect: { status: 200, batchesAdded: 1 },
  },

  // --- body-less POSTs (the SDK's cancel and retry) ---------------------------------------------
  {
    name: 'cancel with no body and no content type is 200',
    request: { method: 'POST', path: '/v1/convai/batch-calling/{{toCancelBare}}/cancel' },
    expect: { status: 200, body: { id: '{{toCancelBare}}', status: 'cancelled' } },
  },
  {
    name: 'cancel with content-type application/json and an empty body is 200',
    request: { method: 'POST', path: '/v1/convai/batch-calling/{{toCancelJson}}/cancel', headers: { 'content-type': 'application/json' }, rawBody: '' },
    expect: { status: 200, body: { id: '{{toCancelJson}}', status: 'cancelled' } },
  },
  {
    name: 'retry with no body and no content type is 200',
    request: { method: 'POST', path: '/v1/convai/batch-calling/{{toRetry}}/retry' },
    expect: { status: 200, body: { id: '{{toRetry}}' } },
  },
  {
    name: 'retry with content-type application/json and an empty body is 200',
    request: { method: 'POST', path: '/v1/convai/batch-calling/{{toRetry}}/retry', headers: { 'content-type': 'application/json' }, rawBody: '' },
    expect: { status: 200, body: { id: '{{toRetry}}' } },
  },
];

describe('bad input, auth and unknown ids (cases as data)', () => {
  let server: TestServer;
  const vars: Record<string, string | number> = {};

  before(async () => {
    server = await startTestServer();
    vars.agent = await createAgent(server);
    vars.phone = await createPhoneNumber(server);
    vars.inAnHour = Math.floor(Date.now() / 1000) + 3600;
    // Scheduled an hour ahead, so they are still pending (cancellable) whatever the simulator does.
    const scheduled = () => fill(submitBody({ call_name: 'fixture', scheduled_time_unix: '{{inAnHour}}' }), vars) as Record<string, unknown>;
    vars.toCancelBare = (await submitBatch(server, scheduled())).id;
    vars.toCancelJson = (await submitBatch(server, scheduled())).id;
    vars.toRetry = (await submitBatch(server, scheduled())).id;
  });

  after(async () => {
    await server?.stop();
  });

  for (const testCase of cases) {
    test(testCase.name, async () => {
      const request = fill(testCase.request, vars) as Case['request'];
      const expected = fill(testCase.expect, vars) as Case['expect'];
      const beforeIds = await listBatchIds(server);

      const response = await send(server.url, request);
      const text = await response.text();
      const context = `${request.method} ${request.path} → ${response.status} ${text.slice(0, 2000)}`;
      const statuses = Array.isArray(expected.status) ? expected.status : [expected.status];
      assert.ok(statuses.includes(response.status), `status ${response.status}, expected ${statuses.join(' or ')}; ${context}`);

      const payload = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
      if (response.status >= 400) checkError(response.status, payload, expected, context);
      else checkSuccess(payload, expected, context);

      const afterIds = await listBatchIds(server);
      const added = expected.batchesAdded ?? 0;
      assert.equal(afterIds.length, beforeIds.length + added, `batches before ${beforeIds.length}, after ${afterIds.length}; ${context}`);
      for (const id of beforeIds) assert.ok(afterIds.includes(id), `batch ${id} disappeared; ${context}`);

      if (request.path === submitPath && response.status === 200) {
        const batchId = (payload as { id: string }).id;
        if (added > 0) assert.ok(afterIds.includes(batchId) && !beforeIds.includes(batchId), `the new batch ${batchId} is listed; ${context}`);
        if (expected.sameBatchAs) assert.equal(batchId, vars[expected.sameBatchAs], context);
        if (testCase.saveAs) vars[testCase.saveAs] = batchId;
        await checkRecipients(await getBatch(server, batchId), request.body as { recipients: unknown[] }, expected.recipients);
      }
    });
  }
});

function checkError(status: number, payload: Record<string, unknown> | undefined, expected: Case['expect'], context: string): void {
  assert.ok(payload && 'detail' in payload, `an error body is JSON with detail; ${context}`);
  const { detail } = payload;
  if (status === 422) {
    assert.ok(Array.isArray(detail) && detail.length > 0, `422 detail is a non-empty list; ${context}`);
    for (const issue of detail as Record<string, unknown>[]) {
      assert.ok(Array.isArray(issue.loc) && issue.loc[0] === 'body', `issue loc starts with "body": ${JSON.stringify(issue)}`);
      assert.equal(typeof issue.msg, 'string', JSON.stringify(issue));
      assert.ok((issue.msg as string).length > 0, JSON.stringify(issue));
      assert.equal(typeof issue.type, 'string', JSON.stringify(issue));
    }
    const locs = (detail as { loc: Loc }[]).map((issue) => issue.loc);
    for (const want of [expected.detailLoc, ...(expected.moreLocs ?? [])]) {
      if (!want) continue;
      const found = locs.some((loc) => want.every((part, index) => loc[index] === part));
      assert.ok(found, `an issue at ${JSON.stringify(want)}; got ${JSON.stringify(locs)}; ${context}`);
    }
  } else {
    assert.equal(typeof detail, 'string', `non-422 detail is a string; ${context}`);
    assert.ok((detail as string).length > 0, context);
  }
  if (expected.detailIncludes) {
    const haystack = (typeof detail === 'string' ? detail : JSON.stringify(detail)).toLowerCase();
    assert.ok(haystack.includes(expected.detailIncludes.toLowerCase()), `detail mentions '${expected.detailIncludes}'; ${context}`);
  }
}

function checkSuccess(payload: Record<string, unknown> | undefined, expected: Case['expect'], context: string): void {
  for (const [key, value] of Object.entries(expected.body ?? {})) {
    assert.deepEqual(payload?.[key], value, `body.${key}; ${context}`);
  }
}

/** Every recipient comes back with an id, ids are unique, given ids are kept, and `expected` fields match in order. */
async function checkRecipients(batch: WireBatch, body: { recipients: unknown[] }, expected: Record<string, unknown>[] | undefined): Promise<void> {
  const recipients = batch.recipients ?? [];
  assert.equal(recipients.length, body.recipients.length, `GET returns every recipient of ${batch.id}`);
  const ids = recipients.map((recipient) => recipient.id);
  for (const id of ids) assert.ok(typeof id === 'string' && id.length > 0, `recipient id ${JSON.stringify(id)}`);
  assert.equal(new Set(ids).size, ids.length, `recipient ids are unique: ${JSON.stringify(ids)}`);
  (body.recipients as { id?: string | null }[]).forEach((input, index) => {
    if (typeof input.id === 'string') assert.equal(recipients[index]?.id, input.id, `a given id is kept (recipients[${index}])`);
  });
  if (expected) {
    assert.equal(recipients.length, expected.length);
    expected.forEach((want, index) => {
      const got = recipients[index] as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(want)) assert.deepEqual(got[key], value, `recipients[${index}].${key} of ${batch.id}`);
    });
  }
}

/** The ids of every batch in the workspace. */
async function listBatchIds(server: TestServer): Promise<string[]> {
  const response = await server.api('/v1/convai/batch-calling/workspace?limit=1000');
  assert.equal(response.status, 200, 'list batches');
  const page = (await response.json()) as { batch_calls: { id: string }[]; has_more?: boolean };
  assert.notEqual(page.has_more, true, 'every batch fits on one page');
  return page.batch_calls.map((batch) => batch.id).sort();
}

/** Sends a case's request with fetch, as the SDK does: no body means no body and no content type. */
function send(baseUrl: string, request: Case['request']): Promise<Response> {
  const headers = new Headers(request.headers);
  if (!request.omitApiKey && !headers.has('xi-api-key')) headers.set('xi-api-key', apiKey);
  let body: string | undefined = request.rawBody;
  if (request.body !== undefined) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    body = JSON.stringify(request.body);
  }
  return fetch(`${baseUrl}${request.path}`, { method: request.method, headers, body });
}

/** Replaces `{{name}}` placeholders at any depth; a string that is only a placeholder takes the value's type. */
function fill(value: unknown, vars: Record<string, string | number>): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{(\w+)\}\}$/.exec(value);
    if (whole) return lookup(vars, whole[1]!);
    return value.replace(/\{\{(\w+)\}\}/g, (_match, name: string) => String(lookup(vars, name)));
  }
  if (Array.isArray(value)) return value.map((item) => fill(item, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, fill(inner, vars)]));
  }
  return value;
}

function lookup(vars: Record<string, string | number>, name: string): string | number {
  const value = vars[name];
  if (value === undefined) throw new Error(`no fixture or saved batch named '${name}'`);
  return value;
}

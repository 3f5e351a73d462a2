import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject } from '../../domain/types.js';
import { ProviderCallError, type PlaceCallRequest } from '../provider.js';
import { parseTrunkAddress, planCall } from './call-plan.js';

function request(trunk: JsonObject, options: { sipUri?: string | null; clientData?: JsonObject; secrets?: JsonObject } = {}): PlaceCallRequest {
  return {
    batchId: 'b',
    batchKey: 1,
    seq: 1,
    attemptNumber: 1,
    recipientId: 'r1',
    to: '+12025550100',
    whatsappUserId: null,
    clientData: options.clientData ?? null,
    agent: {
      id: 'agent_1',
      workspaceId: 'w',
      name: 'a',
      conversationConfig: {},
      platformSettings: null,
      workflow: null,
      tags: [],
      handoff: options.sipUri === null ? null : { sipUri: options.sipUri ?? 'sip:agent@agents.example:5070;transport=tcp' },
      createdAt: 0,
      updatedAt: 0,
    },
    phoneNumber: {
      id: 'phnum_1',
      workspaceId: 'w',
      provider: 'sip_trunk',
      phoneNumber: '+15550001111',
      label: 'l',
      agentId: null,
      supportsInbound: null,
      supportsOutbound: true,
      config: { outbound_trunk: trunk },
      secrets: options.secrets ?? {},
      createdAt: 0,
      updatedAt: 0,
    },
    telephonyCallConfig: {},
    whatsappParams: null,
    ringingTimeoutSecs: 25,
  };
}

function refusal(fn: () => unknown, pattern: RegExp, failsBatch = true): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProviderCallError);
    assert.equal(error.reason, 'provider_error');
    assert.equal(error.failsBatch, failsBatch);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('planning a SIP trunk call', () => {
  test('both legs: the callee through the trunk, the agent at its URI with its transport', () => {
    const plan = planCall(
      request(
        { address: 'sip.example.com:5080', transport: 'auto', has_auth_credentials: true, username: 'alice', headers: { 'X-Account': '42' }, attributes_to_headers: { name: 'X-Name', missing: 'X-Missing' } },
        { clientData: { dynamic_variables: { name: 'Ann\r\nVia: forged' } }, secrets: { outbound_password: 'pw' } },
      ),
    );
    assert.deepEqual(plan.callee, {
      endpoint: { transport: 'udp', host: 'sip.example.com', port: 5080 },
      requestUri: 'sip:+12025550100@sip.example.com:5080',
      fromUri: 'sip:+15550001111@sip.example.com',
      toUri: 'sip:+12025550100@sip.example.com',
      headers: [{ name: 'X-Account', value: '42' }],
    });
    assert.deepEqual(plan.agent.endpoint, { transport: 'tcp', host: 'agents.example', port: 5070 });
    assert.deepEqual(plan.agent.headers, [{ name: 'X-Name', value: 'Ann Via: forged' }], 'a line break in a variable cannot start a header');
    assert.deepEqual(plan.credentials, { username: 'alice', password: 'pw' });
    assert.equal(plan.ringingTimeoutMs, 25_000);
  });

  test('tls, a missing agent SIP URI, a bad address or a reserved header refuse the whole batch', () => {
    refusal(() => planCall(request({ address: 'sip.example.com', transport: 'tls' })), /tls.*not support/);
    refusal(() => planCall(request({ address: 'sip.example.com' }, { sipUri: null })), /no SIP URI.*handoff\.sip_uri/);
    refusal(() => planCall(request({ address: 'sip.example.com' }, { sipUri: 'sips:agent@example.com' })), /TLS/);
    refusal(() => planCall(request({ address: 'not a host' })), /not host\[:port\]/);
    refusal(() => planCall(request({ address: 'sip.example.com', headers: { Via: 'x' } })), /header 'Via'/);
  });

  test('trunk addresses: host, host:port, [v6]:port, sip: prefix', () => {
    assert.deepEqual(parseTrunkAddress('10.0.0.1', 'udp'), { transport: 'udp', host: '10.0.0.1', port: 5060 });
    assert.deepEqual(parseTrunkAddress('sip:trunk.example;transport=tcp', 'tcp'), { transport: 'tcp', host: 'trunk.example', port: 5060 });
    assert.deepEqual(parseTrunkAddress('[2001:db8::1]:5080', 'udp'), { transport: 'udp', host: '2001:db8::1', port: 5080 });
    assert.equal(parseTrunkAddress('host:99999', 'udp'), null);
  });
});

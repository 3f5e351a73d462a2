import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { answerHandshake, parseWebhook, verifySignature } from './webhook.js';

const secret = 'app-secret';
const signed = (body: string, key = secret) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
const envelope = (field: string, value: Record<string, unknown>) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: 'waba', changes: [{ field, value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550000', phone_number_id: 'pn1' }, ...value } }] }],
});

describe('whatsapp webhooks', () => {
  it('verifies X-Hub-Signature-256 over the raw bytes', () => {
    const body = Buffer.from('{"object":"whatsapp_business_account"}');
    assert.equal(verifySignature(body, signed(body.toString()), secret), true);
    assert.equal(verifySignature(body, signed(body.toString()).toUpperCase().replace('SHA256=', 'sha256='), secret), true, 'hex case does not matter');
    assert.equal(verifySignature(body, [signed(body.toString())], secret), true);
    assert.equal(verifySignature(body, signed(body.toString(), 'other'), secret), false);
    assert.equal(verifySignature(Buffer.from(`${body.toString()} `), signed(body.toString()), secret), false);
    assert.equal(verifySignature(body, undefined, secret), false);
    assert.equal(verifySignature(body, 'sha256=abc', secret), false);
    assert.equal(verifySignature(body, signed(body.toString()), ''), false);
  });

  it('answers the handshake only for subscribe with the right token', () => {
    assert.deepEqual(answerHandshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 't', 'hub.challenge': 'c' }, 't'), { status: 200, contentType: 'text/plain', body: 'c' });
    assert.equal(answerHandshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'x', 'hub.challenge': 'c' }, 't').status, 403);
    assert.equal(answerHandshake({ 'hub.mode': 'subscribe', 'hub.verify_token': '', 'hub.challenge': 'c' }, '').status, 403);
  });

  it('reads permission replies, message statuses and call events as Meta shapes them', () => {
    const reply = envelope('messages', {
      contacts: [{ profile: { name: 'A' }, wa_id: '12025550100' }],
      messages: [
        {
          from: '12025550100',
          id: 'wamid.r',
          timestamp: '1749197000',
          context: { from: '15550000', id: 'wamid.q' },
          type: 'interactive',
          interactive: { type: 'call_permission_reply', call_permission_reply: { response: 'accept', is_permanent: false, expiration_timestamp: 1749801800, response_source: 'user_action' } },
        },
        { from: '12025550100', id: 'wamid.t', timestamp: '1', type: 'text', text: { body: 'hi' } },
      ],
    });
    assert.deepEqual(parseWebhook(reply), [
      { kind: 'permission_reply', phoneNumberId: 'pn1', from: '12025550100', contextId: 'wamid.q', response: 'accept', timestamp: 1749197000 },
    ]);
    const failed = envelope('messages', { statuses: [{ id: 'wamid.q', status: 'failed', timestamp: '1', recipient_id: 'u', errors: [{ code: 131026, title: 'Message undeliverable' }] }] });
    assert.deepEqual(parseWebhook(failed), [{ kind: 'message_status', phoneNumberId: 'pn1', messageId: 'wamid.q', status: 'failed', errorCode: 131026, errorTitle: 'Message undeliverable' }]);

    const calls = envelope('calls', {
      calls: [
        { id: 'wacid.1', to: 'u', from: 'b', event: 'connect', timestamp: '1', direction: 'BUSINESS_INITIATED', session: { sdp_type: 'answer', sdp: 'v=0' }, biz_opaque_callback_data: 'wa.b.1.1' },
        { id: 'wacid.1', to: 'u', from: 'b', event: 'terminate', direction: 'BUSINESS_INITIATED', timestamp: '9', status: ['Completed'], duration: 480 },
      ],
      statuses: [{ id: 'wacid.1', timestamp: '2', type: 'call', status: 'ACCEPTED', recipient_id: 'u' }],
    });
    assert.deepEqual(parseWebhook(calls), [
      { kind: 'call_connect', phoneNumberId: 'pn1', callId: 'wacid.1', to: 'u', direction: 'BUSINESS_INITIATED', sdpType: 'answer', sdp: 'v=0', opaque: 'wa.b.1.1', timestamp: 1 },
      { kind: 'call_terminate', phoneNumberId: 'pn1', callId: 'wacid.1', direction: 'BUSINESS_INITIATED', status: 'Completed', durationSecs: 480, errorCode: null, opaque: null },
      { kind: 'call_status', phoneNumberId: 'pn1', callId: 'wacid.1', status: 'ACCEPTED', opaque: null },
    ]);
  });

  it('skips what it does not know and survives junk', () => {
    for (const junk of [null, 1, 'x', [], {}, { object: 'page', entry: [] }, { object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'calls', value: {} }] }] }]) {
      assert.deepEqual(parseWebhook(junk), []);
    }
  });
});

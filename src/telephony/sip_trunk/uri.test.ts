import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatNameAddr, parseNameAddr, parseUri, parseVia, tagOf } from './uri.js';

describe('SIP URIs and addresses', () => {
  test('URIs with and without user, port and parameters, IPv6 included', () => {
    assert.deepEqual(parseUri('sip:+15550100@trunk.example.com:5080;transport=TCP;lr'), {
      scheme: 'sip',
      user: '+15550100',
      host: 'trunk.example.com',
      port: 5080,
      params: { transport: 'TCP', lr: null },
    });
    assert.deepEqual(parseUri('sips:[2001:db8::1]'), { scheme: 'sips', user: null, host: '2001:db8::1', port: null, params: {} });
    assert.throws(() => parseUri('tel:+15550100'));
  });

  test('name-addr and addr-spec forms: header parameters stay out of the URI', () => {
    assert.deepEqual(parseNameAddr('"Ann \\"A\\"" <sip:ann@example.com;transport=udp>;tag=9f'), {
      display: 'Ann "A"',
      uri: 'sip:ann@example.com;transport=udp',
      params: { tag: '9f' },
    });
    assert.deepEqual(parseNameAddr('sip:bob@example.com;tag=77'), { display: null, uri: 'sip:bob@example.com', params: { tag: '77' } });
    assert.equal(tagOf('<sip:a@b>'), null);
    assert.equal(formatNameAddr({ display: 'Ann', uri: 'sip:a@b', params: { tag: 'x' } }), '"Ann" <sip:a@b>;tag=x');
  });

  test('Via: transport, sent-by and branch', () => {
    assert.deepEqual(parseVia('SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK1;rport'), {
      transport: 'UDP',
      host: '127.0.0.2',
      port: 5060,
      params: { branch: 'z9hG4bK1', rport: null },
    });
    assert.equal(parseVia('SIP / 2.0 / tcp [::1]').host, '::1');
  });
});

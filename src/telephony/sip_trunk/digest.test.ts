import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { authorizationHeader, digestResponse, parseAuthParams, parseChallenge } from './digest.js';

describe('digest authentication', () => {
  test('RFC 2617 §3.5 example (MD5, qop=auth)', () => {
    const response = digestResponse({
      algorithm: 'MD5',
      username: 'Mufasa',
      password: 'Circle Of Life',
      realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      method: 'GET',
      uri: '/dir/index.html',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
    });
    assert.equal(response, '6629fae49393a05397450978507c4ef1');
  });

  // RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
  const rfc7616 = {
    username: 'Mufasa',
    password: 'Circle of Life',
    realm: 'http-auth@example.org',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    method: 'GET',
    uri: '/dir/index.html',
    qop: 'auth' as const,
    nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  };

  test('RFC 7616 §3.9.1 example, MD5', () => {
    assert.equal(digestResponse({ ...rfc7616, algorithm: 'MD5' }), '8ca523f5e9506fed4657c9700eebdbec');
  });

  test('RFC 7616 §3.9.1 example, SHA-256', () => {
    assert.equal(digestResponse({ ...rfc7616, algorithm: 'SHA-256' }), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  test('without qop the response is H(HA1:nonce:HA2) (RFC 2069, what many trunks still send)', () => {
    const md5 = (text: string) => createHash('md5').update(text).digest('hex');
    const expected = md5(`${md5('alice:sip.example:secret')}:abc:${md5('INVITE:sip:+15550100@sip.example')}`);
    assert.equal(
      digestResponse({ algorithm: 'MD5', username: 'alice', password: 'secret', realm: 'sip.example', nonce: 'abc', method: 'INVITE', uri: 'sip:+15550100@sip.example' }),
      expected,
    );
  });

  test('challenges: qop options, quoted commas, algorithms redial cannot answer', () => {
    assert.deepEqual(parseChallenge('Digest realm="a, b", nonce="n1", qop="auth,auth-int", opaque="o", stale=TRUE'), {
      realm: 'a, b',
      nonce: 'n1',
      opaque: 'o',
      algorithm: 'MD5',
      qop: ['auth', 'auth-int'],
      stale: true,
    });
    assert.equal(parseChallenge('Digest realm="r", nonce="n", algorithm=SHA-512-256'), null);
    assert.equal(parseChallenge('Basic realm="r"'), null);
    assert.deepEqual(parseAuthParams('a="x\\"y", b=z'), { a: 'x"y', b: 'z' });
  });

  test('the header answers with qop=auth when offered, and carries opaque back', () => {
    const challenge = parseChallenge('Digest realm="sip.example", nonce="n1", qop="auth", opaque="op"')!;
    const header = authorizationHeader(challenge, { method: 'INVITE', uri: 'sip:+15550100@sip.example', body: Buffer.alloc(0) }, { username: 'alice', password: 'secret' }, 'c1');
    const params = parseAuthParams(header.replace(/^Digest /, ''));
    assert.equal(params.qop, 'auth');
    assert.equal(params.nc, '00000001');
    assert.equal(params.cnonce, 'c1');
    assert.equal(params.opaque, 'op');
    assert.equal(
      params.response,
      digestResponse({ algorithm: 'MD5', username: 'alice', password: 'secret', realm: 'sip.example', nonce: 'n1', method: 'INVITE', uri: 'sip:+15550100@sip.example', qop: 'auth', nc: '00000001', cnonce: 'c1' }),
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cseqOf, headerValue, headerValues, parseMessage, serializeMessage, SipParseError, SipStreamParser, splitList, type SipRequest } from './message.js';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'utf8');

describe('SIP message parsing', () => {
  test('a request with compact headers, a folded line and a comma-separated Via', () => {
    const message = parseMessage(
      crlf([
        'BYE sip:redial@127.0.0.2:5060 SIP/2.0',
        'v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb',
        'f: <sip:callee@example.com>;tag=abc',
        't: "Redial, Inc" <sip:+15550001111@example.com>;tag=xyz',
        'i: call-1@example.com',
        'CSeq: 7 BYE',
        'Subject: a subject',
        '  that goes on',
        'l: 0',
        '',
        '',
      ]),
    );
    assert.equal(message.kind, 'request');
    assert.equal((message as SipRequest).method, 'BYE');
    assert.deepEqual(headerValues(message, 'via'), ['SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa', 'SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb']);
    assert.equal(headerValue(message, 'TO'), '"Redial, Inc" <sip:+15550001111@example.com>;tag=xyz', 'commas inside quotes do not split');
    assert.equal(headerValue(message, 'Call-ID'), 'call-1@example.com');
    assert.equal(headerValue(message, 'Subject'), 'a subject that goes on');
    assert.deepEqual(cseqOf(message), { seq: 7, method: 'BYE' });
  });

  test('Content-Length counts bytes, so a UTF-8 body arrives whole and nothing after it', () => {
    const body = 'v=0\r\ns=Café ☎\r\n';
    const data = Buffer.concat([crlf(['SIP/2.0 200 OK', 'CSeq: 1 INVITE', `Content-Length: ${Buffer.byteLength(body)}`, '', '']), Buffer.from(body), Buffer.from('junk')]);
    const message = parseMessage(data);
    assert.equal(message.kind, 'response');
    assert.equal(message.body.toString('utf8'), body);
    assert.equal(Buffer.byteLength(body), body.length + 3, 'the test body really has multi-byte characters');
  });

  test('a Content-Length longer than the datagram is an error', () => {
    assert.throws(() => parseMessage(crlf(['SIP/2.0 200 OK', 'Content-Length: 50', '', 'short'])), SipParseError);
  });

  test('serializing writes Content-Length in bytes and refuses line breaks in values', () => {
    const request: SipRequest = { kind: 'request', method: 'INVITE', uri: 'sip:a@b', headers: [{ name: 'X-Name', value: 'Zoë' }], body: Buffer.from('s=é\r\n') };
    const text = serializeMessage(request).toString('utf8');
    assert.match(text, /\r\nContent-Length: 6\r\n\r\ns=é\r\n$/);
    const parsed = parseMessage(serializeMessage(request));
    assert.equal(headerValue(parsed, 'X-Name'), 'Zoë');
    assert.throws(() => serializeMessage({ ...request, headers: [{ name: 'X-Evil', value: 'a\r\nVia: forged' }] }), SipParseError);
  });

  test('a stream parser frames messages split across chunks and several in one chunk', () => {
    const one = serializeMessage({ kind: 'request', method: 'OPTIONS', uri: 'sip:a@b', headers: [{ name: 'CSeq', value: '1 OPTIONS' }], body: Buffer.alloc(0) });
    const two = serializeMessage({ kind: 'response', status: 200, reason: 'OK', headers: [{ name: 'CSeq', value: '1 INVITE' }], body: Buffer.from('v=0\r\n') });
    const stream = Buffer.concat([Buffer.from('\r\n\r\n'), one, two]);
    const parser = new SipStreamParser();
    const messages = [...parser.push(stream.subarray(0, 30)), ...parser.push(stream.subarray(30, one.length + 10)), ...parser.push(stream.subarray(one.length + 10))];
    assert.equal(messages.length, 2);
    assert.equal(messages[1]?.body.toString(), 'v=0\r\n');
  });

  test('splitList keeps commas inside angle brackets and quotes', () => {
    assert.deepEqual(splitList('<sip:a@b;x=1,2>;lr, "x,y" <sip:c@d>'), ['<sip:a@b;x=1,2>;lr', '"x,y" <sip:c@d>']);
  });
});

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { pino } from 'pino';
import { InviteLeg, type LegEnd } from './invite-leg.js';
import { bodyText, cseqOf, headerValue, headerValues, type SipMessage, type SipRequest, type SipResponse } from './message.js';
import { defaultSipTimers } from './transaction.js';
import type { Endpoint, SipTransport } from './transport.js';
import { UserAgent } from './user-agent.js';

const trunk: Endpoint = { transport: 'udp', host: '192.0.2.10', port: 5060 };
const offer = 'v=0\r\no=callee 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\n';

class FakeTransport implements SipTransport {
  readonly address = { host: '127.0.0.2', port: 5062 };
  readonly sent: SipMessage[] = [];
  async send(message: SipMessage): Promise<void> {
    this.sent.push(message);
  }
  async sentBy(): Promise<{ host: string; port: number }> {
    return this.address;
  }
  async close(): Promise<void> {}
  requests(method: string): SipRequest[] {
    return this.sent.filter((message): message is SipRequest => message.kind === 'request' && message.method === method);
  }
  responses(): SipResponse[] {
    return this.sent.filter((message): message is SipResponse => message.kind === 'response');
  }
}

/** A response to `request` as the trunk would send it. */
function reply(request: SipRequest, status: number, extra: { tag?: string; sdp?: string; contact?: string } = {}): SipResponse {
  const to = headerValue(request, 'To')!;
  const headers = [
    ...headerValues(request, 'Via').map((value) => ({ name: 'Via', value })),
    { name: 'From', value: headerValue(request, 'From')! },
    { name: 'To', value: status > 100 && !to.includes(';tag=') ? `${to};tag=${extra.tag ?? 'callee1'}` : to },
    { name: 'Call-ID', value: headerValue(request, 'Call-ID')! },
    { name: 'CSeq', value: headerValue(request, 'CSeq')! },
    { name: 'Contact', value: extra.contact ?? '<sip:callee@192.0.2.10:5060>' },
  ];
  if (extra.sdp) headers.push({ name: 'Content-Type', value: 'application/sdp' });
  return { kind: 'response', status, reason: 'x', headers, body: Buffer.from(extra.sdp ?? '') };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function setup() {
  const transport = new FakeTransport();
  const ua = new UserAgent(transport, { timers: defaultSipTimers, logger: pino({ level: 'silent' }) });
  const events: string[] = [];
  let ended: LegEnd | null = null;
  const leg = new InviteLeg({
    ua,
    endpoint: trunk,
    requestUri: 'sip:+15550100@192.0.2.10:5060',
    fromUri: 'sip:+15550001111@192.0.2.10',
    toUri: 'sip:+15550100@192.0.2.10',
    headers: [],
    sdp: null,
    credentials: null,
    logger: pino({ level: 'silent' }),
    events: {
      provisional: (response) => events.push(String(response.status)),
      answered: () => events.push('answered'),
      ended: (end) => {
        events.push(`ended:${end.kind}`);
        ended = end;
      },
    },
  });
  const receive = (message: SipMessage) =>
    ua.receive({ message, source: trunk, respond: (response) => transport.send(response) });
  return { transport, ua, leg, events, receive, ended: () => ended };
}

describe('an INVITE leg', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('a CANCEL waits for a provisional, then carries the INVITE\'s Via, Call-ID and CSeq number', async () => {
    const { transport, leg, receive } = setup();
    await leg.start();
    leg.cancel();
    await flush();
    assert.equal(transport.requests('CANCEL').length, 0, 'no CANCEL before a provisional (§9.1)');
    const invite = transport.requests('INVITE')[0]!;
    receive(reply(invite, 180));
    await flush();
    const cancel = transport.requests('CANCEL')[0];
    assert.ok(cancel);
    assert.equal(cancel.uri, invite.uri);
    assert.equal(headerValue(cancel, 'Via'), headerValue(invite, 'Via'));
    assert.equal(headerValue(cancel, 'Call-ID'), headerValue(invite, 'Call-ID'));
    assert.deepEqual(cseqOf(cancel), { seq: cseqOf(invite).seq, method: 'CANCEL' });
    assert.equal(headerValue(cancel, 'To'), headerValue(invite, 'To'), 'no To tag on a CANCEL');
  });

  test('no final response 64*T1 after the CANCEL: the leg gives up and ends cancelled', async () => {
    const { transport, leg, receive, events } = setup();
    await leg.start();
    receive(reply(transport.requests('INVITE')[0]!, 180));
    leg.cancel();
    await flush();
    receive(reply(transport.requests('CANCEL')[0]!, 200));
    mock.timers.tick(31_999);
    assert.deepEqual(events, ['180']);
    mock.timers.tick(1);
    assert.deepEqual(events, ['180', 'ended:cancelled']);
  });

  test('a 487 after our CANCEL ends the leg cancelled, and it is ACKed', async () => {
    const { transport, leg, receive, events } = setup();
    await leg.start();
    const invite = transport.requests('INVITE')[0]!;
    receive(reply(invite, 183));
    leg.cancel();
    await flush();
    receive(reply(invite, 487));
    await flush();
    assert.deepEqual(events, ['183', 'ended:cancelled']);
    assert.equal(transport.requests('ACK').length, 1);
  });

  test('a 2xx that crosses the CANCEL is ACKed with every stream refused, then BYEd', async () => {
    const { transport, leg, receive, events } = setup();
    await leg.start();
    const invite = transport.requests('INVITE')[0]!;
    receive(reply(invite, 180));
    leg.cancel();
    await flush();
    receive(reply(invite, 200, { sdp: offer }));
    await flush();
    const ack = transport.requests('ACK')[0]!;
    assert.match(bodyText(ack) ?? '', /^m=audio 0 RTP\/AVP 0 8$/m);
    assert.equal(ack.uri, 'sip:callee@192.0.2.10:5060', 'end to end, to the Contact of the 2xx');
    assert.match(headerValue(ack, 'To') ?? '', /;tag=callee1$/);
    assert.equal(transport.requests('BYE').length, 1);
    assert.deepEqual(events, ['180', 'ended:cancelled']);
  });

  test('after the ACK, a retransmitted 2xx gets the same ACK again', async () => {
    const { transport, leg, receive, events } = setup();
    await leg.start();
    const invite = transport.requests('INVITE')[0]!;
    receive(reply(invite, 200, { sdp: offer }));
    assert.deepEqual(events, ['answered']);
    await leg.ack('v=0\r\no=agent\r\n');
    receive(reply(invite, 200, { sdp: offer }));
    await flush();
    const acks = transport.requests('ACK');
    assert.equal(acks.length, 2);
    assert.equal(headerValue(acks[0]!, 'Via'), headerValue(acks[1]!, 'Via'), 'the very same ACK');
    assert.equal(bodyText(acks[1]!), 'v=0\r\no=agent\r\n');
  });

  test('a 2xx from a second fork is ACKed and BYEd; the first stays up', async () => {
    const { transport, leg, receive, events } = setup();
    await leg.start();
    const invite = transport.requests('INVITE')[0]!;
    receive(reply(invite, 200, { sdp: offer, tag: 'fork1' }));
    await leg.ack('v=0\r\n');
    receive(reply(invite, 200, { sdp: offer, tag: 'fork2', contact: '<sip:other@192.0.2.11>' }));
    await flush();
    const bye = transport.requests('BYE');
    assert.equal(bye.length, 1);
    assert.match(headerValue(bye[0]!, 'To') ?? '', /;tag=fork2$/);
    assert.equal(bye[0]!.uri, 'sip:other@192.0.2.11');
    assert.deepEqual(events, ['answered']);
    assert.equal(leg.phase, 'confirmed');
  });

  test('the far end\'s BYE gets a 200 and ends the leg; a re-INVITE gets 488 and does not', async () => {
    const { transport, leg, receive, events } = setup();
    await leg.start();
    const invite = transport.requests('INVITE')[0]!;
    receive(reply(invite, 200, { sdp: offer }));
    await leg.ack('v=0\r\n');
    const inDialog = (method: string, branch: string): SipRequest => ({
      kind: 'request',
      method,
      uri: 'sip:redial@127.0.0.2:5062',
      headers: [
        { name: 'Via', value: `SIP/2.0/UDP 192.0.2.10:5060;branch=${branch}` },
        { name: 'From', value: '<sip:+15550100@192.0.2.10>;tag=callee1' },
        { name: 'To', value: headerValue(invite, 'From')! },
        { name: 'Call-ID', value: headerValue(invite, 'Call-ID')! },
        { name: 'CSeq', value: `2 ${method}` },
      ],
      body: Buffer.alloc(0),
    });
    receive(inDialog('INVITE', 'z9hG4bKreinvite'));
    receive(inDialog('BYE', 'z9hG4bKbye'));
    receive(inDialog('BYE', 'z9hG4bKbye'));
    await flush();
    assert.deepEqual(
      transport.responses().map((response) => `${response.status} ${cseqOf(response).method}`),
      ['488 INVITE', '200 BYE', '200 BYE'],
      'the retransmitted BYE is answered again',
    );
    assert.deepEqual(events, ['answered', 'ended:remote_bye']);
  });
});

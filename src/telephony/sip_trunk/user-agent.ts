/**
 * The transaction user layer's plumbing: it owns the transport, matches responses to client
 * transactions, hands in-dialog requests to their dialog, and answers whatever else arrives
 * (OPTIONS pings, stray requests) so the far end is never left retransmitting.
 *
 * redial only places calls: an INVITE that opens a new dialog towards us is refused.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { cseqOf, headerValue, headerValues, type SipHeader, type SipRequest, type SipResponse } from './message.js';
import { branchOf, ClientTransaction, transactionKey, type ClientTransactionUser, type SipTimers } from './transaction.js';
import type { Endpoint, IncomingMessage, SipTransport } from './transport.js';
import { hostPort, tagOf } from './uri.js';

export const allowedMethods = 'INVITE, ACK, CANCEL, BYE, OPTIONS';

export interface UasAnswer {
  status: number;
  reason: string;
  headers?: SipHeader[];
}

/** One side of a dialog we hold, found by Call-ID and our own tag. */
export interface DialogHandler {
  /** An in-dialog request; the answer is sent before anything else happens. */
  request(request: SipRequest): UasAnswer;
  /** A 2xx to our INVITE that no transaction claimed: a late retransmission or another fork. */
  stray2xx(response: SipResponse): void;
}

export interface SendOptions {
  /** Keep the request's own Via (a CANCEL must copy its INVITE's) instead of adding one with a fresh branch. */
  keepVia?: boolean;
}

interface AnsweredRequest {
  response: SipResponse;
  timer: NodeJS.Timeout;
}

export class UserAgent {
  readonly timers: SipTimers;
  readonly #transport: SipTransport;
  readonly #logger: Logger;
  readonly #transactions = new Map<string, ClientTransaction>();
  readonly #dialogs = new Map<string, DialogHandler>();
  /** Our answers to requests, kept for timer J (64*T1) so retransmitted requests get the same answer. */
  readonly #answered = new Map<string, AnsweredRequest>();
  #closed = false;

  constructor(transport: SipTransport, options: { timers: SipTimers; logger: Logger }) {
    this.#transport = transport;
    this.timers = options.timers;
    this.#logger = options.logger;
  }

  get address(): { host: string; port: number } {
    return this.#transport.address;
  }

  /** Feed for the transport's `onMessage`. */
  receive(incoming: IncomingMessage): void {
    if (this.#closed) return;
    try {
      if (incoming.message.kind === 'response') this.#receiveResponse(incoming.message);
      else this.#receiveRequest(incoming.message, incoming);
    } catch (error) {
      this.#logger.warn({ err: error, source: incoming.source }, 'sip:message:dropped');
    }
  }

  /** Starts a client transaction for `request`; resolves once it has been sent. */
  async request(request: SipRequest, to: Endpoint, user: ClientTransactionUser, options: SendOptions = {}): Promise<ClientTransaction> {
    if (this.#closed) throw new Error('the SIP user agent is closed');
    if (!options.keepVia) request.headers.unshift({ name: 'Via', value: await this.via(to) });
    const transaction = this.#transaction(request, to, user);
    await transaction.start();
    return transaction;
  }

  /** An INVITE client transaction for a request a dead process sent (see `ClientTransaction.adopt`). */
  adoptInvite(invite: SipRequest, to: Endpoint, user: ClientTransactionUser): ClientTransaction {
    const transaction = this.#transaction(invite, to, user);
    transaction.adopt();
    return transaction;
  }

  /** Sends outside any transaction: the ACK for a 2xx is the dialog's, end to end (§13.2.2.4). */
  async sendAck(ack: SipRequest, to: Endpoint): Promise<void> {
    if (!headerValue(ack, 'Via')) ack.headers.unshift({ name: 'Via', value: await this.via(to) });
    await this.#transport.send(ack, to);
  }

  async via(to: Endpoint): Promise<string> {
    const sentBy = await this.#transport.sentBy(to);
    return `SIP/2.0/${to.transport.toUpperCase()} ${hostPort(sentBy.host, sentBy.port)};branch=${newBranch()};rport`;
  }

  async contact(to: Endpoint): Promise<string> {
    const sentBy = await this.#transport.sentBy(to);
    return `<sip:redial@${hostPort(sentBy.host, sentBy.port)}${to.transport === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  register(callId: string, localTag: string, handler: DialogHandler): void {
    this.#dialogs.set(dialogKey(callId, localTag), handler);
  }

  unregister(callId: string, localTag: string, handler: DialogHandler): void {
    const key = dialogKey(callId, localTag);
    if (this.#dialogs.get(key) === handler) this.#dialogs.delete(key);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const transaction of [...this.#transactions.values()]) transaction.terminate();
    for (const answered of this.#answered.values()) clearTimeout(answered.timer);
    this.#answered.clear();
    this.#dialogs.clear();
    await this.#transport.close();
  }

  #transaction(request: SipRequest, to: Endpoint, user: ClientTransactionUser): ClientTransaction {
    if (this.#closed) throw new Error('the SIP user agent is closed');
    const transaction: ClientTransaction = new ClientTransaction({
      request,
      reliable: to.transport === 'tcp',
      timers: this.timers,
      send: (message) => this.#transport.send(message, to),
      user,
      terminated: () => {
        if (this.#transactions.get(transaction.key) === transaction) this.#transactions.delete(transaction.key);
      },
    });
    this.#transactions.set(transaction.key, transaction);
    return transaction;
  }

  #receiveResponse(response: SipResponse): void {
    const { method } = cseqOf(response);
    const transaction = this.#transactions.get(transactionKey(branchOf(response), method));
    if (transaction) {
      transaction.receive(response);
      return;
    }
    if (method === 'INVITE' && response.status >= 200 && response.status < 300) {
      const handler = this.#dialogs.get(dialogKey(headerValue(response, 'Call-ID') ?? '', tagOf(headerValue(response, 'From')) ?? ''));
      if (handler) {
        handler.stray2xx(response);
        return;
      }
    }
    this.#logger.debug({ status: response.status, method }, 'sip:response:unmatched');
  }

  #receiveRequest(request: SipRequest, incoming: IncomingMessage): void {
    const key = transactionKey(branchOf(request), request.method === 'ACK' ? 'INVITE' : request.method);
    const answered = this.#answered.get(key);
    if (answered) {
      // A retransmission (or the ACK of a failure we sent): answer as before, or absorb it.
      if (request.method !== 'ACK') incoming.respond(answered.response).catch(() => undefined);
      return;
    }
    if (request.method === 'ACK') return;
    const answer = this.#route(request);
    const response = responseTo(request, answer);
    const timer = setTimeout(() => this.#answered.delete(key), incoming.source.transport === 'tcp' ? 0 : 64 * this.timers.t1);
    this.#answered.set(key, { response, timer });
    incoming.respond(response).catch((error: unknown) => this.#logger.warn({ err: error, method: request.method }, 'sip:response:send_failed'));
  }

  #route(request: SipRequest): UasAnswer {
    const callId = headerValue(request, 'Call-ID') ?? '';
    const localTag = tagOf(headerValue(request, 'To'));
    if (localTag !== null) {
      const handler = this.#dialogs.get(dialogKey(callId, localTag));
      if (handler) return handler.request(request);
      if (request.method === 'OPTIONS') return { status: 200, reason: 'OK', headers: [{ name: 'Allow', value: allowedMethods }] };
      return { status: 481, reason: 'Call/Transaction Does Not Exist' };
    }
    switch (request.method) {
      case 'OPTIONS':
        return { status: 200, reason: 'OK', headers: [{ name: 'Allow', value: allowedMethods }] };
      case 'INVITE':
        return { status: 403, reason: 'Forbidden (redial places calls, it does not take them)' };
      case 'BYE':
      case 'CANCEL':
        return { status: 481, reason: 'Call/Transaction Does Not Exist' };
      default:
        return { status: 405, reason: 'Method Not Allowed', headers: [{ name: 'Allow', value: allowedMethods }] };
    }
  }
}

/** A response to `request` (§8.2.6): Via, From, Call-ID and CSeq copied, To given a tag when it has none. */
export function responseTo(request: SipRequest, answer: UasAnswer): SipResponse {
  const to = headerValue(request, 'To') ?? '';
  const headers: SipHeader[] = [
    ...headerValues(request, 'Via').map((value) => ({ name: 'Via', value })),
    { name: 'From', value: headerValue(request, 'From') ?? '' },
    { name: 'To', value: answer.status > 100 && tagOf(to) === null ? `${to};tag=${newTag()}` : to },
    { name: 'Call-ID', value: headerValue(request, 'Call-ID') ?? '' },
    { name: 'CSeq', value: headerValue(request, 'CSeq') ?? '' },
    ...(answer.headers ?? []),
  ];
  return { kind: 'response', status: answer.status, reason: answer.reason, headers, body: Buffer.alloc(0) };
}

/** RFC 3261 branch: the magic cookie and 96 random bits (the issue asks for at least 64). */
export function newBranch(): string {
  return `z9hG4bK${randomBytes(12).toString('hex')}`;
}

export function newTag(): string {
  return randomBytes(8).toString('hex');
}

export function newCallId(host: string): string {
  return `${randomBytes(16).toString('hex')}@${host}`;
}

function dialogKey(callId: string, localTag: string): string {
  return `${callId}\n${localTag}`;
}

/**
 * One outgoing INVITE and the dialog it makes (RFC 3261 §13–15), as the user-agent client of one
 * leg of a third-party call. It answers digest challenges, cancels only after a provisional,
 * gives up 64*T1 after a CANCEL that brings no final response, leaves the ACK of a 2xx to its
 * owner (the third-party flow needs the other leg's SDP in it), and ends with exactly one `ended`.
 */
import type { Logger } from 'pino';
import { authorizationHeader, parseChallenge } from './digest.js';
import { cancelRequest, inDialogRequest, remoteTargetOf, routeSetOf, type DialogRoute, type LegPhase, type LegSnapshot } from './dialog.js';
import { bodyText, createRequest, headerValue, headerValues, withoutHeaders, type SipHeader, type SipRequest, type SipResponse } from './message.js';
import { isSdp, rejectOffer } from './sdp.js';
import type { ClientTransaction, ClientTransactionUser } from './transaction.js';
import type { Endpoint } from './transport.js';
import { tagOf } from './uri.js';
import { allowedMethods, newCallId, newTag, type DialogHandler, type UasAnswer, type UserAgent } from './user-agent.js';

export type LegEnd =
  /** A final non-2xx response that was not the 487 of our own CANCEL (after any digest retry). */
  | { kind: 'rejected'; response: SipResponse }
  /** We cancelled: a 487, no final response 64*T1 after the CANCEL, or a 2xx that crossed it (ACKed and BYEd). */
  | { kind: 'cancelled' }
  /** Timer B: not even a provisional response. */
  | { kind: 'no_response' }
  | { kind: 'transport_error'; error: Error }
  | { kind: 'remote_bye'; request: SipRequest }
  | { kind: 'local_bye' };

export interface InviteLegEvents {
  provisional(response: SipResponse): void;
  /** The first 2xx. The leg waits for `ack()` (the far end retransmits the 2xx meanwhile). */
  answered(response: SipResponse): void;
  ended(end: LegEnd): void;
}

export interface InviteLegOptions {
  ua: UserAgent;
  /** Given by the owner when it needs the Call-ID first (for its logger); a fresh one otherwise. */
  callId?: string;
  endpoint: Endpoint;
  requestUri: string;
  fromUri: string;
  toUri: string;
  /** Headers of our own (trunk headers, X- headers for the agent), after the core ones. */
  headers: SipHeader[];
  sdp: string | null;
  credentials: { username: string; password: string } | null;
  logger: Logger;
  events: InviteLegEvents;
}

const noop = (): void => undefined;

export class InviteLeg implements DialogHandler {
  readonly callId: string;
  readonly localTag = newTag();
  readonly #o: InviteLegOptions;
  readonly #from: string;
  readonly #to: string;
  #phase: LegPhase = 'inviting';
  #invite: SipRequest | null = null;
  #inviteTx: ClientTransaction | null = null;
  #inviteSeq = 1;
  #localSeq = 1;
  #provisional = false;
  #cancelWanted = false;
  #cancelSent = false;
  #giveUpTimer: NodeJS.Timeout | null = null;
  #dialog: DialogRoute | null = null;
  #earlyTag: string | null = null;
  #answer: SipResponse | null = null;
  #ack: { request: SipRequest; to: Endpoint } | null = null;
  #answeredChallenges = new Set<number>();
  #authHeaders: SipHeader[] = [];
  #byeStarted = false;
  #ended = false;

  constructor(options: InviteLegOptions) {
    this.#o = options;
    this.callId = options.callId ?? newCallId('redial');
    this.#from = `<${options.fromUri}>;tag=${this.localTag}`;
    this.#to = `<${options.toUri}>`;
  }

  get phase(): LegPhase {
    return this.#phase;
  }

  /** The 2xx's SDP offer or answer, once answered. */
  get remoteSdp(): string | null {
    return this.#answer && isSdp(headerValue(this.#answer, 'Content-Type')) ? bodyText(this.#answer) : null;
  }

  /** Sends the INVITE. Throws when it cannot be sent; no `ended` follows then. */
  async start(): Promise<void> {
    this.#o.ua.register(this.callId, this.localTag, this);
    try {
      await this.#sendInvite();
    } catch (error) {
      this.#ended = true;
      this.#phase = 'ended';
      this.#o.ua.unregister(this.callId, this.localTag, this);
      throw error;
    }
  }

  /** ACKs the 2xx end to end, with `sdp` as the answer when the 2xx carried the offer. */
  async ack(sdp: string | null): Promise<void> {
    if (this.#phase !== 'answered' || !this.#dialog) return;
    this.#phase = 'confirmed';
    const extra: SipHeader[] = [...this.#authHeaders, { name: 'User-Agent', value: 'redial' }];
    if (sdp !== null) extra.push({ name: 'Content-Type', value: 'application/sdp' });
    const ack = inDialogRequest(this.#dialog, 'ACK', this.#inviteSeq, extra, sdp === null ? undefined : Buffer.from(sdp, 'utf8'));
    this.#ack = ack;
    await this.#o.ua.sendAck(ack.request, ack.to).catch((error: unknown) => {
      // The far end retransmits its 2xx until an ACK gets through; each one is answered again.
      this.#o.logger.warn({ err: error }, 'sip:leg:ack_failed');
    });
  }

  /** CANCELs a pending INVITE, now or as soon as a provisional arrives (§9.1). */
  cancel(): void {
    if (this.#phase !== 'inviting' || this.#cancelWanted) return;
    this.#cancelWanted = true;
    if (this.#provisional) this.#sendCancel();
  }

  /** Ends the leg whatever state it is in: CANCEL while inviting, otherwise (ACK and) BYE. */
  async hangUp(): Promise<void> {
    if (this.#phase === 'inviting') this.cancel();
    else if (this.#phase === 'answered' || this.#phase === 'confirmed') await this.#bye();
  }

  /** Stops timers without signalling anything (shutdown). */
  dispose(): void {
    if (this.#giveUpTimer) clearTimeout(this.#giveUpTimer);
    this.#giveUpTimer = null;
    this.#ended = true;
    this.#phase = 'ended';
    this.#o.ua.unregister(this.callId, this.localTag, this);
  }

  snapshot(): LegSnapshot {
    return {
      callId: this.callId,
      from: this.#from,
      to: this.#to,
      remoteTag: this.#dialog?.remoteTag ?? this.#earlyTag,
      requestUri: this.#o.requestUri,
      endpoint: this.#o.endpoint,
      inviteVia: (this.#invite && headerValue(this.#invite, 'Via')) ?? '',
      inviteSeq: this.#inviteSeq,
      localSeq: this.#localSeq,
      routeSet: this.#dialog?.routeSet ?? [],
      remoteTarget: this.#dialog?.remoteTarget ?? null,
      phase: this.#phase,
      provisional: this.#provisional,
    };
  }

  request(request: SipRequest): UasAnswer {
    switch (request.method) {
      case 'BYE':
        if (this.#phase === 'ended' || !this.#dialog || tagOf(headerValue(request, 'From')) !== this.#dialog.remoteTag) {
          return { status: 481, reason: 'Call/Transaction Does Not Exist' };
        }
        this.#phase = 'ended';
        // Our 200 goes out first; the other leg's BYE follows from the `ended` handler.
        setImmediate(() => this.#end({ kind: 'remote_bye', request }));
        return { status: 200, reason: 'OK' };
      case 'INVITE':
        // A re-INVITE would need the other party's SDP in our answer; the session goes on
        // unchanged after a 488 (RFC 4028 §10 only ends a session on 408 or 481).
        return { status: 488, reason: 'Not Acceptable Here', headers: [{ name: 'Warning', value: '399 redial "re-INVITE not supported; session unchanged"' }] };
      case 'OPTIONS':
        return { status: 200, reason: 'OK', headers: [{ name: 'Allow', value: allowedMethods }] };
      default:
        return { status: 501, reason: 'Not Implemented', headers: [{ name: 'Allow', value: allowedMethods }] };
    }
  }

  stray2xx(response: SipResponse): void {
    const tag = tagOf(headerValue(response, 'To'));
    if (this.#dialog && tag === this.#dialog.remoteTag) {
      // Our ACK was lost: the far end retransmits its 2xx, and we ACK it again (§13.2.2.4).
      if (this.#ack) this.#o.ua.sendAck(this.#ack.request, this.#ack.to).catch(noop);
      return;
    }
    this.#dropAnswer(response);
  }

  async #sendInvite(): Promise<void> {
    const { ua, endpoint } = this.#o;
    const headers: SipHeader[] = [
      { name: 'Max-Forwards', value: '70' },
      { name: 'From', value: this.#from },
      { name: 'To', value: this.#to },
      { name: 'Call-ID', value: this.callId },
      { name: 'CSeq', value: `${this.#inviteSeq} INVITE` },
      { name: 'Contact', value: await ua.contact(endpoint) },
      { name: 'Allow', value: allowedMethods },
      { name: 'User-Agent', value: 'redial' },
      ...this.#authHeaders,
      ...this.#o.headers,
    ];
    if (this.#o.sdp !== null) headers.push({ name: 'Content-Type', value: 'application/sdp' });
    const invite = createRequest('INVITE', this.#o.requestUri, headers, this.#o.sdp === null ? undefined : Buffer.from(this.#o.sdp, 'utf8'));
    this.#invite = invite;
    this.#provisional = false;
    this.#cancelSent = false;
    const seq = this.#inviteSeq;
    // Responses to an INVITE we already replaced (after a challenge) are the old transaction's business.
    const current = () => this.#inviteSeq === seq;
    const user: ClientTransactionUser = {
      response: (response) => current() && this.#onInviteResponse(response),
      timeout: () => current() && this.#end({ kind: 'no_response' }),
      transportError: (error) => current() && this.#end({ kind: 'transport_error', error }),
    };
    this.#inviteTx = await ua.request(invite, endpoint, user);
  }

  #onInviteResponse(response: SipResponse): void {
    const status = response.status;
    if (status < 200) {
      if (this.#phase !== 'inviting') return;
      const tag = tagOf(headerValue(response, 'To'));
      if (tag !== null && status > 100) this.#earlyTag = tag;
      this.#provisional = true;
      if (this.#cancelWanted && !this.#cancelSent) this.#sendCancel();
      this.#o.events.provisional(response);
      return;
    }
    if (status < 300) {
      if (this.#phase !== 'inviting') {
        this.stray2xx(response);
        return;
      }
      this.#clearGiveUp();
      this.#phase = 'answered';
      this.#answer = response;
      this.#dialog = {
        callId: this.callId,
        from: this.#from,
        to: this.#to,
        remoteTag: tagOf(headerValue(response, 'To')) ?? '',
        routeSet: routeSetOf(response),
        remoteTarget: remoteTargetOf(response) ?? this.#o.requestUri,
        transport: this.#o.endpoint.transport,
      };
      if (this.#cancelWanted) {
        // The 2xx crossed our CANCEL: the call is up, so it must be ACKed and then ended (§9.1).
        void this.#bye({ kind: 'cancelled' });
        return;
      }
      this.#o.events.answered(response);
      return;
    }
    if (this.#phase !== 'inviting') return;
    if ((status === 401 || status === 407) && this.#answerChallenge(response)) return;
    if (this.#cancelWanted && status === 487) this.#end({ kind: 'cancelled' });
    else this.#end({ kind: 'rejected', response });
  }

  /** Sends the INVITE again with credentials; false when this challenge cannot or must not be answered. */
  #answerChallenge(response: SipResponse): boolean {
    const credentials = this.#o.credentials;
    // One retry per challenge: the same challenge again means the password is wrong.
    if (!credentials || this.#cancelWanted || this.#answeredChallenges.has(response.status) || !this.#invite) return false;
    const [challengeName, answerName] = response.status === 401 ? ['WWW-Authenticate', 'Authorization'] : ['Proxy-Authenticate', 'Proxy-Authorization'];
    const challenge = headerValues(response, challengeName)
      .map(parseChallenge)
      .find((parsed) => parsed !== null);
    if (!challenge) {
      this.#o.logger.warn({ status: response.status }, 'sip:leg:challenge_unsupported');
      return false;
    }
    this.#answeredChallenges.add(response.status);
    const value = authorizationHeader(challenge, { method: 'INVITE', uri: this.#o.requestUri, body: this.#invite.body }, credentials);
    this.#authHeaders = [...withoutHeaders(this.#authHeaders, [answerName]), { name: answerName, value }];
    this.#inviteSeq += 1;
    this.#localSeq = this.#inviteSeq;
    this.#sendInvite().catch((error: unknown) => this.#end({ kind: 'transport_error', error: error instanceof Error ? error : new Error(String(error)) }));
    return true;
  }

  #sendCancel(): void {
    if (!this.#invite) return;
    this.#cancelSent = true;
    const cancel = cancelRequest(this.snapshot(), headerValues(this.#invite, 'Route'));
    const user: ClientTransactionUser = { response: noop, timeout: noop, transportError: noop };
    this.#o.ua.request(cancel, this.#o.endpoint, user, { keepVia: true }).catch((error: unknown) => this.#o.logger.warn({ err: error }, 'sip:leg:cancel_failed'));
    // The far end owes the INVITE a final response (487); if it never comes, stop waiting.
    this.#giveUpTimer = setTimeout(() => {
      this.#giveUpTimer = null;
      if (this.#phase !== 'inviting') return;
      this.#inviteTx?.terminate();
      this.#end({ kind: 'cancelled' });
    }, 64 * this.#o.ua.timers.t1);
  }

  async #bye(end: LegEnd = { kind: 'local_bye' }): Promise<void> {
    if (!this.#dialog || this.#phase === 'ended' || this.#phase === 'inviting' || this.#byeStarted) return;
    this.#byeStarted = true;
    if (this.#phase === 'answered') await this.ack(this.#ourAnswerFor(this.#answer));
    this.#phase = 'ended';
    this.#localSeq += 1;
    await this.#sendBye(this.#dialog, this.#localSeq, true);
    this.#end(end);
  }

  /**
   * No credentials up front: a digest response is bound to its method and URI, so the INVITE's
   * would not do. A challenge to the BYE is answered once.
   */
  async #sendBye(dialog: DialogRoute, seq: number, mayRetry: boolean, auth: SipHeader[] = []): Promise<void> {
    const { request, to } = inDialogRequest(dialog, 'BYE', seq, [...auth, { name: 'User-Agent', value: 'redial' }]);
    const user: ClientTransactionUser = {
      response: (response) => {
        if (response.status < 200) return;
        if ((response.status === 401 || response.status === 407) && mayRetry && this.#o.credentials) {
          const challenge = headerValues(response, response.status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate')
            .map(parseChallenge)
            .find((parsed) => parsed !== null);
          if (challenge) {
            const name = response.status === 401 ? 'Authorization' : 'Proxy-Authorization';
            const value = authorizationHeader(challenge, { method: 'BYE', uri: request.uri, body: Buffer.alloc(0) }, this.#o.credentials);
            this.#localSeq += 1;
            void this.#sendBye(dialog, this.#localSeq, false, [...withoutHeaders(auth, [name]), { name, value }]);
            return;
          }
        }
        this.#o.logger.debug({ status: response.status }, 'sip:leg:bye_answered');
      },
      timeout: () => this.#o.logger.info({}, 'sip:leg:bye_unanswered'),
      transportError: (error) => this.#o.logger.warn({ err: error }, 'sip:leg:bye_failed'),
    };
    await this.#o.ua.request(request, to, user).catch((error: unknown) => this.#o.logger.warn({ err: error }, 'sip:leg:bye_failed'));
  }

  /** ACK and BYE a 2xx we do not want (a second fork, or one after we gave up). */
  #dropAnswer(response: SipResponse): void {
    const tag = tagOf(headerValue(response, 'To'));
    if (tag === null) return;
    const dialog: DialogRoute = {
      callId: this.callId,
      from: this.#from,
      to: this.#to,
      remoteTag: tag,
      routeSet: routeSetOf(response),
      remoteTarget: remoteTargetOf(response) ?? this.#o.requestUri,
      transport: this.#o.endpoint.transport,
    };
    const sdp = this.#ourAnswerFor(response);
    const extra: SipHeader[] = sdp === null ? [] : [{ name: 'Content-Type', value: 'application/sdp' }];
    const ack = inDialogRequest(dialog, 'ACK', this.#inviteSeq, extra, sdp === null ? undefined : Buffer.from(sdp, 'utf8'));
    this.#o.logger.info({ remoteTag: tag }, 'sip:leg:unwanted_answer_dropped');
    this.#o.ua
      .sendAck(ack.request, ack.to)
      .then(() => this.#sendBye(dialog, this.#inviteSeq + 1, false))
      .catch(noop);
  }

  /** When a 2xx carries the offer (our INVITE had none), our ACK must carry an answer: one that refuses the media. */
  #ourAnswerFor(response: SipResponse | null): string | null {
    if (this.#o.sdp !== null || !response) return null;
    const offer = isSdp(headerValue(response, 'Content-Type')) ? bodyText(response) : null;
    return offer === null ? null : rejectOffer(offer);
  }

  #clearGiveUp(): void {
    if (this.#giveUpTimer) clearTimeout(this.#giveUpTimer);
    this.#giveUpTimer = null;
  }

  #end(end: LegEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#phase = 'ended';
    this.#clearGiveUp();
    // Stay reachable a little longer: a retransmitted 2xx must still be ACKed, a retransmitted BYE answered.
    setTimeout(() => this.#o.ua.unregister(this.callId, this.localTag, this), 64 * this.#o.ua.timers.t1).unref();
    this.#o.events.ended(end);
  }
}

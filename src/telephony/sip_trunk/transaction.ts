/**
 * Client transactions (RFC 3261 §17.1): the INVITE state machine with timers A, B and D, and the
 * non-INVITE one with timers E, F and K. Over UDP they retransmit; over TCP only the timeouts run.
 * A 2xx to an INVITE moves it to Accepted (RFC 6026, timer M) instead of ending it, so 2xx
 * retransmissions still reach the dialog, which ACKs each of them end to end.
 */
import { headerValue, headerValues, type SipMessage, type SipRequest, type SipResponse } from './message.js';

export interface SipTimers {
  /** RTT estimate: first retransmission interval (500 ms). */
  t1: number;
  /** Cap on non-INVITE retransmission intervals (4 s). */
  t2: number;
  /** How long a message may live in the network (5 s). */
  t4: number;
}

export const defaultSipTimers: SipTimers = { t1: 500, t2: 4_000, t4: 5_000 };

export interface ClientTransactionUser {
  /** Every provisional, the final response, and (INVITE only) each 2xx that arrives while Accepted. */
  response(response: SipResponse): void;
  /** Timer B or F: no final response at all. */
  timeout(): void;
  transportError(error: Error): void;
}

export interface ClientTransactionOptions {
  /** The request, its top Via already carrying the branch. */
  request: SipRequest;
  /** TCP: no retransmissions, and the Completed/Accepted wait is zero. */
  reliable: boolean;
  timers: SipTimers;
  send(message: SipMessage): Promise<void>;
  user: ClientTransactionUser;
  /** Called once when the transaction is over, so its table entry can go. */
  terminated(): void;
}

type State = 'calling' | 'trying' | 'proceeding' | 'accepted' | 'completed' | 'terminated';

export class ClientTransaction {
  readonly key: string;
  readonly request: SipRequest;
  readonly #o: ClientTransactionOptions;
  readonly #invite: boolean;
  #state: State;
  #retransmitTimer: NodeJS.Timeout | null = null;
  /** When the last (re)transmission was due: the next is due an interval after it, not after it fired. */
  #lastSendDueAt = 0;
  #timeoutTimer: NodeJS.Timeout | null = null;
  #endTimer: NodeJS.Timeout | null = null;
  #ack: SipRequest | null = null;

  constructor(options: ClientTransactionOptions) {
    this.#o = options;
    this.request = options.request;
    this.#invite = options.request.method === 'INVITE';
    this.#state = this.#invite ? 'calling' : 'trying';
    this.key = transactionKey(branchOf(options.request), options.request.method);
  }

  get state(): State {
    return this.#state;
  }

  /** Sends the request and starts the timers; rejects (and ends the transaction) when it cannot be sent. */
  async start(): Promise<void> {
    const { t1 } = this.#o.timers;
    this.#lastSendDueAt = Date.now();
    if (!this.#o.reliable) this.#scheduleRetransmit(t1);
    // Timer B (INVITE) and timer F (non-INVITE) are both 64*T1.
    this.#timeoutTimer = setTimeout(() => this.#timedOut(), 64 * t1);
    try {
      await this.#o.send(this.request);
    } catch (error) {
      this.#terminate();
      throw error;
    }
  }

  /**
   * Takes over an INVITE another process sent and saw a provisional for: no sending, no timers,
   * just the Proceeding state, so its final response is matched and ACKed here.
   */
  adopt(): void {
    this.#state = 'proceeding';
  }

  receive(response: SipResponse): void {
    if (this.#invite) this.#receiveInvite(response);
    else this.#receiveNonInvite(response);
  }

  /** Stops every timer and forgets the transaction without telling its user (hang-up, shutdown). */
  terminate(): void {
    this.#terminate();
  }

  #receiveInvite(response: SipResponse): void {
    const status = response.status;
    switch (this.#state) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          this.#state = 'proceeding';
          // Timer B only runs in Calling (§17.1.1.2): once the far end has answered at all,
          // how long the phone may ring is the user's business (ringing timeout, CANCEL).
          this.#clearTimers();
          this.#o.user.response(response);
        } else if (status < 300) {
          this.#clearTimers();
          this.#state = 'accepted';
          // Timer M (RFC 6026): keep matching 2xx retransmissions and forks for 64*T1.
          this.#endTimer = setTimeout(() => this.#terminate(), 64 * this.#o.timers.t1);
          this.#o.user.response(response);
        } else {
          this.#clearTimers();
          this.#state = 'completed';
          this.#ack = ackForFailure(this.request, response);
          this.#sendQuietly(this.#ack);
          // Timer D: absorb retransmitted finals (each re-ACKed) for 32 s (64*T1) over UDP.
          this.#endTimer = setTimeout(() => this.#terminate(), this.#o.reliable ? 0 : 64 * this.#o.timers.t1);
          this.#o.user.response(response);
        }
        return;
      case 'accepted':
        if (status >= 200 && status < 300) this.#o.user.response(response);
        return;
      case 'completed':
        if (status >= 300 && this.#ack) this.#sendQuietly(this.#ack);
        return;
      default:
        return;
    }
  }

  #receiveNonInvite(response: SipResponse): void {
    if (this.#state !== 'trying' && this.#state !== 'proceeding') return;
    if (response.status < 200) {
      // Timer E keeps running in Proceeding; from its next firing on it is reset to T2 (§17.1.2.2).
      this.#state = 'proceeding';
      this.#o.user.response(response);
      return;
    }
    this.#clearTimers();
    this.#state = 'completed';
    // Timer K: absorb response retransmissions for T4 over UDP.
    this.#endTimer = setTimeout(() => this.#terminate(), this.#o.reliable ? 0 : this.#o.timers.t4);
    this.#o.user.response(response);
  }

  /**
   * Timer A (INVITE: doubles each time) or timer E (non-INVITE: doubles up to T2). Each is due
   * an interval after the previous one was due, so a busy event loop's lateness does not add up
   * and push the last retransmission past timer B.
   */
  #scheduleRetransmit(interval: number): void {
    this.#lastSendDueAt += interval;
    this.#retransmitTimer = setTimeout(() => {
      if (this.#state !== 'calling' && this.#state !== 'trying' && this.#state !== 'proceeding') return;
      this.#o.send(this.request).catch((error: unknown) => this.#transportFailed(error));
      const next = this.#invite ? interval * 2 : this.#state === 'proceeding' ? this.#o.timers.t2 : Math.min(interval * 2, this.#o.timers.t2);
      this.#scheduleRetransmit(next);
    }, Math.max(0, this.#lastSendDueAt - Date.now()));
  }

  #timedOut(): void {
    if (this.#state !== 'calling' && this.#state !== 'trying' && this.#state !== 'proceeding') return;
    this.#terminate();
    this.#o.user.timeout();
  }

  #transportFailed(error: unknown): void {
    if (this.#state === 'terminated') return;
    this.#terminate();
    this.#o.user.transportError(error instanceof Error ? error : new Error(String(error)));
  }

  #sendQuietly(message: SipRequest): void {
    // A lost ACK is recovered by the far end retransmitting its final response.
    this.#o.send(message).catch(() => undefined);
  }

  #clearRetransmit(): void {
    if (this.#retransmitTimer) clearTimeout(this.#retransmitTimer);
    this.#retransmitTimer = null;
  }

  #clearTimers(): void {
    this.#clearRetransmit();
    if (this.#timeoutTimer) clearTimeout(this.#timeoutTimer);
    this.#timeoutTimer = null;
  }

  #terminate(): void {
    if (this.#state === 'terminated') return;
    this.#clearTimers();
    if (this.#endTimer) clearTimeout(this.#endTimer);
    this.#endTimer = null;
    this.#state = 'terminated';
    this.#o.terminated();
  }
}

/** §17.1.3: responses match by the top Via's branch and the CSeq method (a CANCEL shares its INVITE's branch). */
export function transactionKey(branch: string, method: string): string {
  return `${branch} ${method.toUpperCase()}`;
}

export function branchOf(message: SipMessage): string {
  const via = headerValue(message, 'Via') ?? '';
  const match = /;\s*branch\s*=\s*([^;,\s]+)/i.exec(via);
  return match ? match[1]! : '';
}

/**
 * The ACK for a non-2xx final response (§17.1.1.3): hop by hop, part of the INVITE transaction,
 * so it reuses the INVITE's Via and carries the To tag of the response.
 */
export function ackForFailure(invite: SipRequest, response: SipResponse): SipRequest {
  const headers = [
    { name: 'Via', value: headerValue(invite, 'Via')! },
    ...headerValues(invite, 'Route').map((value) => ({ name: 'Route', value })),
    { name: 'Max-Forwards', value: '70' },
    { name: 'From', value: headerValue(invite, 'From')! },
    { name: 'To', value: headerValue(response, 'To') ?? headerValue(invite, 'To')! },
    { name: 'Call-ID', value: headerValue(invite, 'Call-ID')! },
    { name: 'CSeq', value: `${/\d+/.exec(headerValue(invite, 'CSeq') ?? '1')?.[0] ?? '1'} ACK` },
  ];
  return { kind: 'request', method: 'ACK', uri: invite.uri, headers, body: Buffer.alloc(0) };
}

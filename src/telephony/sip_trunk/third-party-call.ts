/**
 * Third-party call control, RFC 3725 flow I with the callee first: INVITE the callee with no SDP;
 * its 2xx carries the offer; INVITE the agent with that offer; the agent's 2xx carries the
 * answer; ACK the callee with the agent's answer, then ACK the agent. Media then flows between
 * the two directly: redial only signals. When either side hangs up, the other gets a BYE.
 *
 * Callee first (rather than agent first) means nobody is connected to a ringing phone, and the
 * agent only starts a conversation once a person is there.
 *
 * Answering machines are invisible to SIP signalling. An agent that recognises one reports it by
 * ending its leg with a BYE carrying `X-Redial-Outcome: voicemail`; the call then ends as
 * `voicemail` instead of `completed`.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../domain/types.js';
import type { CallEvent } from '../provider.js';
import type { CallPlan } from './call-plan.js';
import { snapshotJson } from './dialog.js';
import { InviteLeg, type LegEnd } from './invite-leg.js';
import { headerValue } from './message.js';
import { failureForStatus, retryAfterSeconds, type SipFailure } from './status-map.js';
import { newCallId, type UserAgent } from './user-agent.js';

export const outcomeHeader = 'X-Redial-Outcome';

export type CallPhase = 'ringing' | 'connecting' | 'answered' | 'ended';

export interface ThirdPartyCallOptions {
  ua: UserAgent;
  plan: CallPlan;
  /** How long the agent may take to answer once the callee has; the callee hears silence meanwhile. */
  agentAnswerTimeoutMs: number;
  logger: Logger;
  /** A change worth recording, with the dialog state a process reclaiming the call would need. */
  /** `failsBatch` says why no call of the batch can go through this trunk. */
  report(event: CallEvent, state: JsonObject, failsBatch?: string): void;
  /** The trunk answered 503 with Retry-After: send it no new calls for this long. */
  trunkUnavailable(seconds: number): void;
  /** The call is over for the provider's bookkeeping (legs may still be finishing their BYEs). */
  finished(): void;
}

export class ThirdPartyCall {
  readonly callee: InviteLeg;
  readonly #o: ThirdPartyCallOptions;
  #agent: InviteLeg | null = null;
  #phase: CallPhase = 'ringing';
  #ringTimer: NodeJS.Timeout | null = null;
  #agentTimer: NodeJS.Timeout | null = null;
  #timedOut = false;
  #hungUp = false;
  #initiated = false;

  constructor(options: ThirdPartyCallOptions) {
    const callId = newCallId('redial');
    const logger = options.logger.child({ callId });
    this.#o = { ...options, logger };
    const { plan } = options;
    this.callee = new InviteLeg({
      ua: options.ua,
      callId,
      ...plan.callee,
      sdp: null,
      credentials: plan.credentials,
      logger: logger.child({ leg: 'callee' }),
      events: {
        provisional: () => this.#calleeRinging(),
        answered: () => this.#calleeAnswered(),
        ended: (end) => this.#calleeEnded(end),
      },
    });
  }

  get providerCallId(): string {
    return this.callee.callId;
  }

  get phase(): CallPhase {
    return this.#phase;
  }

  /** Sends the callee's INVITE; the ringing timeout runs from here. Throws when it cannot be sent. */
  async start(): Promise<void> {
    this.#ringTimer = setTimeout(() => this.#ringingTimedOut(), this.#o.plan.ringingTimeoutMs);
    try {
      await this.callee.start();
    } catch (error) {
      this.#clearTimers();
      this.#phase = 'ended';
      throw error;
    }
  }

  /** Ends both legs without reporting anything more: whoever asked already knows. */
  async hangUp(): Promise<void> {
    if (this.#phase === 'ended') return;
    this.#hungUp = true;
    this.#o.logger.info({ phase: this.#phase }, 'sip:call:hanging_up');
    this.#finish(null);
    await Promise.all([this.callee.hangUp(), this.#agent?.hangUp()]);
  }

  /** Stops timers and forgets the legs without a word on the wire (shutdown after hang-ups). */
  dispose(): void {
    this.#clearTimers();
    this.callee.dispose();
    this.#agent?.dispose();
  }

  snapshot(): JsonObject {
    return {
      v: 1,
      phase: this.#phase,
      trunk: this.#o.plan.trunkAddress,
      callee: snapshotJson(this.callee.snapshot()),
      agent: this.#agent ? snapshotJson(this.#agent.snapshot()) : null,
    };
  }

  #calleeRinging(): void {
    if (this.#initiated || this.#phase !== 'ringing') return;
    this.#initiated = true;
    this.#report({ kind: 'initiated' });
  }

  #calleeAnswered(): void {
    if (this.#ringTimer) clearTimeout(this.#ringTimer);
    this.#ringTimer = null;
    const offer = this.callee.remoteSdp;
    if (this.#phase !== 'ringing') return;
    this.#phase = 'connecting';
    // Initiated again, so the stored dialog state includes the callee's answer: a process that
    // reclaims the call from here can BYE the callee instead of cancelling a finished INVITE.
    this.#initiated = true;
    this.#report({ kind: 'initiated' });
    if (offer === null) {
      this.#fail({ reason: 'provider_error', description: 'the callee answered without an SDP offer, so there is nothing to hand to the agent' });
      void this.callee.hangUp();
      return;
    }
    this.#o.logger.info({}, 'sip:call:callee_answered');
    const { plan } = this.#o;
    const agent = new InviteLeg({
      ua: this.#o.ua,
      ...plan.agent,
      sdp: offer,
      credentials: null,
      logger: this.#o.logger.child({ leg: 'agent' }),
      events: {
        provisional: () => undefined,
        answered: () => void this.#agentAnswered(agent),
        ended: (end) => this.#agentEnded(end),
      },
    });
    this.#agent = agent;
    this.#agentTimer = setTimeout(() => {
      if (agent.phase !== 'inviting' || this.#phase !== 'connecting') return;
      this.#fail({ reason: 'provider_error', description: `the agent at ${plan.agent.requestUri} did not answer within ${this.#o.agentAnswerTimeoutMs} ms` });
      agent.cancel();
      void this.callee.hangUp();
    }, this.#o.agentAnswerTimeoutMs);
    agent.start().catch((error: unknown) => {
      this.#fail({ reason: 'provider_error', description: `the INVITE to the agent at ${plan.agent.requestUri} could not be sent: ${(error as Error).message}` });
      void this.callee.hangUp();
    });
  }

  async #agentAnswered(agent: InviteLeg): Promise<void> {
    if (this.#agentTimer) clearTimeout(this.#agentTimer);
    this.#agentTimer = null;
    if (this.#phase !== 'connecting' || this.callee.phase !== 'answered') {
      await agent.hangUp();
      return;
    }
    const answer = agent.remoteSdp;
    if (answer === null) {
      this.#fail({ reason: 'provider_error', description: 'the agent answered without SDP' });
      await Promise.all([agent.hangUp(), this.callee.hangUp()]);
      return;
    }
    await this.callee.ack(answer);
    await agent.ack(null);
    // Either side may have hung up while the ACKs were on their way.
    if (this.#phase !== 'connecting') return;
    this.#phase = 'answered';
    this.#o.logger.info({}, 'sip:call:connected');
    this.#report({ kind: 'answered' });
  }

  #calleeEnded(end: LegEnd): void {
    if (this.#phase === 'ended') return;
    if (this.#phase === 'answered') {
      // The callee hung up on the agent: the normal end of a conversation.
      void this.#agent?.hangUp();
      this.#finish({ kind: 'ended', outcome: 'completed' });
      return;
    }
    if (this.#phase === 'connecting') {
      void this.#agent?.hangUp();
      this.#fail({ reason: 'no_answer', description: 'the callee hung up before the agent was connected' });
      return;
    }
    this.#fail(this.#ringingFailure(end));
  }

  #agentEnded(end: LegEnd): void {
    if (this.#phase === 'ended') return;
    if (this.#phase === 'answered') {
      void this.callee.hangUp();
      const voicemail = end.kind === 'remote_bye' && (headerValue(end.request, outcomeHeader) ?? '').trim().toLowerCase() === 'voicemail';
      this.#finish({ kind: 'ended', outcome: voicemail ? 'voicemail' : 'completed' });
      return;
    }
    const status = end.kind === 'rejected' ? ` (${end.response.status} ${end.response.reason})` : end.kind === 'no_response' ? ' (no response)' : '';
    this.#fail({ reason: 'provider_error', description: `the agent at ${this.#o.plan.agent.requestUri} did not take the call${status}` });
    void this.callee.hangUp();
  }

  #ringingFailure(end: LegEnd): SipFailure {
    switch (end.kind) {
      case 'rejected': {
        const { status, reason } = end.response;
        const seconds = status === 503 ? retryAfterSeconds(headerValue(end.response, 'Retry-After')) : null;
        if (seconds !== null && seconds > 0) this.#o.trunkUnavailable(seconds);
        return failureForStatus(status, reason);
      }
      case 'cancelled':
        return { reason: 'no_answer', description: 'nobody answered before the ringing timeout' };
      case 'no_response':
        return { reason: 'provider_error', description: `the trunk ${this.#o.plan.trunkAddress} did not respond to the INVITE` };
      case 'transport_error':
        return { reason: 'provider_error', description: `the trunk ${this.#o.plan.trunkAddress} could not be reached: ${end.error.message}` };
      default:
        return { reason: 'provider_error', description: `the callee leg ended unexpectedly (${end.kind})` };
    }
  }

  #ringingTimedOut(): void {
    this.#ringTimer = null;
    if (this.#phase !== 'ringing' || this.callee.phase !== 'inviting') return;
    this.#timedOut = true;
    this.#o.logger.info({ ringingTimeoutMs: this.#o.plan.ringingTimeoutMs }, 'sip:call:ringing_timeout');
    this.callee.cancel();
  }

  #fail(failure: SipFailure): void {
    if (this.#phase === 'ended') return;
    const log = failure.reason === 'provider_error' ? this.#o.logger.warn : this.#o.logger.info;
    log.call(this.#o.logger, { reason: failure.reason, timedOut: this.#timedOut }, `sip:call:failed: ${failure.description}`);
    this.#finish({ kind: 'ended', outcome: 'failed', reason: failure.reason }, failure.failsBatch ? `SIP trunk ${this.#o.plan.trunkAddress}: ${failure.description}` : undefined);
  }

  #finish(event: (CallEvent & { kind: 'ended' }) | null, failsBatch?: string): void {
    if (this.#phase === 'ended') return;
    this.#phase = 'ended';
    this.#clearTimers();
    if (event && !this.#hungUp) {
      if (event.outcome !== 'failed') this.#o.logger.info({ outcome: event.outcome }, 'sip:call:ended');
      this.#report(event, failsBatch);
    }
    this.#o.finished();
  }

  #report(event: CallEvent, failsBatch?: string): void {
    if (this.#hungUp) return;
    this.#o.report(event, this.snapshot(), failsBatch);
  }

  #clearTimers(): void {
    if (this.#ringTimer) clearTimeout(this.#ringTimer);
    if (this.#agentTimer) clearTimeout(this.#agentTimer);
    this.#ringTimer = null;
    this.#agentTimer = null;
  }
}

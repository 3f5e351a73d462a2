/**
 * The `sip_trunk` provider: places each call as a third-party call (third-party-call.ts) through
 * the phone number's outbound trunk, with the agent's SIP URI as the other end.
 *
 * Events: `initiated` on the callee's first provisional (and again, with the dialog state, when
 * the callee answers), `answered` once both legs are up, then `ended`. Every report carries the
 * call's dialog state as `providerState`.
 *
 * After a crash (`lookUp` in the process that reclaims the attempt) the call is ended, never
 * adopted: the far ends would send their BYEs to the dead process's Contact, so its end could
 * never be observed. What is reported (reclaim.ts does the ending):
 * - stored as answered: both legs get a BYE, and the call is `completed` (someone talked to the
 *   agent; for how long cannot be known);
 * - still ringing: the INVITE is CANCELled; when its final response comes (487), nobody ever
 *   answered and the call fails with that status's reason (`no_answer` for a 487);
 * - anything else (callee answered but the agent was not connected yet, no answer to the CANCEL,
 *   no stored state): whatever can be ended is, and the result is `unknown`, which the engine
 *   records as `dispatch_uncertain`: the callee may have picked up, so only a user's retry dials
 *   them again.
 */
import type { JsonObject } from '../../domain/types.js';
import { ProviderCallError, type CallLookup, type PlaceCallRequest, type PlacedCall, type Provider, type ProviderContext } from '../provider.js';
import { planCall } from './call-plan.js';
import { endStoredCall, parseStoredCall } from './reclaim.js';
import { failureForStatus } from './status-map.js';
import { ThirdPartyCall } from './third-party-call.js';
import { defaultSipTimers, type SipTimers } from './transaction.js';
import { openTransport, type Endpoint } from './transport.js';
import { UserAgent } from './user-agent.js';

export interface SipTrunkProviderOptions {
  /** `--sip-listen`; port 0 picks a free port (see `listening()`). */
  listen: { host: string; port: number };
  /** RFC 3261 T1/T2/T4; only tests change them. */
  timers?: Partial<SipTimers>;
  /** How long the agent may take to answer once the callee has (default 10 s, well inside the callee's 32 s of 2xx retransmissions). */
  agentAnswerTimeoutMs?: number;
  /** How long `lookUp` waits for the answers to its CANCEL or BYE (default 4 s). */
  reclaimWaitMs?: number;
}

export interface SipTrunkProvider extends Provider {
  /** Binds the user agent if it is not yet, and says where it listens. */
  listening(): Promise<{ host: string; port: number }>;
}

export function createSipTrunkProvider(context: ProviderContext, options: SipTrunkProviderOptions): SipTrunkProvider {
  return new SipTrunkProviderImpl(context, options);
}

class SipTrunkProviderImpl implements SipTrunkProvider {
  readonly name = 'sip_trunk';
  readonly #context: ProviderContext;
  readonly #options: SipTrunkProviderOptions;
  readonly #timers: SipTimers;
  readonly #logger: ProviderContext['logger'];
  readonly #calls = new Map<string, ThirdPartyCall>();
  /** Trunks that answered 503 with Retry-After, and until when they asked to be left alone. */
  readonly #unavailableUntil = new Map<string, number>();
  #ua: Promise<UserAgent> | null = null;
  #closed = false;

  constructor(context: ProviderContext, options: SipTrunkProviderOptions) {
    this.#context = context;
    this.#options = options;
    this.#timers = { ...defaultSipTimers, ...options.timers };
    this.#logger = context.logger.child({ provider: 'sip_trunk' });
  }

  async listening(): Promise<{ host: string; port: number }> {
    return (await this.#userAgent()).address;
  }

  async placeCall(request: PlaceCallRequest): Promise<{ providerCallId: string }> {
    if (this.#closed) throw new ProviderCallError('the sip_trunk provider is shutting down', 'provider_error');
    const plan = planCall(request);
    const trunk = trunkKey(plan.callee.endpoint);
    const until = this.#unavailableUntil.get(trunk) ?? 0;
    if (until > this.#context.clock.now()) {
      throw new ProviderCallError(
        `trunk ${plan.trunkAddress} answered 503 with Retry-After; redial sends it no calls until ${new Date(until).toISOString()}`,
        'provider_error',
      );
    }
    const ua = await this.#userAgentForCall();
    const { batchKey, seq, attemptNumber } = request;
    const call: ThirdPartyCall = new ThirdPartyCall({
      ua,
      plan,
      agentAnswerTimeoutMs: this.#options.agentAnswerTimeoutMs ?? 10_000,
      logger: this.#logger.child({ batchKey, seq, attempt: attemptNumber }),
      report: (event, providerState, failsBatch) => {
        const at = this.#context.clock.now();
        this.#context.sink.report([{ batchKey, seq, attemptNumber, providerCallId: call.providerCallId, event, at, providerState, ...(failsBatch ? { failsBatch } : {}) }]);
      },
      trunkUnavailable: (seconds) => this.#unavailableUntil.set(trunk, this.#context.clock.now() + seconds * 1000),
      finished: () => {
        if (this.#calls.get(call.providerCallId) === call) this.#calls.delete(call.providerCallId);
      },
    });
    this.#calls.set(call.providerCallId, call);
    try {
      await call.start();
    } catch (error) {
      this.#calls.delete(call.providerCallId);
      throw new ProviderCallError(`the INVITE to trunk ${plan.trunkAddress} could not be sent: ${(error as Error).message}`, 'provider_error', { cause: error });
    }
    return { providerCallId: call.providerCallId };
  }

  async hangUp(call: { providerCallId: string; providerState?: JsonObject | null }): Promise<void> {
    const live = this.#calls.get(call.providerCallId);
    if (live) {
      await live.hangUp();
      return;
    }
    // A call this process does not follow (its process died) is ended from the dialog state kept
    // with its attempt; a Call-ID alone cannot end a SIP dialog.
    const stored = parseStoredCall(call.providerState ?? null);
    if (stored && stored.phase !== 'ended') {
      await endStoredCall(await this.#userAgent(), stored, this.#options.reclaimWaitMs ?? 4_000, this.#logger.child({ callId: call.providerCallId }));
    }
  }

  async lookUp(call: PlacedCall): Promise<CallLookup> {
    const live = this.#calls.get(call.providerCallId);
    if (live) return { kind: 'live', answered: live.phase === 'answered' };
    const stored = parseStoredCall(call.providerState);
    const logger = this.#logger.child({ batchKey: call.batchKey, seq: call.seq, attempt: call.attemptNumber, callId: call.providerCallId });
    if (!stored || stored.phase === 'ended') {
      logger.warn({ hasState: call.providerState !== null }, 'sip:reclaim:no_dialog_state');
      return { kind: 'unknown' };
    }
    const verdict = await endStoredCall(await this.#userAgent(), stored, this.#options.reclaimWaitMs ?? 4_000, logger);
    logger.info({ phase: stored.phase, verdict }, 'sip:reclaim:done');
    const at = this.#context.clock.now();
    switch (verdict.kind) {
      case 'answered':
        return { kind: 'ended', event: { kind: 'ended', outcome: 'completed' }, at };
      case 'not_answered':
        return { kind: 'ended', event: { kind: 'ended', outcome: 'failed', reason: failureForStatus(verdict.status).reason }, at };
      case 'unknown':
        return { kind: 'unknown' };
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const calls = [...this.#calls.values()];
    await Promise.all(calls.map((call) => call.hangUp().catch((error: unknown) => this.#logger.warn({ err: error }, 'sip:call:hang_up_failed'))));
    for (const call of calls) call.dispose();
    this.#calls.clear();
    const ua = await this.#ua?.catch(() => null);
    await ua?.close();
  }

  async #userAgentForCall(): Promise<UserAgent> {
    try {
      return await this.#userAgent();
    } catch (error) {
      const { host, port } = this.#options.listen;
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ProviderCallError(`cannot listen for SIP on ${host}:${port} (${code}); give --sip-listen a free address`, 'provider_error', { cause: error });
    }
  }

  #userAgent(): Promise<UserAgent> {
    // Bound on first use: a process that never places a SIP call never takes port 5060.
    if (!this.#ua) {
      const { host, port } = this.#options.listen;
      const opening = (async () => {
        let ua: UserAgent | null = null;
        const transport = await openTransport({ host, port, logger: this.#logger, onMessage: (incoming) => ua?.receive(incoming) });
        ua = new UserAgent(transport, { timers: this.#timers, logger: this.#logger });
        this.#logger.info({ address: transport.address }, 'sip:user_agent:listening');
        return ua;
      })();
      this.#ua = opening;
      // A failed bind is retried by the next call rather than remembered forever.
      opening.catch(() => {
        if (this.#ua === opening) this.#ua = null;
      });
    }
    return this.#ua;
  }
}

function trunkKey(endpoint: Endpoint): string {
  return `${endpoint.transport}:${endpoint.host}:${endpoint.port}`;
}

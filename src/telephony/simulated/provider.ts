import { closeSync, openSync, writeSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../../domain/clock.js';
import type {
  CallEvent,
  CallEventSink,
  CallLookup,
  PlaceCallRequest,
  PlacedCall,
  Provider,
  ReportedCallEvent,
} from '../provider.js';
import { ProviderCallError } from '../provider.js';
import { scriptCall, type SimulatedScript } from './outcomes.js';

export interface SimulatedProviderOptions {
  clock: Clock;
  logger: Logger;
  seed: number;
  sink: CallEventSink;
  /** 1 = realistic durations, 0.01 = a hundred times shorter, 0 = every call ends at once. */
  timeScale: number;
  /**
   * Append-only file of every dial the far end accepted and every call end, one JSON object a
   * line. It is the far end's own record, so tests count double dials from it, not from redial's rows.
   */
  dialLogPath?: string;
}

interface TimelineStep {
  offsetMs: number;
  event: CallEvent;
}

interface LiveCall {
  placed: PlacedCall;
  timers: NodeJS.Timeout[];
}

/**
 * The built-in far end. It behaves like a carrier: it accepts or refuses a dial, then reports
 * initiated / answered / ended on its own timeline, and it can be asked about a call it accepted
 * earlier (its state is a pure function of the call and its dial time, so that survives a restart).
 */
export class SimulatedProvider implements Provider {
  readonly name = 'simulated';
  readonly #options: SimulatedProviderOptions;
  readonly #live = new Map<string, LiveCall>();
  readonly #dialLog: number | null;

  constructor(options: SimulatedProviderOptions) {
    this.#options = options;
    this.#dialLog = options.dialLogPath ? openSync(options.dialLogPath, 'a') : null;
  }

  async placeCall(request: PlaceCallRequest): Promise<{ providerCallId: string }> {
    const script = this.#script(request);
    if (script.kind === 'provider_error') {
      throw new ProviderCallError('simulated carrier error (503 Service Unavailable)', 'provider_error');
    }
    const dialedAt = this.#options.clock.now();
    const providerCallId = `sim_${request.batchKey}_${request.seq}_${request.attemptNumber}`;
    this.#log({ t: 'dial', at: dialedAt, call: providerCallId, batch: request.batchId, recipient: request.recipientId, attempt: request.attemptNumber, to: request.to });
    this.#follow({ ...request, providerCallId, dialedAt, providerState: null }, script, dialedAt);
    return { providerCallId };
  }

  async hangUp(call: { providerCallId: string }): Promise<void> {
    const live = this.#live.get(call.providerCallId);
    if (!live) return;
    this.#end(live);
    this.#log({ t: 'end', at: this.#options.clock.now(), call: call.providerCallId, how: 'hung_up' });
  }

  async lookUp(call: PlacedCall): Promise<CallLookup> {
    if (this.#live.has(call.providerCallId)) return { kind: 'live', answered: false };
    const script = this.#script(call);
    const now = this.#options.clock.now();
    const steps = this.#timeline(script, call.ringingTimeoutSecs);
    const last = steps[steps.length - 1];
    if (!last) return { kind: 'unknown' };
    const endsAt = call.dialedAt + last.offsetMs;
    if (endsAt <= now && last.event.kind === 'ended') {
      // The far end learns here that the process that followed this call died; its log records
      // the end when it happened, as a carrier's own records would.
      this.#log({ t: 'end', at: endsAt, call: call.providerCallId, how: last.event.outcome, reconciled: true });
      return { kind: 'ended', event: last.event, at: endsAt };
    }
    const answered = steps.some((step) => step.event.kind === 'answered' && call.dialedAt + step.offsetMs <= now);
    this.#follow(call, script, now);
    return { kind: 'live', answered };
  }

  async close(): Promise<void> {
    for (const live of this.#live.values()) this.#end(live);
    if (this.#dialLog !== null) closeSync(this.#dialLog);
  }

  #script(request: PlaceCallRequest): SimulatedScript {
    return scriptCall({
      seed: this.#options.seed,
      recipientId: request.recipientId,
      attemptNumber: request.attemptNumber,
      to: request.to,
      ringingTimeoutSecs: request.ringingTimeoutSecs,
    });
  }

  #timeline(script: SimulatedScript, ringingTimeoutSecs: number): TimelineStep[] {
    const ms = (secs: number) => Math.round(secs * 1000 * this.#options.timeScale);
    const initiated: TimelineStep = { offsetMs: 0, event: { kind: 'initiated' } };
    switch (script.kind) {
      case 'answer':
        return [
          initiated,
          { offsetMs: ms(script.ringSecs), event: { kind: 'answered' } },
          { offsetMs: ms(script.ringSecs + script.talkSecs), event: { kind: 'ended', outcome: 'completed' } },
        ];
      case 'voicemail':
        return [
          initiated,
          { offsetMs: ms(script.ringSecs), event: { kind: 'answered' } },
          { offsetMs: ms(script.ringSecs + script.talkSecs), event: { kind: 'ended', outcome: 'voicemail' } },
        ];
      case 'no_answer':
        return [initiated, { offsetMs: ms(ringingTimeoutSecs), event: { kind: 'ended', outcome: 'failed', reason: 'no_answer' } }];
      case 'busy':
      case 'invalid_number':
        return [initiated, { offsetMs: ms(script.afterSecs), event: { kind: 'ended', outcome: 'failed', reason: script.kind } }];
      case 'provider_error':
        return [];
    }
  }

  /** Reports the steps of the call's timeline still ahead of `from`, each at its time. */
  #follow(placed: PlacedCall, script: SimulatedScript, from: number): void {
    const live: LiveCall = { placed, timers: [] };
    this.#live.set(placed.providerCallId, live);
    const ahead = this.#timeline(script, placed.ringingTimeoutSecs).filter((step) => placed.dialedAt + step.offsetMs >= from);
    const byDelay = new Map<number, TimelineStep[]>();
    for (const step of ahead) {
      const delay = Math.max(0, placed.dialedAt + step.offsetMs - from);
      byDelay.set(delay, [...(byDelay.get(delay) ?? []), step]);
    }
    for (const [delay, steps] of byDelay) {
      const fire = () => this.#fire(live, steps);
      // setImmediate keeps a time scale of 0 fast: setTimeout's 1 ms floor would cap throughput.
      live.timers.push(delay === 0 ? (setImmediate(fire) as unknown as NodeJS.Timeout) : setTimeout(fire, delay));
    }
  }

  #fire(live: LiveCall, steps: TimelineStep[]): void {
    if (this.#live.get(live.placed.providerCallId) !== live) return;
    const at = this.#options.clock.now();
    const { batchKey, seq, attemptNumber, providerCallId } = live.placed;
    const events: ReportedCallEvent[] = steps.map((step) => ({ batchKey, seq, attemptNumber, providerCallId, event: step.event, at }));
    const ended = steps.find((step) => step.event.kind === 'ended');
    if (ended) {
      this.#end(live);
      this.#log({ t: 'end', at, call: providerCallId, how: ended.event.kind === 'ended' ? ended.event.outcome : 'ended' });
    }
    this.#options.sink.report(events);
  }

  #end(live: LiveCall): void {
    for (const timer of live.timers) {
      clearTimeout(timer);
      clearImmediate(timer as unknown as NodeJS.Immediate);
    }
    this.#live.delete(live.placed.providerCallId);
  }

  #log(entry: Record<string, unknown>): void {
    if (this.#dialLog !== null) writeSync(this.#dialLog, `${JSON.stringify(entry)}\n`);
  }
}

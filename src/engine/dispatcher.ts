/**
 * The dispatcher: lease due recipients → record the attempt (same transaction) → ask the
 * provider to dial → write what the provider reports, in group commits.
 *
 * Guarantees it keeps:
 * - An attempt is in the database before its provider is asked to dial, and a leased recipient
 *   is never leased again while its lease lives, so nobody is dialed twice.
 * - Provider reports are coalesced per attempt and written together (one transaction per flush),
 *   compare-and-set on status and lease: a call whose row moved on (cancelled, reclaimed) is hung
 *   up, never overwritten.
 * - Leases are renewed while calls are live; leases of a process that stopped renewing are
 *   reclaimed and reconciled with the provider (`reconcileReclaimed`).
 */
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import { coerceError } from '../domain/errors.js';
import { newRandomId } from '../domain/ids.js';
import { inFlightStatuses, type RecipientStatus } from '../domain/status.js';
import type { AttemptRef, PhoneNumber } from '../domain/types.js';
import type { AttemptToHangUp, CallChange, CallChangeResult, LeasedCall, Store } from '../store/store.js';
import type { CallEventSink, CarrierExchange, PlaceCallRequest, Provider, ReportedCallEvent } from '../telephony/provider.js';
import { ProviderCallError } from '../telephony/provider.js';
import type { ProviderRegistry } from '../telephony/registry.js';
import { CallChangeBuilder, type CallReport } from './call-changes.js';
import { DialContextCache, placeCallRequestOf, type DialContext } from './call-requests.js';
import { ExchangeWriter } from './exchange-writer.js';
import { UnownedReportWriter, reportOf } from './unowned-reports.js';

export interface DispatcherOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** This process's lease owner id; unique per process start. */
  owner: string;
  makeProviders: (sink: CallEventSink) => ProviderRegistry;
  /** How long a lease lives without renewal; a dead process's calls are reclaimed after this. */
  leaseTtlMs: number;
  /** Most recipients leased in one transaction. */
  leaseChunk: number;
  /** How often to look for due recipients when nothing woke the dispatcher. */
  pollIntervalMs: number;
  defaultRingingTimeoutSecs: number;
  /**
   * How long a call may last after its ringing timeout before the carrier is asked whether it
   * ended: a final callback that never arrived must not leave a recipient in flight for ever.
   */
  maxCallMs: number;
  /** With `simulate`, attempts are recorded with the simulated provider whatever the number says. */
  simulate: boolean;
}

interface LiveCall {
  ref: AttemptRef;
  batchId: string;
  /** Null only for a reclaimed call that can no longer be placed (its agent or provider is gone). */
  provider: Provider | null;
  /** The status as last written. */
  storedStatus: RecipientStatus;
  providerCallId: string | null;
  /** The number the call is placed from: a carrier's hang-up may need its credentials. */
  phoneNumber: PhoneNumber | null;
  /** What the provider was (or would be) asked to dial; null when the call cannot be placed. */
  request: PlaceCallRequest | null;
  dialedAt: number;
  /** When to ask the carrier about the call if it has not ended by then (`#checkOverdue`). */
  checkAfter: number;
}

/** Reports carry the attempt number: a late report of an earlier attempt must not touch the current one. */
type InboxItem = { key: string; attemptNumber: number } & ({ report: CallReport } | { ack: string });

/** Group commits smaller than this wait `coalesceMs` for more reports before the next one. */
const coalesceBelow = 16;
const coalesceMs = 5;

export class Dispatcher implements CallEventSink {
  readonly #o: DispatcherOptions;
  readonly #log: Logger;
  readonly #providers: ProviderRegistry;
  readonly #live = new Map<string, LiveCall>();
  readonly #contexts: DialContextCache<number>;
  #inbox: InboxItem[] = [];
  #flushScheduled = false;
  #flushing: Promise<void> = Promise.resolve();
  #leasing = false;
  #leaseAgain = false;
  #running = false;
  #pollTimer: NodeJS.Timeout | null = null;
  #renewTimer: NodeJS.Timeout | null = null;
  #idleWaiters: (() => void)[] = [];
  readonly #exchanges: ExchangeWriter;
  /** Changes in the last group commit. */
  #lastFlushSize = 0;
  /** Calls waiting for their phone number's next dial slot. */
  readonly #pacing = new Map<NodeJS.Timeout, LiveCall>();
  readonly #unowned: UnownedReportWriter;

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'dispatcher', owner: options.owner });
    this.#unowned = new UnownedReportWriter(options.store, options.clock, this.#log);
    this.#exchanges = new ExchangeWriter(options.store, this.#log);
    this.#contexts = new DialContextCache(options.store, options.clock, (batchKey) => options.store.batchGetByKey(batchKey));
    this.#providers = options.makeProviders(this);
  }

  get providers(): ProviderRegistry {
    return this.#providers;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#pollTimer = setInterval(() => this.wake(), this.#o.pollIntervalMs);
    this.#renewTimer = setInterval(() => void this.#maintain(), Math.max(50, Math.floor(this.#o.leaseTtlMs / 3)));
    void this.#maintain();
    this.wake();
  }

  /** Look for due recipients now (after a submit, a retry, or a call ending). */
  wake(): void {
    if (!this.#running) return;
    if (this.#leasing) {
      this.#leaseAgain = true;
      return;
    }
    this.#leasing = true;
    setImmediate(() => void this.#leaseLoop());
  }

  /**
   * Stops leasing, lets live calls finish for up to `drainMs`, writes everything reported, and
   * gives back the leases still held so another process can reclaim them at once.
   */
  async stop(drainMs: number): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    while (this.#leasing) await new Promise((resolve) => setTimeout(resolve, 5));
    // No new dials while draining: calls still waiting for a dial slot end as never dialed.
    for (const [timer, live] of this.#pacing) {
      clearTimeout(timer);
      if (this.#live.get(keyOf(live.ref)) === live) this.#notDialed(live, 'the process is stopping');
    }
    this.#pacing.clear();
    if (this.#live.size > 0) {
      this.#log.info({ liveCalls: this.#live.size, drainMs }, 'dispatcher:drain:waiting');
      await Promise.race([
        new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
        new Promise((resolve) => setTimeout(resolve, drainMs)),
      ]);
    }
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    await this.#flushNow();
    const released = await this.#o.store.leaseExpireAll(this.#o.owner, this.#o.clock.now());
    this.#log.info({ released, liveCalls: this.#live.size }, 'dispatcher:drain:done');
    this.#live.clear();
    await this.#providers.close();
    await this.#exchanges.flush();
  }

  /** Hangs up calls that were cancelled or deleted; calls held by other processes are theirs to end. */
  async hangUp(attempts: AttemptToHangUp[]): Promise<void> {
    await Promise.all(
      attempts.map(async (attempt) => {
        const key = keyOf(attempt);
        const live = this.#live.get(key);
        if (!live || live.ref.attemptNumber !== attempt.attemptNumber) return;
        this.#live.delete(key);
        await this.#hangUpLive(live);
      }),
    );
    this.#notifyIdle();
    this.wake();
  }

  /** The provider sink: providers call this with whatever they observed, in any order, any number of times. */
  report(events: ReportedCallEvent[]): void {
    for (const e of events) {
      this.#inbox.push({ key: keyOf(e), attemptNumber: e.attemptNumber, report: reportOf(e) });
      if (e.failsBatch) this.#unowned.failBatch(e.batchKey, e.failsBatch);
    }
    this.#scheduleFlush();
  }

  recordExchanges(exchanges: CarrierExchange[]): void {
    this.#exchanges.add(exchanges);
  }

  // ---- leasing and dialing

  async #leaseLoop(): Promise<void> {
    try {
      do {
        this.#leaseAgain = false;
        if (!this.#running) break;
        const now = this.#o.clock.now();
        const leased = await this.#o.store.recipientLeaseDue(
          this.#o.owner,
          now,
          now + this.#o.leaseTtlMs,
          this.#o.leaseChunk,
          this.#o.simulate ? 'simulated' : undefined,
        );
        if (leased.length > 0) {
          this.#log.debug({ count: leased.length }, 'dispatcher:lease:acquired');
          await this.#dialAll(leased);
          // A full chunk means there may be more due right now.
          if (leased.length === this.#o.leaseChunk) this.#leaseAgain = true;
        }
      } while (this.#leaseAgain && this.#running);
    } catch (error) {
      this.#log.error({ err: coerceError(error) }, 'dispatcher:lease:failed');
    } finally {
      this.#leasing = false;
    }
  }

  async #dialAll(leased: LeasedCall[]): Promise<void> {
    const pacedCalls = new Map<string, { intervalMs: number; calls: { live: LiveCall; provider: Provider; request: PlaceCallRequest }[] }>();
    for (const call of leased) {
      const context = await this.#context(call.batchKey);
      const provider = context ? this.#providers.forPhoneProvider(context.batch.phoneProvider) : null;
      if (!context || !context.agent || !provider) {
        await this.#cannotDial(call, context);
        continue;
      }
      const request = placeCallRequestOf(call, { ...context, agent: context.agent }, this.#o.defaultRingingTimeoutSecs);
      const live: LiveCall = {
        ref: call,
        batchId: call.batchId,
        provider,
        storedStatus: call.status,
        providerCallId: null,
        phoneNumber: context.phoneNumber,
        request,
        dialedAt: call.dialedAt,
        checkAfter: this.#checkAfter(call.dialedAt, request),
      };
      this.#live.set(keyOf(call), live);
      // The simulator is not the carrier the number belongs to: its calls are not paced.
      const pace = this.#o.simulate ? null : pacingOf(context.phoneNumber);
      if (!pace) {
        this.#place(live, provider, request);
        continue;
      }
      let paced = pacedCalls.get(pace.key);
      if (!paced) pacedCalls.set(pace.key, (paced = { intervalMs: pace.intervalMs, calls: [] }));
      paced.calls.push({ live, provider, request });
    }
    for (const [key, { intervalMs, calls }] of pacedCalls) await this.#placePaced(key, intervalMs, calls);
  }

  /**
   * Keeps a phone number's calls per second across every process: slots are reserved in the
   * database, and each call waits for its own. A call cancelled while it waits is never placed.
   */
  async #placePaced(key: string, intervalMs: number, calls: { live: LiveCall; provider: Provider; request: PlaceCallRequest }[]): Promise<void> {
    const now = this.#o.clock.now();
    let first: number;
    try {
      first = await this.#o.store.dialSlotsReserve(key, intervalMs, calls.length, now);
    } catch (error) {
      this.#log.error({ err: coerceError(error), pacingKey: key, calls: calls.length }, 'dispatcher:pacing:failed');
      for (const { live } of calls) this.#notDialed(live, 'no dial slot could be reserved');
      return;
    }
    calls.forEach(({ live, provider, request }, index) => {
      const delay = first + index * intervalMs - now;
      if (delay <= 0) {
        this.#place(live, provider, request);
        return;
      }
      const timer = setTimeout(() => {
        this.#pacing.delete(timer);
        if (this.#live.get(keyOf(live.ref)) === live) this.#place(live, provider, request);
      }, delay);
      this.#pacing.set(timer, live);
    });
  }

  /**
   * Ends an attempt that was recorded but never handed to the carrier (its dial slot never came:
   * the process is stopping, or pacing failed). `provider_error` is transient, so a retry dials it.
   */
  #notDialed(live: LiveCall, why: string): void {
    this.#log.warn({ batchId: live.batchId, seq: live.ref.seq, attempt: live.ref.attemptNumber, why }, 'dispatcher:call:not_dialed');
    const key = keyOf(live.ref);
    this.#inbox.push({ key, attemptNumber: live.ref.attemptNumber, report: { event: { kind: 'ended', outcome: 'failed', reason: 'provider_error' }, at: this.#o.clock.now() } });
    this.#scheduleFlush();
  }

  #place(live: LiveCall, provider: Provider, request: PlaceCallRequest): void {
    const key = keyOf(live.ref);
    const attemptNumber = live.ref.attemptNumber;
    provider.placeCall(request).then(
      ({ providerCallId }) => {
        live.providerCallId = providerCallId;
        if (this.#live.get(key) !== live) {
          // Cancelled (or lost) while the carrier was still answering the dial: now that the
          // call has an id, end it.
          void this.#hangUpLive(live);
          return;
        }
        this.#inbox.push({ key, attemptNumber, ack: providerCallId });
        this.#scheduleFlush();
      },
      (error: unknown) => {
        const failure = error instanceof ProviderCallError ? error : null;
        const reason = failure?.reason ?? 'provider_error';
        (failure ? this.#log.info : this.#log.error).call(
          this.#log,
          { err: coerceError(error), batchId: live.batchId, seq: live.ref.seq, attempt: live.ref.attemptNumber, reason },
          'dispatcher:call:refused',
        );
        this.#inbox.push({ key, attemptNumber, report: { event: { kind: 'ended', outcome: 'failed', reason }, at: this.#o.clock.now() } });
        this.#scheduleFlush();
        if (failure?.failsBatch) this.#unowned.failBatch(live.ref.batchKey, failure.message);
      },
    );
  }

  async #cannotDial(call: LeasedCall, context: DialContext | null): Promise<void> {
    const provider = context?.batch.phoneProvider ?? 'unknown';
    const reason = !context?.agent
      ? `agent '${context?.batch.agentId}' no longer exists; create the agent again and submit a new batch`
      : `this redial process cannot place '${provider}' calls; run it with --simulate to use the simulator`;
    this.#log.error({ batchId: call.batchId, provider }, `dispatcher:batch:cannot_dial: ${reason}`);
    await this.#o.store.batchFail(call.batchKey, reason, this.#o.clock.now());
    const builder = new CallChangeBuilder(call, call.status);
    builder.apply({ event: { kind: 'ended', outcome: 'failed', reason: 'provider_error' }, at: this.#o.clock.now() }, () => '');
    await this.#o.store.callChangesApply(this.#o.owner, [builder.change], this.#o.clock.now());
  }

  #context(batchKey: number): Promise<DialContext | null> {
    return this.#contexts.get(batchKey);
  }

  // ---- writing what providers report

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    const run = () => {
      this.#flushScheduled = false;
      this.#flushing = this.#flushing.then(() => this.#flush());
    };
    // Carrier callbacks arrive one HTTP request at a time: when the last commit was small, wait a
    // few milliseconds so that one commit (one WAL sync) carries many of them. A busy dispatcher
    // (the simulator, or many calls ending) flushes at once.
    if (this.#lastFlushSize < coalesceBelow) setTimeout(run, coalesceMs);
    else setImmediate(run);
  }

  async #flushNow(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flush());
    await this.#flushing;
  }

  async #flush(): Promise<void> {
    const inbox = this.#inbox;
    this.#inbox = [];
    if (inbox.length === 0) return;
    const builders = new Map<string, { live: LiveCall; builder: CallChangeBuilder }>();
    const unowned: { ref: AttemptRef; report: CallReport }[] = [];
    for (const item of inbox) {
      const live = this.#live.get(item.key);
      if (!live || live.ref.attemptNumber !== item.attemptNumber) {
        // Not ours (any more): a callback for a call another process follows, or a late one.
        if ('report' in item) unowned.push({ ref: refOf(item.key, item.attemptNumber), report: item.report });
        continue;
      }
      let entry = builders.get(item.key);
      if (!entry) {
        entry = { live, builder: new CallChangeBuilder(live.ref, live.storedStatus) };
        builders.set(item.key, entry);
      }
      if ('ack' in item) entry.builder.acknowledge(item.ack);
      else entry.builder.apply(item.report, () => newRandomId('conv'));
    }
    if (unowned.length > 0) await this.#writeUnowned(unowned);
    const changes = [...builders.values()].filter(({ builder }) => builder.dirty).map(({ builder }) => builder.change);
    this.#lastFlushSize = changes.length;
    if (changes.length === 0) return;
    const now = this.#o.clock.now();
    const result = await this.#write(changes, now);
    if (result === null || result.unwritten.length > 0) {
      // The database was unreachable for some or all (a restart): keep those reports and try
      // again shortly rather than lose an outcome.
      const again = result === null ? null : new Set(result.unwritten.map(keyOf));
      this.#inbox = inbox.filter((item) => again === null || again.has(item.key)).concat(this.#inbox);
      setTimeout(() => this.#scheduleFlush(), 500);
      if (result === null) return;
    }
    let ended = 0;
    for (const change of result.applied) {
      const key = keyOf(change);
      const live = this.#live.get(key);
      if (!live) continue;
      live.storedStatus = change.toStatus;
      if (change.endedAt !== undefined) {
        this.#live.delete(key);
        ended++;
      }
    }
    const movedByOthers = await this.#movedByOthers(result.lost);
    for (const change of result.lost) {
      const key = keyOf(change);
      const live = this.#live.get(key);
      if (!live) continue;
      const stored = movedByOthers.get(key);
      if (stored !== undefined) {
        // A callback that reached another process moved the row on; the call is still ours.
        live.storedStatus = stored;
        this.#inbox.push(...inbox.filter((item) => item.key === key && item.attemptNumber === change.attemptNumber));
        this.#scheduleFlush();
        continue;
      }
      // The row moved on without us (cancelled, deleted, or our lease was taken): end our side.
      this.#log.info({ batchId: live.batchId, seq: change.seq, attempt: change.attemptNumber }, 'dispatcher:call:lost_race');
      this.#live.delete(key);
      void this.#hangUpLive(live);
      ended++;
    }
    for (const batchKey of result.completedBatchKeys) this.#log.info({ batchKey }, 'dispatcher:batch:completed');
    if (ended > 0) {
      this.#notifyIdle();
      this.wake();
    }
  }

  async #writeUnowned(reports: { ref: AttemptRef; report: CallReport }[]): Promise<void> {
    try {
      if ((await this.#unowned.apply(reports)) > 0) this.wake();
    } catch (error) {
      this.#log.error({ err: coerceError(error), reports: reports.length }, 'dispatcher:unowned:write_failed');
    }
  }

  /**
   * Of the changes that lost their compare-and-set, those whose row is still this attempt, still
   * live and leased here, but at another status than we believed: another process wrote a
   * callback for it. Returns their stored status; the rest were cancelled or taken over.
   */
  async #movedByOthers(lost: CallChange[]): Promise<Map<string, RecipientStatus>> {
    const moved = new Map<string, RecipientStatus>();
    for (const change of lost) {
      const live = this.#live.get(keyOf(change));
      if (!live) continue;
      const found = await this.#o.store.attemptGet(change.batchKey, change.seq, change.attemptNumber).catch(() => null);
      const status = found?.recipient.status;
      if (
        status !== undefined &&
        found!.recipient.attemptCount === change.attemptNumber &&
        status !== live.storedStatus &&
        (inFlightStatuses as readonly RecipientStatus[]).includes(status)
      ) {
        moved.set(keyOf(change), status);
      }
    }
    return moved;
  }

  /**
   * Writes a group commit. If it fails, each change is tried alone: a change the database refuses
   * every time is dropped from this process (its lease then expires and reconciliation settles it)
   * instead of blocking every other outcome behind it; one that failed because the database was
   * unreachable comes back in `unwritten`. Null when nothing could be written at all.
   */
  async #write(changes: CallChange[], now: number): Promise<(CallChangeResult & { unwritten: CallChange[] }) | null> {
    try {
      return { ...(await this.#o.store.callChangesApply(this.#o.owner, changes, now)), unwritten: [] };
    } catch (error) {
      this.#log.error({ err: coerceError(error), changes: changes.length }, 'dispatcher:flush:failed');
      if (changes.length === 1) return null;
    }
    const merged: CallChangeResult = { applied: [], lost: [], completedBatchKeys: [] };
    const refused: CallChange[] = [];
    const unwritten: CallChange[] = [];
    for (const change of changes) {
      try {
        const one = await this.#o.store.callChangesApply(this.#o.owner, [change], now);
        merged.applied.push(...one.applied);
        merged.lost.push(...one.lost);
        merged.completedBatchKeys.push(...one.completedBatchKeys);
      } catch (error) {
        (isRefusedData(error) ? refused : unwritten).push(change);
      }
    }
    if (unwritten.length > 0 && merged.applied.length === 0 && merged.lost.length === 0) return null;
    for (const change of refused) {
      this.#log.error({ batchKey: change.batchKey, seq: change.seq, attempt: change.attemptNumber }, 'dispatcher:flush:change_refused');
      this.#live.delete(keyOf(change));
    }
    return { ...merged, unwritten };
  }

  async #hangUpLive(live: LiveCall): Promise<void> {
    if (live.providerCallId === null || live.provider === null) return;
    try {
      await live.provider.hangUp({ providerCallId: live.providerCallId, phoneNumber: live.phoneNumber });
    } catch (error) {
      this.#log.warn({ err: coerceError(error), batchId: live.batchId, seq: live.ref.seq }, 'dispatcher:call:hang_up_failed');
    }
  }

  #notifyIdle(): void {
    if (this.#live.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // ---- leases: renew ours, reclaim the dead's

  async #maintain(): Promise<void> {
    try {
      const now = this.#o.clock.now();
      if (this.#live.size > 0) {
        // Only calls this process follows are renewed; a leased row it lost track of expires and
        // is reconciled like a dead process's. Calls leased while this runs are checked next time.
        const following = [...this.#live];
        const held = await this.#o.store.leaseRenew(this.#o.owner, now, now + this.#o.leaseTtlMs, following.map(([, live]) => live.ref));
        for (const [key, live] of following) {
          if (held.has(key) || this.#live.get(key) !== live) continue;
          this.#log.info({ batchId: live.batchId, seq: live.ref.seq }, 'dispatcher:lease:lost');
          this.#live.delete(key);
          void this.#hangUpLive(live);
        }
        this.#notifyIdle();
        await this.#checkOverdue(now);
      }
      if (this.#running) await this.#reclaim(now);
    } catch (error) {
      this.#log.error({ err: coerceError(error) }, 'dispatcher:lease:maintenance_failed');
    }
  }

  #checkAfter(dialedAt: number, request: PlaceCallRequest): number {
    return dialedAt + request.ringingTimeoutSecs * 1000 + this.#o.maxCallMs;
  }

  /**
   * Asks the carrier about calls that should have ended long ago: their final callback may have
   * been lost. An ended call is reported; a live one is asked about again a max call length later.
   */
  async #checkOverdue(now: number): Promise<void> {
    for (const [key, live] of this.#live) {
      if (now < live.checkAfter || live.providerCallId === null || !live.provider || !live.request) continue;
      live.checkAfter = now + this.#o.maxCallMs;
      try {
        const found = await this.#o.store.attemptGet(live.ref.batchKey, live.ref.seq, live.ref.attemptNumber);
        const placed = { ...live.request, providerCallId: live.providerCallId, dialedAt: live.dialedAt, providerState: found?.attempt.providerState ?? null };
        const lookup = await live.provider.lookUp(placed);
        this.#log.warn({ batchId: live.batchId, seq: live.ref.seq, attempt: live.ref.attemptNumber, lookup: lookup.kind }, 'dispatcher:call:overdue');
        if (lookup.kind === 'ended') {
          this.#inbox.push({ key, attemptNumber: live.ref.attemptNumber, report: { event: lookup.event, providerCallId: live.providerCallId, at: lookup.at } });
          this.#scheduleFlush();
        }
      } catch (error) {
        this.#log.warn({ err: coerceError(error), batchId: live.batchId, seq: live.ref.seq }, 'dispatcher:call:overdue_lookup_failed');
      }
    }
  }

  async #reclaim(now: number): Promise<void> {
    const reclaimed = await this.#o.store.leaseReclaimExpired(this.#o.owner, now, now + this.#o.leaseTtlMs, this.#o.leaseChunk);
    if (reclaimed.length === 0) return;
    this.#log.warn({ count: reclaimed.length }, 'dispatcher:lease:reclaimed');
    for (const call of reclaimed) await this.#reconcile(call);
    this.#scheduleFlush();
  }

  /**
   * A reclaimed attempt is asked about, never dialed again: the provider either knows how it
   * ended, or still has it live (we adopt it), or it cannot say — then it ends `dispatch_uncertain`
   * and only a user's retry dials that recipient again.
   */
  async #reconcile(call: LeasedCall): Promise<void> {
    const key = keyOf(call);
    const context = await this.#context(call.batchKey);
    const provider = context ? this.#providers.forPhoneProvider(context.batch.phoneProvider) : null;
    const request = context?.agent ? placeCallRequestOf(call, { ...context, agent: context.agent }, this.#o.defaultRingingTimeoutSecs) : null;
    this.#live.set(key, {
      ref: call,
      batchId: call.batchId,
      provider,
      storedStatus: call.status,
      providerCallId: call.providerCallId,
      phoneNumber: context?.phoneNumber ?? null,
      request,
      dialedAt: call.dialedAt,
      checkAfter: request ? this.#checkAfter(call.dialedAt, request) : Number.POSITIVE_INFINITY,
    });
    const report = (event: CallReport['event'], at: number): void => {
      this.#inbox.push({ key, attemptNumber: call.attemptNumber, report: { event, providerCallId: call.providerCallId ?? undefined, at } });
    };
    const uncertain = (): void => report({ kind: 'ended', outcome: 'failed', reason: 'dispatch_uncertain' }, this.#o.clock.now());
    if (call.providerCallId === null || !provider || !request) {
      uncertain();
      return;
    }
    try {
      const placed = { ...request, providerCallId: call.providerCallId, dialedAt: call.dialedAt, providerState: call.providerState };
      const lookup = await provider.lookUp(placed);
      this.#log.info({ batchId: call.batchId, seq: call.seq, attempt: call.attemptNumber, lookup: lookup.kind }, 'dispatcher:call:reconciled');
      if (lookup.kind === 'ended') report(lookup.event, lookup.at);
      else if (lookup.kind === 'live' && lookup.answered) report({ kind: 'answered' }, this.#o.clock.now());
      else if (lookup.kind === 'unknown') uncertain();
    } catch (error) {
      this.#log.warn({ err: coerceError(error), batchId: call.batchId, seq: call.seq }, 'dispatcher:call:lookup_failed');
      uncertain();
    }
  }
}

/**
 * Whether the database refused a change for what it contains (a constraint or data error: it
 * would refuse it every time), as opposed to being unreachable, restarting or busy.
 */
function isRefusedData(error: unknown): boolean {
  const code = String((error as { code?: unknown }).code ?? '');
  return /^2[23]/.test(code) || code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH';
}

function keyOf(ref: { batchKey: number; seq: number }): string {
  return `${ref.batchKey}:${ref.seq}`;
}

function refOf(key: string, attemptNumber: number): AttemptRef {
  const [batchKey, seq] = key.split(':').map(Number);
  return { batchKey: batchKey!, seq: seq!, attemptNumber };
}

/** A phone number's calls-per-second limit as a pacing key and slot interval; null when it has none. */
function pacingOf(phoneNumber: PhoneNumber | null): { key: string; intervalMs: number } | null {
  const cps = phoneNumber?.config.calls_per_second;
  if (!phoneNumber || typeof cps !== 'number' || !(cps > 0)) return null;
  return { key: `phone:${phoneNumber.id}`, intervalMs: Math.ceil(1000 / cps) };
}

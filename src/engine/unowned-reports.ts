/**
 * Writes call reports for attempts this process does not follow: a carrier's callback that
 * reached an API-only process, or a worker other than the one that placed the call, or a late
 * report after this process let the attempt go. The row is read, the reports run through the
 * state machine from what is stored, and the change is a compare-and-set that ignores who holds
 * the lease; the process that holds it notices the move at its next write (see the dispatcher).
 */
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import { coerceError } from '../domain/errors.js';
import { newRandomId } from '../domain/ids.js';
import { inFlightStatuses, type RecipientStatus } from '../domain/status.js';
import type { AttemptRef } from '../domain/types.js';
import type { CallChange, Store } from '../store/store.js';
import type { CallEventSink, CarrierExchange, ReportedCallEvent } from '../telephony/provider.js';
import { CallChangeBuilder, type CallReport } from './call-changes.js';
import type { ExchangeWriter } from './exchange-writer.js';

export interface UnownedReport {
  ref: AttemptRef;
  report: CallReport;
}

const attemptsPerWrite = 3;

export class UnownedReportWriter {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Applies the reports; returns the number of attempts whose row changed. */
  async apply(reports: UnownedReport[]): Promise<number> {
    const byAttempt = new Map<string, UnownedReport[]>();
    for (const item of reports) {
      const key = `${item.ref.batchKey}:${item.ref.seq}:${item.ref.attemptNumber}`;
      byAttempt.set(key, [...(byAttempt.get(key) ?? []), item]);
    }
    let changed = 0;
    for (const items of byAttempt.values()) {
      // A lost compare-and-set means the row moved between our read and our write: read again.
      for (let round = 0; round < attemptsPerWrite; round++) {
        const change = await this.#changeOf(items);
        if (!change) break;
        const result = await this.store.callChangesApplyUnowned([change], this.clock.now());
        if (result.applied.length > 0) {
          changed++;
          break;
        }
      }
    }
    return changed;
  }

  async #changeOf(items: UnownedReport[]): Promise<CallChange | null> {
    const { ref } = items[0]!;
    const found = await this.store.attemptGet(ref.batchKey, ref.seq, ref.attemptNumber);
    if (!found || found.recipient.attemptCount !== ref.attemptNumber) return null;
    const status: RecipientStatus = found.recipient.status;
    if (!(inFlightStatuses as readonly RecipientStatus[]).includes(status)) return null;
    const builder = new CallChangeBuilder(ref, status);
    for (const item of items) builder.apply(item.report, () => newRandomId('conv'));
    return builder.dirty ? builder.change : null;
  }

  /** Fails a batch that no call of can succeed (a provider said so); in the background, logged. */
  failBatch(batchKey: number, reason: string): void {
    this.store
      .batchFail(batchKey, reason, this.clock.now())
      .then((failed) => failed && this.logger.error({ batchKey, reason }, 'batch:failed'))
      .catch((error: unknown) => this.logger.error({ err: coerceError(error), batchKey }, 'batch:fail_failed'));
  }

  /** A sink for a process with no dispatcher: reports and exchanges go straight to the store. */
  sink(exchanges: ExchangeWriter): CallEventSink {
    return {
      report: (events: ReportedCallEvent[]) => {
        for (const e of events) if (e.failsBatch) this.failBatch(e.batchKey, e.failsBatch);
        const reports = events.map((e) => ({ ref: e, report: reportOf(e) }));
        this.apply(reports).catch((error: unknown) => this.logger.error({ err: coerceError(error) }, 'callbacks:write_failed'));
      },
      recordExchanges: (recorded: CarrierExchange[]) => exchanges.add(recorded),
    };
  }
}

export function reportOf(e: ReportedCallEvent): CallReport {
  return { event: e.event, providerCallId: e.providerCallId, at: e.at, ...(e.providerState ? { providerState: e.providerState } : {}) };
}

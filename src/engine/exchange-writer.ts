/**
 * Writes carrier exchanges in batches. They are for debugging, so a quarter of a second of delay
 * costs nothing, while a transaction per exchange (each a WAL sync on SQLite) cost more than
 * everything else a carrier call does.
 */
import type { Logger } from 'pino';
import { coerceError } from '../domain/errors.js';
import type { CarrierExchange } from '../domain/types.js';
import type { Store } from '../store/store.js';

const flushDelayMs = 250;

export class ExchangeWriter {
  #pending: CarrierExchange[] = [];
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  add(exchanges: CarrierExchange[]): void {
    this.#pending.push(...exchanges);
    // Unref'd: buffered debugging data must not keep a process alive; `flush` writes the rest.
    this.#timer ??= setTimeout(() => void this.flush(), flushDelayMs).unref();
  }

  /** Writes what is buffered; resolves once it is written (or failed and was logged). */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length > 0) {
      this.#writing = this.#writing.then(() =>
        this.store.exchangesAppend(batch).catch((error: unknown) => this.logger.warn({ err: coerceError(error), count: batch.length }, 'exchanges:write_failed')),
      );
    }
    return this.#writing;
  }
}

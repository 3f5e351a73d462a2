/**
 * Normalises many phone numbers at once, spread over worker threads. libphonenumber-js takes
 * about 14 µs to parse and validate one number here (it builds its RegExps on every call), so
 * 100,000 recipients cost 1.4 s on one thread; a submit that large is split between the main
 * thread and the workers. Small lists stay on the main thread, where a worker round trip would
 * cost more than it saves.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CountryCode } from 'libphonenumber-js';
import { toE164 } from '../domain/phone.js';

const parallelFrom = 4_000;
// Under tsx (tests) this module is TypeScript, and so is its worker; workers inherit tsx's --import.
const workerUrl = new URL(import.meta.url.endsWith('.ts') ? './phone-worker.ts' : './phone-worker.js', import.meta.url);

interface Pending {
  resolve: (results: (string | null)[]) => void;
  reject: (error: Error) => void;
}

export class PhoneNormaliser {
  readonly #workerCount: number;
  #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;

  constructor(workerCount = Math.max(1, Math.min(3, availableParallelism() - 1))) {
    this.#workerCount = workerCount;
  }

  async normaliseAll(texts: (string | null)[], country: CountryCode | undefined): Promise<(string | null)[]> {
    const local = (slice: (string | null)[]) => slice.map((text) => (text === null ? null : toE164(text, country)));
    if (texts.length < parallelFrom || this.#workerCount === 0) return local(texts);
    const workers = this.#ensureWorkers();
    const shares = workers.length + 1;
    const size = Math.ceil(texts.length / shares);
    const remote = workers.map((worker, index) => {
      const slice = texts.slice((index + 1) * size, (index + 2) * size);
      // A worker that died costs speed, never a submit: its share is done here instead.
      return this.#send(worker, slice, country).catch(() => local(slice));
    });
    const mine = local(texts.slice(0, size));
    return mine.concat(...(await Promise.all(remote)));
  }

  async close(): Promise<void> {
    const workers = this.#workers;
    this.#workers = [];
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  #ensureWorkers(): Worker[] {
    if (this.#workers.length === 0) {
      for (let i = 0; i < this.#workerCount; i++) {
        const worker = new Worker(workerUrl);
        worker.unref();
        worker.on('message', (message: { id: number; results: (string | null)[] }) => {
          this.#pending.get(message.id)?.resolve(message.results);
          this.#pending.delete(message.id);
        });
        worker.on('error', (error) => {
          for (const pending of this.#pending.values()) pending.reject(error);
          this.#pending.clear();
          this.#workers = this.#workers.filter((other) => other !== worker);
        });
        this.#workers.push(worker);
      }
    }
    return this.#workers;
  }

  #send(worker: Worker, texts: (string | null)[], country: CountryCode | undefined): Promise<(string | null)[]> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, texts, country });
    });
  }
}

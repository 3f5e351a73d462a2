/**
 * Retry of a large, finished batch, straight against the store: the batch is written with
 * `batchSubmit`, its recipients are then marked finished with one UPDATE (every fifth one
 * failed with `no_answer`, the rest completed, spread evenly so that every page of the table
 * holds rows to re-queue), and `batchRetry` is timed.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { markFinishedSql, retryBatchId, submitRetryBatch } from './workload.js';

export interface RetryResult {
  recipients: number;
  failed: number;
  /** One figure per repetition (the finished state is restored between them). */
  retryMs: number[];
  requeued: number;
  submitMs: number;
  markMs: number;
  dbBytes: number;
}

const markFinished = markFinishedSql('?');

export async function benchRetry(options: { dataDir: string; recipients: number; repetitions: number }): Promise<RetryResult> {
  const filename = join(options.dataDir, 'retry.db');
  const store = openSqliteStore({ filename });
  try {
    const { batchKey, submitMs } = await submitRetryBatch(store, options.recipients, 'retry bench');
    let started = 0;

    // A second connection, as another process would be: mark the outcome, then checkpoint so
    // that the timed retry does not also pay for copying this UPDATE's pages out of the WAL.
    const db = new Database(filename);
    db.pragma('busy_timeout = 10000');
    const mark = (): number => {
      const t = performance.now();
      db.transaction(() => {
        db.prepare(markFinished).run(batchKey);
        db.prepare(`UPDATE batches SET status = 'completed', total_calls_dispatched = total_calls_scheduled, total_calls_finished = total_calls_scheduled WHERE key = ?`).run(batchKey);
      })();
      db.pragma('wal_checkpoint(TRUNCATE)');
      return performance.now() - t;
    };
    const failed = (): number =>
      (db.prepare(`SELECT count(*) AS n FROM recipients WHERE batch_key = ? AND status = 'failed'`).get(batchKey) as { n: number }).n;

    let markMs = 0;
    const retryMs: number[] = [];
    let requeued = 0;
    let failedCount = 0;
    try {
      for (let rep = 0; rep < options.repetitions; rep++) {
        markMs = mark();
        failedCount = failed();
        started = performance.now();
        const result = await store.batchRetry('default', retryBatchId, Date.now());
        retryMs.push(performance.now() - started);
        if (result.kind !== 'done') throw new Error(`retry bench: batchRetry was ${result.kind}`);
        if (result.requeued !== failedCount) throw new Error(`retry bench: requeued ${result.requeued}, expected ${failedCount}`);
        requeued = result.requeued;
      }
      const { bytes } = db.prepare(`SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()`).get() as { bytes: number };
      return { recipients: options.recipients, failed: failedCount, retryMs, requeued, submitMs, markMs, dbBytes: bytes };
    } finally {
      db.close();
    }
  } finally {
    await store.close();
  }
}


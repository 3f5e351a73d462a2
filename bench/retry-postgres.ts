/**
 * Retry of a large, finished batch on PostgreSQL, straight against the store: the twin of
 * `retry.ts`. The batch is written with `batchSubmit` (one transaction, the store's unnest
 * insert), its recipients are then marked finished with one UPDATE on another connection (every
 * fifth one failed with `no_answer`, the rest completed, spread evenly over the table), the table
 * is vacuumed and checkpointed so the timed statement pays neither for the dead row versions nor
 * for the dirty pages that UPDATE left, and `batchRetry` is timed. Between repetitions only the
 * re-queued rows are put back (failed, no_answer) and the batch back to completed, then vacuumed
 * and checkpointed again.
 */
import type pg from 'pg';
import { openPostgresStore } from '../src/store/postgres/index.js';
import { backendCpu, connect, cpuBetween, urlWithSchema } from './postgres.js';
import { markFinishedSql, retryBatchId, submitRetryBatch } from './workload.js';

export interface PostgresRetryResult {
  recipients: number;
  failed: number;
  /** One figure per repetition. */
  retryMs: number[];
  /** Server CPU seconds of the store's backends during each timed batchRetry (null: not readable). */
  retryBackendCpu: (number | null)[];
  requeued: number;
  submitMs: number;
  markMs: number;
  /** VACUUM (ANALYZE) and CHECKPOINT after marking, once. */
  settleMs: number;
  checkpointed: boolean;
  /** recipients table with its indexes, and the whole schema. */
  recipientsBytes: number;
  schemaBytes: number;
}

const markFinished = markFinishedSql('$1');

const restoreFailed = `UPDATE recipients SET status = 'failed', reason = 'no_answer' WHERE batch_key = $1 AND status = 'pending'`;

const batchFinished = `
UPDATE batches SET status = 'completed', status_reason = NULL,
  total_calls_dispatched = total_calls_scheduled, total_calls_finished = total_calls_scheduled
WHERE key = $1`;

export async function benchRetryPostgres(options: { schema: string; recipients: number; repetitions: number }): Promise<PostgresRetryResult> {
  const store = await openPostgresStore({ connectionString: urlWithSchema(options.schema), schema: options.schema });
  // Another connection, as another process would be: marks the outcome and reads counts.
  const db = await connect(options.schema);
  try {
    const { batchKey, submitMs } = await submitRetryBatch(store, options.recipients, 'retry bench (postgres)');
    let started = 0;

    started = performance.now();
    await inTransaction(db, async () => {
      await db.query(markFinished, [batchKey]);
      await db.query(batchFinished, [batchKey]);
    });
    const markMs = performance.now() - started;
    started = performance.now();
    const checkpointed = await settle(db);
    const settleMs = performance.now() - started;

    const failedCount = async (): Promise<number> =>
      Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM recipients WHERE batch_key = $1 AND status = 'failed'`, [batchKey])).rows[0]!.n);

    const retryMs: number[] = [];
    const retryBackendCpu: (number | null)[] = [];
    let requeued = 0;
    let failed = 0;
    for (let rep = 0; rep < options.repetitions; rep++) {
      if (rep > 0) {
        await inTransaction(db, async () => {
          await db.query(restoreFailed, [batchKey]);
          await db.query(batchFinished, [batchKey]);
        });
        await settle(db);
      }
      failed = await failedCount();
      const cpuBefore = await backendCpu(db, options.schema);
      started = performance.now();
      const result = await store.batchRetry('default', retryBatchId, Date.now());
      retryMs.push(performance.now() - started);
      retryBackendCpu.push(cpuBetween(cpuBefore, await backendCpu(db, options.schema)));
      if (result.kind !== 'done') throw new Error(`retry bench (postgres): batchRetry was ${result.kind}`);
      if (result.requeued !== failed) throw new Error(`retry bench (postgres): requeued ${result.requeued}, expected ${failed}`);
      requeued = result.requeued;
    }
    const sizes = (
      await db.query<{ recipients: string; schema: string }>(
        `SELECT pg_total_relation_size('recipients') AS recipients,
           (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r') AS schema`,
        [options.schema],
      )
    ).rows[0]!;
    return {
      recipients: options.recipients,
      failed,
      retryMs,
      retryBackendCpu,
      requeued,
      submitMs,
      markMs,
      settleMs,
      checkpointed,
      recipientsBytes: Number(sizes.recipients),
      schemaBytes: Number(sizes.schema),
    };
  } finally {
    await db.end();
    await store.close();
  }
}

async function inTransaction(db: pg.Client, work: () => Promise<void>): Promise<void> {
  await db.query('BEGIN');
  try {
    await work();
    await db.query('COMMIT');
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * What a batch finished hours ago looks like: dead row versions vacuumed away, statistics fresh,
 * dirty pages written. CHECKPOINT needs superuser or pg_checkpoint; without it, false.
 */
async function settle(db: pg.Client): Promise<boolean> {
  await db.query('VACUUM (ANALYZE) recipients');
  await db.query('VACUUM (ANALYZE) batches');
  try {
    await db.query('CHECKPOINT');
    return true;
  } catch {
    return false;
  }
}

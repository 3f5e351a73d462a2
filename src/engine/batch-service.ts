import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import { batchNotFound, RedialError, validationError } from '../domain/errors.js';
import { countryOf } from '../domain/phone.js';
import { validateSubmission } from '../domain/submission.js';
import type { Batch, BatchEvent, CarrierExchange, PhoneNumber, Recipient } from '../domain/types.js';
import type { SubmitBody } from '../domain/wire/submit.js';
import type { AttemptToHangUp, Page, Store } from '../store/store.js';
import type { PhoneNormaliser } from './phone-normaliser.js';

/** What the batch service needs from the dispatcher running in this process (if any). */
export interface DispatchControl {
  wake(): void;
  hangUp(attempts: AttemptToHangUp[]): Promise<void>;
  canDial(phoneNumber: PhoneNumber | null): boolean;
  /** Every call goes to the simulator, so a WhatsApp batch needs no registered WhatsApp number. */
  simulating: boolean;
}

export interface BatchServiceOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  dispatch: DispatchControl;
  defaultConcurrency: number;
  phoneNormaliser: PhoneNormaliser;
}

export class BatchService {
  readonly #o: BatchServiceOptions;

  constructor(options: BatchServiceOptions) {
    this.#o = options;
  }

  async submit(workspaceId: string, body: SubmitBody, idempotencyKey: string | null): Promise<Batch> {
    const { store } = this.#o;
    const requestHash = idempotencyKey === null ? null : createHash('sha256').update(canonicalJson(body)).digest('hex');
    // A replay returns what the first request created, even if the agent or number changed since.
    if (idempotencyKey !== null) {
      const earlier = await store.batchGetByIdempotencyKey(workspaceId, idempotencyKey);
      if (earlier) return this.#replayed(idempotencyKey, earlier, requestHash);
    }
    const [agent, phoneNumber] = await Promise.all([
      store.agentGet(workspaceId, body.agent_id),
      body.agent_phone_number_id ? store.phoneNumberGet(workspaceId, body.agent_phone_number_id) : this.#whatsappNumber(workspaceId, body),
    ]);
    const normalisedPhoneNumbers = await this.#o.phoneNormaliser.normaliseAll(
      body.recipients.map((recipient) => recipient.phone_number ?? null),
      phoneNumber ? countryOf(phoneNumber.phoneNumber) : undefined,
    );
    const { batch, recipients } = validateSubmission(body, {
      normalisedPhoneNumbers,
      workspaceId,
      agent,
      phoneNumber,
      now: this.#o.clock.now(),
      defaultConcurrency: this.#o.defaultConcurrency,
      providerAvailable: (number) => this.#o.dispatch.canDial(number),
      idempotencyKey,
      requestHash,
    });
    const outcome = await store.batchSubmit(batch, recipients);
    if (outcome.kind === 'replayed') return this.#replayed(idempotencyKey!, outcome, requestHash);
    this.#o.logger.info({ batchId: outcome.batch.id, recipients: recipients.length }, 'batch:submitted');
    this.#o.dispatch.wake();
    return outcome.batch;
  }

  /**
   * The registered WhatsApp number a WhatsApp batch calls from: the one whose WhatsApp phone
   * number id the batch names, or the workspace's only one when it names none.
   */
  async #whatsappNumber(workspaceId: string, body: SubmitBody): Promise<PhoneNumber | null> {
    const params = body.whatsapp_params;
    if (!params || this.#o.dispatch.simulating) return null;
    const numbers = await this.#o.store.phoneNumberList({ workspaceId, agentId: null, provider: 'whatsapp' });
    const wanted = params.whatsapp_phone_number_id ?? null;
    const found = wanted === null ? (numbers.length === 1 ? numbers[0]! : null) : numbers.find((number) => number.config.whatsapp_phone_number_id === wanted);
    if (found) return found;
    throw validationError([
      {
        loc: ['body', 'whatsapp_params', 'whatsapp_phone_number_id'],
        msg:
          wanted === null
            ? `name the WhatsApp phone number id to call from; this workspace has ${numbers.length} WhatsApp numbers registered`
            : `no WhatsApp number with id '${wanted}' is registered; register it with POST /v1/convai/phone-numbers (provider "whatsapp")`,
        type: wanted === null ? 'missing' : 'value_error',
      },
    ]);
  }

  #replayed(idempotencyKey: string, earlier: { batch: Batch; requestHash: string | null }, requestHash: string | null): Batch {
    if (earlier.requestHash !== requestHash) {
      throw new RedialError(
        'idempotency_key_reused',
        `Idempotency-Key '${idempotencyKey}' was already used for a different request (batch ${earlier.batch.id}); use a new key for a new batch.`,
      );
    }
    return earlier.batch;
  }

  async get(workspaceId: string, batchId: string): Promise<Batch> {
    const batch = await this.#o.store.batchGet(workspaceId, batchId);
    if (!batch) throw batchNotFound(batchId);
    return batch;
  }

  async list(workspaceId: string, query: { limit: number; lastDoc: string | null; agentId: string | null }): Promise<Page<Batch>> {
    return this.#o.store.batchList({ workspaceId, limit: query.limit, before: query.lastDoc, agentId: query.agentId });
  }

  recipients(batch: Batch, limit?: number): AsyncIterable<Recipient[]> {
    return this.#o.store.recipientPages(batch.key, 1000, limit);
  }

  async events(workspaceId: string, batchId: string, afterId: number, limit: number): Promise<BatchEvent[]> {
    const batch = await this.get(workspaceId, batchId);
    return this.#o.store.batchEvents(batch.key, afterId, limit);
  }

  /** Carrier HTTP exchanges of one recipient (by its position in the batch), for debugging. */
  async exchanges(workspaceId: string, batchId: string, seq: number): Promise<CarrierExchange[]> {
    const batch = await this.get(workspaceId, batchId);
    return this.#o.store.exchangeList(batch.key, seq);
  }

  async cancel(workspaceId: string, batchId: string): Promise<Batch> {
    const outcome = await this.#o.store.batchCancel(workspaceId, batchId, this.#o.clock.now());
    if (outcome.kind === 'not_found') throw batchNotFound(batchId);
    if (outcome.kind === 'refused') {
      throw new RedialError('batch_finished', `Batch '${batchId}' is already ${outcome.batch.status}; only a pending or in-progress batch can be cancelled.`);
    }
    this.#o.logger.info({ batchId, liveCalls: outcome.hangUp.length }, 'batch:cancelled');
    await this.#o.dispatch.hangUp(outcome.hangUp);
    return outcome.batch;
  }

  async retry(workspaceId: string, batchId: string): Promise<Batch> {
    await this.#checkCanRun(await this.get(workspaceId, batchId));
    const outcome = await this.#o.store.batchRetry(workspaceId, batchId, this.#o.clock.now());
    if (outcome.kind === 'not_found') throw batchNotFound(batchId);
    if (outcome.kind === 'refused') {
      throw new RedialError('batch_cancelled', `Batch '${batchId}' was cancelled and cannot be retried; submit a new batch instead.`);
    }
    if (outcome.requeued > 0) {
      this.#o.logger.info({ batchId, requeued: outcome.requeued }, 'batch:retried');
      this.#o.dispatch.wake();
    }
    return outcome.batch;
  }

  /** A retry that could only fail every call is refused up front, with what to do instead. */
  async #checkCanRun(batch: Batch): Promise<void> {
    const { store } = this.#o;
    const cannot = (why: string) =>
      new RedialError('batch_cannot_run', `Batch '${batch.id}' cannot be retried: ${why}; submit a new batch instead.`);
    if (!(await store.agentGet(batch.workspaceId, batch.agentId))) throw cannot(`its agent '${batch.agentId}' was deleted`);
    const phoneNumber = batch.phoneNumberId ? await store.phoneNumberGet(batch.workspaceId, batch.phoneNumberId) : null;
    if (batch.phoneNumberId && !phoneNumber) throw cannot(`its phone number '${batch.phoneNumberId}' was deleted`);
    if (!this.#o.dispatch.canDial(phoneNumber)) throw cannot(`this server cannot place '${phoneNumber?.provider ?? 'whatsapp'}' calls`);
  }

  async delete(workspaceId: string, batchId: string): Promise<void> {
    const outcome = await this.#o.store.batchDelete(workspaceId, batchId);
    if (!outcome.deleted) throw batchNotFound(batchId);
    this.#o.logger.info({ batchId, liveCalls: outcome.hangUp.length }, 'batch:deleted');
    await this.#o.dispatch.hangUp(outcome.hangUp);
  }
}

/**
 * The same request written differently (keys in another order, `null` for an absent field, as
 * the SDK sends) must replay under its Idempotency-Key, so requests are compared in this form.
 */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const entries = Object.entries(value)
    .filter(([, inner]) => inner !== null && inner !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
}

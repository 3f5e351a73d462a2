import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { BatchIdParams } from '../../../domain/wire/common.js';
import type { Services } from '../../services.js';

const QuerySchema = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
});

/**
 * redial's own: every HTTP exchange with a carrier for one recipient (by `recipient_seq`, as
 * events name it), over all its attempts, secrets redacted.
 */
export function registerExchanges(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/redial/batch-calling/:batch_id/recipients/:recipient_seq/exchanges',
    { schema: { params: Type.Object({ batch_id: Type.String({ minLength: 1 }), recipient_seq: Type.Integer({ minimum: 1 }) }) } },
    async (request) => {
      const exchanges = await services.batches.exchanges(request.workspaceId, request.params.batch_id, request.params.recipient_seq);
      return {
        exchanges: exchanges.map((exchange) => ({
          attempt: exchange.attemptNumber,
          provider: exchange.provider,
          at_ms: exchange.at,
          duration_ms: exchange.durationMs,
          request: exchange.request,
          response: exchange.response,
          error: exchange.error,
        })),
      };
    },
  );
}

/** redial's own: the batch's audit trail, every status change in order, paged by event id. */
export function registerEvents(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/redial/batch-calling/:batch_id/events',
    { schema: { params: BatchIdParams, querystring: QuerySchema } },
    async (request) => {
      const limit = request.query.limit ?? 1000;
      const events = await services.batches.events(request.workspaceId, request.params.batch_id, request.query.after ?? 0, limit);
      const last = events[events.length - 1];
      return {
        events: events.map((event) => ({
          id: event.id,
          type: event.type,
          recipient_seq: event.seq,
          attempt: event.attemptNumber,
          from_status: event.fromStatus,
          to_status: event.toStatus,
          reason: event.reason,
          via: event.via,
          count: event.count,
          at_ms: event.at,
        })),
        next_after: last ? last.id : (request.query.after ?? 0),
        has_more: events.length === limit,
      };
    },
  );
}

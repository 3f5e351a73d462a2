import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { serializeBatch } from '../../../serializers.js';
import type { Services } from '../../../services.js';

/** Without `limit` a page holds this many batches; at most `maxLimit`. */
const defaultLimit = 100;
const maxLimit = 1000;

const QuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: maxLimit })),
  last_doc: Type.Optional(Type.String()),
  agent_id: Type.Optional(Type.String()),
});

export function registerList(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/convai/batch-calling/workspace',
    { schema: { querystring: QuerySchema } },
    async (request) => {
      const page = await services.batches.list(request.workspaceId, {
        limit: request.query.limit ?? defaultLimit,
        lastDoc: request.query.last_doc || null,
        agentId: request.query.agent_id || null,
      });
      const body: Record<string, unknown> = { batch_calls: page.items.map(serializeBatch), has_more: page.nextCursor !== null };
      if (page.nextCursor !== null) body.next_doc = page.nextCursor;
      return body;
    },
  );
}

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { AgentListQuerySchema } from '../../../../domain/wire/agents.js';
import { serializeAgentSummary } from '../../../serializers.js';
import type { Services } from '../../../services.js';

export function registerAgentList(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/convai/agents',
    { schema: { querystring: AgentListQuerySchema } },
    async (request) => {
      const page = await services.agents.list(request.workspaceId, {
        limit: request.query.page_size ?? 30,
        cursor: request.query.cursor || null,
        search: request.query.search || null,
      });
      const body: Record<string, unknown> = { agents: page.items.map(serializeAgentSummary), has_more: page.nextCursor !== null };
      if (page.nextCursor !== null) body.next_cursor = page.nextCursor;
      return body;
    },
  );
}

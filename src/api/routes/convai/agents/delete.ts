import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { AgentIdParams } from '../../../../domain/wire/agents.js';
import type { Services } from '../../../services.js';

export function registerAgentDelete(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().delete(
    '/v1/convai/agents/:agent_id',
    { schema: { params: AgentIdParams } },
    async (request) => {
      await services.agents.delete(request.workspaceId, request.params.agent_id);
      return { agent_id: request.params.agent_id, deleted: true };
    },
  );
}

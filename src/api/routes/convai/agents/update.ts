import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { AgentIdParams, AgentUpdateBodySchema } from '../../../../domain/wire/agents.js';
import { serializeAgent } from '../../../serializers.js';
import type { Services } from '../../../services.js';

export function registerAgentUpdate(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().patch(
    '/v1/convai/agents/:agent_id',
    { schema: { params: AgentIdParams, body: AgentUpdateBodySchema } },
    async (request) => {
      const { agent, phoneNumbers } = await services.agents.update(request.workspaceId, request.params.agent_id, request.body ?? {});
      return serializeAgent(agent, phoneNumbers);
    },
  );
}

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { AgentIdParams } from '../../../../domain/wire/agents.js';
import { serializeAgent } from '../../../serializers.js';
import type { Services } from '../../../services.js';

export function registerAgentGet(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/convai/agents/:agent_id',
    { schema: { params: AgentIdParams } },
    async (request) => {
      const { agent, phoneNumbers } = await services.agents.get(request.workspaceId, request.params.agent_id);
      return serializeAgent(agent, phoneNumbers);
    },
  );
}

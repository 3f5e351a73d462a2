import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { AgentCreateBodySchema } from '../../../../domain/wire/agents.js';
import type { Services } from '../../../services.js';

export function registerAgentCreate(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/v1/convai/agents/create',
    { schema: { body: AgentCreateBodySchema } },
    async (request) => ({ agent_id: (await services.agents.create(request.workspaceId, request.body)).id }),
  );
}

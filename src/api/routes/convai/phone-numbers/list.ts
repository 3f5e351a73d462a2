import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { PhoneNumberListQuerySchema } from '../../../../domain/wire/phone-numbers.js';
import { serializePhoneNumber } from '../../../serializers.js';
import type { Services } from '../../../services.js';

/** A bare JSON array: the SDK throws on an object wrapper. */
export function registerPhoneNumberList(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/convai/phone-numbers',
    { schema: { querystring: PhoneNumberListQuerySchema } },
    async (request) => {
      const numbers = await services.phoneNumbers.list(request.workspaceId, {
        agentId: request.query.agent_id || null,
        provider: request.query.provider || null,
      });
      return numbers.map(({ phoneNumber, agent }) => serializePhoneNumber(phoneNumber, agent));
    },
  );
}

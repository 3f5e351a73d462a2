import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { PhoneNumberIdParams } from '../../../../domain/wire/phone-numbers.js';
import { serializePhoneNumber } from '../../../serializers.js';
import type { Services } from '../../../services.js';

export function registerPhoneNumberGet(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/convai/phone-numbers/:phone_number_id',
    { schema: { params: PhoneNumberIdParams } },
    async (request) => {
      const { phoneNumber, agent } = await services.phoneNumbers.get(request.workspaceId, request.params.phone_number_id);
      return serializePhoneNumber(phoneNumber, agent);
    },
  );
}

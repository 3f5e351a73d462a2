import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { PhoneNumberIdParams, PhoneNumberUpdateBodySchema } from '../../../../domain/wire/phone-numbers.js';
import { serializePhoneNumber } from '../../../serializers.js';
import type { Services } from '../../../services.js';

export function registerPhoneNumberUpdate(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().patch(
    '/v1/convai/phone-numbers/:phone_number_id',
    { schema: { params: PhoneNumberIdParams, body: PhoneNumberUpdateBodySchema } },
    async (request) => {
      const { phoneNumber, agent } = await services.phoneNumbers.update(request.workspaceId, request.params.phone_number_id, request.body ?? {});
      return serializePhoneNumber(phoneNumber, agent);
    },
  );
}

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { PhoneNumberIdParams } from '../../../../domain/wire/phone-numbers.js';
import type { Services } from '../../../services.js';

export function registerPhoneNumberDelete(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().delete(
    '/v1/convai/phone-numbers/:phone_number_id',
    { schema: { params: PhoneNumberIdParams } },
    async (request) => {
      await services.phoneNumbers.delete(request.workspaceId, request.params.phone_number_id);
      return { phone_number_id: request.params.phone_number_id, deleted: true };
    },
  );
}

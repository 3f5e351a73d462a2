import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { PhoneNumberCreateBodySchema } from '../../../../domain/wire/phone-numbers.js';
import type { Services } from '../../../services.js';

export function registerPhoneNumberCreate(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/v1/convai/phone-numbers',
    { schema: { body: PhoneNumberCreateBodySchema } },
    async (request) => ({ phone_number_id: (await services.phoneNumbers.create(request.workspaceId, request.body)).id }),
  );
}

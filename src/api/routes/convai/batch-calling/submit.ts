import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { serializeBatch } from '../../../serializers.js';
import { SubmitBodySchema } from '../../../../domain/wire/submit.js';
import type { Services } from '../../../services.js';

export function registerSubmit(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/v1/convai/batch-calling/submit',
    { schema: { body: SubmitBodySchema } },
    async (request) => {
      const header = request.headers['idempotency-key'];
      const idempotencyKey = (Array.isArray(header) ? header[0] : header)?.trim() || null;
      const batch = await services.batches.submit(request.workspaceId, request.body, idempotencyKey);
      // The batch is committed: from here on nothing may turn this into a 5xx, or the SDK would
      // submit it again. Serializing a stored batch cannot throw.
      return serializeBatch(batch);
    },
  );
}

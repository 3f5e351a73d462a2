import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { serializeBatch } from '../../../serializers.js';
import { BatchIdParams } from '../../../../domain/wire/common.js';
import type { Services } from '../../../services.js';

export function registerCancel(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/v1/convai/batch-calling/:batch_id/cancel',
    { schema: { params: BatchIdParams } },
    async (request) => serializeBatch(await services.batches.cancel(request.workspaceId, request.params.batch_id)),
  );
}

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { BatchIdParams } from '../../../../domain/wire/common.js';
import type { Services } from '../../../services.js';

export function registerDelete(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().delete(
    '/v1/convai/batch-calling/:batch_id',
    { schema: { params: BatchIdParams } },
    async (request) => {
      await services.batches.delete(request.workspaceId, request.params.batch_id);
      return { batch_id: request.params.batch_id, deleted: true };
    },
  );
}

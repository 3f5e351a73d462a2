import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { serializeBatch, serializeRecipient } from '../../../serializers.js';
import { BatchIdParams } from '../../../../domain/wire/common.js';
import type { Services } from '../../../services.js';

/**
 * `BatchCallDetailedResponse` with every recipient. The body is streamed a page of recipients at
 * a time, so a batch of 100,000 recipients never becomes one giant string in memory.
 */
export function registerGet(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/convai/batch-calling/:batch_id',
    { schema: { params: BatchIdParams } },
    async (request, reply) => {
      const batch = await services.batches.get(request.workspaceId, request.params.batch_id);
      const head = JSON.stringify(serializeBatch(batch));
      async function* body() {
        yield `${head.slice(0, -1)},"recipients":[`;
        let first = true;
        for await (const page of services.batches.recipients(batch)) {
          let chunk = '';
          for (const recipient of page) {
            chunk += (first ? '' : ',') + JSON.stringify(serializeRecipient(recipient));
            first = false;
          }
          yield chunk;
        }
        yield ']}';
      }
      return reply.type('application/json; charset=utf-8').send(Readable.from(body()));
    },
  );
}

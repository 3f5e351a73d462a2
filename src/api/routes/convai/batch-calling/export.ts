import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { csvLines, exportColumns, exportRow } from '../../../csv-export.js';
import { BatchIdParams } from '../../../../domain/wire/common.js';
import type { Services } from '../../../services.js';

const QuerySchema = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1 })) });

/** Streams CSV a page of recipients at a time; works on a running batch too (a snapshot as of each page). */
export function registerExport(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/convai/batch-calling/:batch_id/export',
    { schema: { params: BatchIdParams, querystring: QuerySchema } },
    async (request, reply) => {
      const batch = await services.batches.get(request.workspaceId, request.params.batch_id);
      const { header, variables } = exportColumns(batch);
      async function* body() {
        yield csvLines([header]);
        for await (const page of services.batches.recipients(batch, request.query.limit)) {
          yield csvLines(page.map((recipient) => exportRow(recipient, variables)));
        }
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${batch.id}.csv"`)
        .send(Readable.from(body()));
    },
  );
}

/**
 * `/v1/redial/callbacks/<provider>/…`: where carriers report on calls (Twilio status callbacks,
 * WhatsApp webhooks). No API key: the provider verifies each request's signature over the raw
 * body and the URL it was given, so the body is kept as bytes and the URL rebuilt from
 * `--public-url`.
 */
import type { FastifyInstance } from 'fastify';
import { RedialError } from '../../../domain/errors.js';
import type { Services } from '../../services.js';

export const callbackPathPrefix = '/v1/redial/callbacks/';

export function registerCallbacks(app: FastifyInstance, services: Services): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.route<{ Params: { provider: string; '*': string } }>({
      method: ['GET', 'POST'],
      url: `${callbackPathPrefix}:provider/*`,
      handler: async (request, reply) => {
        const provider = services.callbacks.provider(request.params.provider);
        if (!provider?.handleCallback) {
          throw new RedialError('not_found', `No provider '${request.params.provider}' takes callbacks here; the callback URL is wrong.`);
        }
        const publicUrl = services.callbacks.publicUrl;
        if (publicUrl === null) {
          throw new RedialError('callbacks_not_configured', 'This server has no --public-url, so it cannot check carrier signatures; start it with --public-url.');
        }
        const rest = request.params['*'];
        const answer = await provider.handleCallback({
          method: request.method,
          path: `/${rest}`,
          publicUrl: `${publicUrl}${request.url}`,
          headers: request.headers,
          query: request.query as Record<string, string>,
          rawBody: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
        });
        if (answer.contentType) reply.type(answer.contentType);
        return reply.status(answer.status).send(answer.body ?? '');
      },
    });
  });
}

/**
 * Builds the HTTP API. It never listens: `cli/commands/serve.ts` does, and tests either listen
 * on a port of their own or use `inject`.
 */
import { randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { RedialError } from '../domain/errors.js';
import { registerAuth } from './plugins/auth.js';
import { registerErrorHandler } from './plugins/error-handler.js';
import { registerAgentCreate } from './routes/convai/agents/create.js';
import { registerAgentDelete } from './routes/convai/agents/delete.js';
import { registerAgentGet } from './routes/convai/agents/get.js';
import { registerAgentList } from './routes/convai/agents/list.js';
import { registerAgentUpdate } from './routes/convai/agents/update.js';
import { registerCancel } from './routes/convai/batch-calling/cancel.js';
import { registerDelete } from './routes/convai/batch-calling/delete.js';
import { registerExport } from './routes/convai/batch-calling/export.js';
import { registerGet } from './routes/convai/batch-calling/get.js';
import { registerList } from './routes/convai/batch-calling/list.js';
import { registerRetry } from './routes/convai/batch-calling/retry.js';
import { registerSubmit } from './routes/convai/batch-calling/submit.js';
import { registerPhoneNumberCreate } from './routes/convai/phone-numbers/create.js';
import { registerPhoneNumberDelete } from './routes/convai/phone-numbers/delete.js';
import { registerPhoneNumberGet } from './routes/convai/phone-numbers/get.js';
import { registerPhoneNumberList } from './routes/convai/phone-numbers/list.js';
import { registerPhoneNumberUpdate } from './routes/convai/phone-numbers/update.js';
import { registerOutboundCalls } from './routes/convai/outbound-call/register.js';
import { registerCallbacks } from './routes/redial/callbacks.js';
import { registerEvents, registerExchanges } from './routes/redial/events.js';
import type { Services } from './services.js';

export interface AppOptions {
  logger: Logger;
  services: Services;
  apiKeys: { apiKey: string; workspaceId: string }[];
  bodyLimitBytes: number;
  /** Whether the process is ready to serve (the store is open, the dispatcher started). */
  isReady: () => boolean;
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

export function buildApp(options: AppOptions): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    // A caller's own x-request-id is kept when it is sane, so logs on both sides match.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
  });

  // Bodies are checked strictly: no type coercion (a number sent as "1" is an error, as in the
  // SDK) and every problem reported at once. Query strings and path params arrive as text, so
  // those are coerced.
  const bodyAjv = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: true, removeAdditional: false, strict: false });
  const textAjv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, removeAdditional: false, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));

  // The SDK sends cancel and retry with no body and no content type; curl users sometimes send
  // an empty body with a JSON content type. Both mean "no body".
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new RedialError('malformed_body', `The request body is not valid JSON (${(error as Error).message}); send a JSON object.`), undefined);
    }
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  registerErrorHandler(app);
  registerAuth(app, options.apiKeys);

  app.get('/health', async (_request, reply) => {
    if (!options.isReady()) return reply.status(503).send({ status: 'starting' });
    return { status: 'ok' };
  });

  const { services } = options;
  registerSubmit(app, services);
  registerList(app, services);
  registerGet(app, services);
  registerCancel(app, services);
  registerRetry(app, services);
  registerDelete(app, services);
  registerExport(app, services);
  registerAgentCreate(app, services);
  registerAgentGet(app, services);
  registerAgentList(app, services);
  registerAgentUpdate(app, services);
  registerAgentDelete(app, services);
  registerPhoneNumberCreate(app, services);
  registerPhoneNumberGet(app, services);
  registerPhoneNumberList(app, services);
  registerPhoneNumberUpdate(app, services);
  registerPhoneNumberDelete(app, services);
  registerEvents(app, services);
  registerExchanges(app, services);
  registerCallbacks(app, services);
  registerOutboundCalls(app, services);
  return app;
}

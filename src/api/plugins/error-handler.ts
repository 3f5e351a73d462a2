/**
 * The one place errors become HTTP responses, in the shapes the SDKs parse: 422
 * `{"detail":[{loc,msg,type}]}` for validation, `{"detail":"…"}` for everything else.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { coerceError, RedialError, type ValidationIssue } from '../../domain/errors.js';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

const partNames: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

const issueTypes: Record<string, string> = {
  required: 'missing',
  type: 'type_error',
  minimum: 'greater_than_equal',
  maximum: 'less_than_equal',
  exclusiveMinimum: 'greater_than',
  minLength: 'string_too_short',
  maxLength: 'string_too_long',
  minItems: 'too_short',
  pattern: 'string_pattern_mismatch',
  anyOf: 'value_error',
  const: 'literal_error',
  enum: 'enum',
};

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((rawError: FastifyError, request, reply) => {
    const error = rawError as FastifyError & { validation?: AjvError[]; validationContext?: string };
    if (error instanceof RedialError) {
      if (error.issues) return reply.status(422).send({ detail: error.issues });
      return reply.status(error.statusCode).send({ detail: error.message });
    }
    if (error.validation) {
      const part = partNames[error.validationContext ?? 'body'] ?? 'body';
      return reply.status(422).send({ detail: issuesOf(part, error.validation) });
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({
        detail: `The request body is larger than this server accepts (${request.server.initialConfig.bodyLimit} bytes); split the batch or raise REDIAL_BODY_LIMIT_MB.`,
      });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send({ detail: `Unsupported Content-Type '${request.headers['content-type']}'; send application/json.` });
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.status(error.statusCode).send({ detail: error.message });
    }
    request.log.error({ err: coerceError(rawError) }, 'request:failed');
    return reply.status(500).send({ detail: `Internal error (request ${request.id}); the server log has the details.` });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ detail: `No route ${request.method} ${request.url.split('?')[0]}; see the README for the API.` });
  });
}

function issuesOf(part: string, errors: AjvError[]): ValidationIssue[] {
  return errors.map((error) => {
    const loc: (string | number)[] = [part];
    for (const segment of error.instancePath.split('/').slice(1)) {
      const name = segment.replace(/~1/g, '/').replace(/~0/g, '~');
      loc.push(/^\d+$/.test(name) ? Number(name) : name);
    }
    if (error.keyword === 'required' && typeof error.params.missingProperty === 'string') {
      loc.push(error.params.missingProperty);
      return { loc, msg: 'Field required', type: 'missing' };
    }
    if (error.keyword === 'additionalProperties' && typeof error.params.additionalProperty === 'string') {
      loc.push(error.params.additionalProperty);
      return { loc, msg: 'Extra inputs are not permitted', type: 'extra_forbidden' };
    }
    return { loc, msg: error.message ?? 'invalid value', type: issueTypes[error.keyword] ?? error.keyword };
  });
}

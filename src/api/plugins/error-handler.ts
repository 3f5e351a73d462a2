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
      const tooLarge = new RedialError(
        'body_too_large',
        `The request body is larger than this server accepts (${request.server.initialConfig.bodyLimit} bytes); split the batch or raise REDIAL_BODY_LIMIT_MB.`,
      );
      return reply.status(tooLarge.statusCode).send({ detail: tooLarge.message });
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
    const notFound = new RedialError('not_found', `No route ${request.method} ${request.url.split('?')[0]}; see the README for the API.`);
    reply.status(notFound.statusCode).send({ detail: notFound.message });
  });
}

/**
 * A nullable field that got the wrong type fails every branch of its `anyOf` (`must be string`,
 * `must be null`, `must match a schema in anyOf`); only the first branch's complaint says
 * anything useful, so one issue per location is kept for those.
 */
function withoutUnionNoise(errors: AjvError[]): AjvError[] {
  const unionPaths = new Set(errors.filter((error) => error.keyword === 'anyOf').map((error) => error.instancePath));
  const seen = new Set<string>();
  return errors.flatMap((error) => {
    if (!unionPaths.has(error.instancePath)) return [error];
    if (error.keyword === 'anyOf' || (error.keyword === 'type' && error.params.type === 'null')) return [];
    if (seen.has(error.instancePath)) return [];
    seen.add(error.instancePath);
    if (error.keyword !== 'const') return [error];
    // A union of literals is an enum: name every allowed value instead of the first one's mismatch.
    const allowed = errors
      .filter((other) => other.instancePath === error.instancePath && other.keyword === 'const')
      .map((other) => JSON.stringify(other.params.allowedValue));
    return [{ ...error, keyword: 'enum', message: `must be one of ${allowed.join(', ')}` }];
  });
}

function issuesOf(part: string, errors: AjvError[]): ValidationIssue[] {
  return withoutUnionNoise(errors).map((error) => {
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
    if (loc.length === 1 && error.keyword === 'type') {
      return { loc, msg: `the ${part === 'body' ? 'request body' : part} must be a JSON ${String(error.params.type)}`, type: 'type_error' };
    }
    return { loc, msg: error.message ?? 'invalid value', type: issueTypes[error.keyword] ?? error.keyword };
  });
}

/**
 * Every error a user can see, with a stable code, its HTTP status and a message that says what
 * to do next. The API's error handler turns them into the wire shapes the SDKs parse: 422
 * `{"detail":[{loc,msg,type}]}` for validation, `{"detail":"…"}` for the rest. `docs/errors.md`
 * lists every code (a test keeps the two in step).
 */

export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export const errorCodes = {
  agent_in_use: 409,
  batch_cancelled: 409,
  batch_cannot_run: 409,
  batch_finished: 409,
  batch_not_found: 404,
  agent_not_found: 404,
  body_too_large: 413,
  callbacks_not_configured: 503,
  idempotency_key_reused: 409,
  invalid_api_key: 401,
  malformed_body: 400,
  missing_api_key: 401,
  not_found: 404,
  phone_number_in_use: 409,
  phone_number_not_found: 404,
  validation_failed: 422,
} as const;
export type ErrorCode = keyof typeof errorCodes;

export class RedialError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: ValidationIssue[],
  ) {
    super(message);
    this.name = 'RedialError';
    this.statusCode = errorCodes[code];
  }
}

export function validationError(issues: ValidationIssue[]): RedialError {
  const first = issues[0];
  const summary = first ? `${first.loc.join('.')}: ${first.msg}` : 'invalid request';
  return new RedialError('validation_failed', summary, issues);
}

export function batchNotFound(batchId: string): RedialError {
  return new RedialError(
    'batch_not_found',
    `Batch '${batchId}' was not found. List your batches with GET /v1/convai/batch-calling/workspace.`,
  );
}

export function agentNotFound(agentId: string): RedialError {
  return new RedialError('agent_not_found', `Agent '${agentId}' was not found. List agents with GET /v1/convai/agents.`);
}

export function phoneNumberNotFound(phoneNumberId: string): RedialError {
  return new RedialError(
    'phone_number_not_found',
    `Phone number '${phoneNumberId}' was not found. List phone numbers with GET /v1/convai/phone-numbers.`,
  );
}

/** Anything caught is an `unknown`; make it an Error before logging or wrapping it. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}

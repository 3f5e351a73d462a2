/**
 * HTTP to carriers (Twilio's REST API, Meta's Graph API), with every exchange kept beside its
 * attempt for debugging and secrets taken out before anything is kept or logged.
 *
 * Failures are classified once here, so every carrier treats them alike: 429, 5xx and no answer
 * are transient (`provider_error`, a retry may dial again); 401/403 mean the phone number's
 * credentials were rejected, which fails the batch rather than each recipient in turn.
 */
import type { Clock } from '../domain/clock.js';
import type { AttemptRef } from '../domain/types.js';
import type { CallEventSink, CarrierExchange } from './provider.js';

export interface CarrierRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | null;
  timeoutMs: number;
  /** The attempt this exchange belongs to; null for requests not tied to one (a lookup by number). */
  attempt: AttemptRef | null;
  /** Strings to blank out wherever they appear (tokens, secrets, passwords). */
  secrets: string[];
}

export interface CarrierResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** No answer came. */
export class CarrierUnansweredError extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
    /**
     * Whether the carrier may have acted on the request: false only when the connection was
     * never made (refused, no such host), so the request cannot have reached it.
     */
    readonly mayHaveActed: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CarrierUnansweredError';
  }
}

/** Errors that happen before a request is sent: the carrier never saw it. */
const neverSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

const redactedHeaders = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-twilio-signature', 'x-hub-signature-256']);

export class CarrierHttp {
  constructor(
    private readonly provider: string,
    private readonly sink: CallEventSink,
    private readonly clock: Clock,
  ) {}

  async request(request: CarrierRequest): Promise<CarrierResponse> {
    const started = this.clock.now();
    const startedMono = performance.now();
    let response: CarrierResponse | null = null;
    let error: string | null = null;
    try {
      const answer = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body ?? undefined,
        signal: AbortSignal.timeout(request.timeoutMs),
        redirect: 'manual',
      });
      response = { status: answer.status, headers: Object.fromEntries(answer.headers), body: await answer.text() };
      return response;
    } catch (cause) {
      const timedOut = cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
      error = timedOut ? `no answer within ${request.timeoutMs} ms` : `request failed: ${describe(cause)}`;
      const code = String((cause as { cause?: { code?: unknown } }).cause?.code ?? '');
      throw new CarrierUnansweredError(`${this.provider} ${request.method} ${redactUrl(request.url)}: ${error}`, timedOut, timedOut || !neverSentCodes.has(code), { cause });
    } finally {
      if (request.attempt) {
        this.sink.recordExchanges([
          redactExchange(
            {
              ...request.attempt,
              provider: this.provider,
              at: started,
              durationMs: Math.round(performance.now() - startedMono),
              request: { method: request.method, url: request.url, headers: request.headers ?? {}, body: request.body ?? null },
              response,
              error,
            },
            request.secrets,
          ),
        ]);
      }
    }
  }
}

/**
 * A verified callback the carrier sent us, kept beside the attempt as an exchange too: for
 * debugging, what the carrier said matters as much as what we asked.
 */
const keptInboundHeader = /^(content-type|user-agent|x-twilio-signature|i-twilio-idempotency-token|x-home-region|x-hub-signature-256)$/i;

export function inboundExchange(
  attempt: AttemptRef,
  provider: string,
  request: { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string },
  status: number,
  at: number,
): CarrierExchange {
  // Only the carrier's own headers: a proxy in front of redial may add credentials of its own.
  const headers = Object.fromEntries(
    Object.entries(request.headers).flatMap(([name, value]) =>
      value === undefined || !keptInboundHeader.test(name) ? [] : [[name, Array.isArray(value) ? value.join(', ') : value]],
    ),
  );
  return redactExchange(
    {
      batchKey: attempt.batchKey,
      seq: attempt.seq,
      attemptNumber: attempt.attemptNumber,
      provider,
      at,
      durationMs: 0,
      request: { method: request.method, url: request.url, headers, body: request.body },
      response: { status, headers: {}, body: null },
      error: null,
    },
    [],
  );
}

/** Blanks secrets in every text of the exchange and drops credential headers' values. */
export function redactExchange(exchange: CarrierExchange, secrets: string[]): CarrierExchange {
  const texts = secrets.filter((secret) => secret.length >= 4);
  const clean = (text: string): string => {
    let out = text;
    for (const secret of texts) {
      out = out.split(secret).join('[redacted]');
      const encoded = encodeURIComponent(secret);
      if (encoded !== secret) out = out.split(encoded).join('[redacted]');
    }
    return out;
  };
  const headers = (from: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(from).map(([name, value]) => [name, redactedHeaders.has(name.toLowerCase()) ? '[redacted]' : clean(value)]));
  return {
    ...exchange,
    request: {
      method: exchange.request.method,
      url: clean(redactUrl(exchange.request.url)),
      headers: headers(exchange.request.headers),
      body: exchange.request.body === null ? null : clean(exchange.request.body),
    },
    response: exchange.response && {
      status: exchange.response.status,
      headers: headers(exchange.response.headers),
      body: exchange.response.body === null ? null : clean(exchange.response.body),
    },
    error: exchange.error === null ? null : clean(exchange.error),
  };
}

/** Drops user:password from a URL. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]+@/, '//[redacted]@');
}

function describe(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = (cause as { cause?: unknown }).cause;
  return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
}

/** How an HTTP status from a carrier bears on the attempt. */
export type HttpFailureClass = 'transient' | 'credentials' | 'other';

export function classifyHttpStatus(status: number): HttpFailureClass {
  if (status === 429 || status >= 500) return 'transient';
  if (status === 401 || status === 403) return 'credentials';
  return 'other';
}

/** A small loopback client for the redial API, with a timeout on every request. */

export interface Client {
  url: string;
  apiKey: string;
}

export class HttpError extends Error {
  override name = 'HttpError';
}

function headersOf(client: Client, json: boolean): Record<string, string> {
  return json ? { 'xi-api-key': client.apiKey, 'content-type': 'application/json' } : { 'xi-api-key': client.apiKey };
}

/** Sends `body` (already serialised JSON, or an object) and returns the parsed JSON answer. */
export async function requestJson<T>(
  client: Client,
  method: 'GET' | 'POST',
  path: string,
  body?: string | object,
  timeoutMs = 60_000,
): Promise<T> {
  const response = await fetch(`${client.url}${path}`, {
    method,
    headers: headersOf(client, body !== undefined),
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (!response.ok) throw new HttpError(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

export interface Drained {
  status: number;
  bytes: number;
  /** ms from sending the request to its response headers. */
  headersMs: number;
  /** ms from sending the request to the last byte. */
  totalMs: number;
  /** The body, when `keep` was asked for. */
  text: string | null;
}

/** GETs `path` and reads the body as fast as the server sends it, counting bytes. */
export async function drain(client: Client, path: string, options: { keep?: boolean; timeoutMs?: number } = {}): Promise<Drained> {
  const started = performance.now();
  const response = await fetch(`${client.url}${path}`, {
    headers: headersOf(client, false),
    signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
  });
  const headersMs = performance.now() - started;
  if (!response.ok) throw new HttpError(`GET ${path}: ${response.status} ${(await response.text()).slice(0, 500)}`);
  let bytes = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength;
    if (options.keep) chunks.push(Buffer.from(chunk));
  }
  return {
    status: response.status,
    bytes,
    headersMs,
    totalMs: performance.now() - started,
    text: options.keep ? Buffer.concat(chunks).toString('utf8') : null,
  };
}

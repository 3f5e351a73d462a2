/**
 * The `httpClient` the official twilio library is given: it sends the library's requests to
 * `--twilio-api-url` instead of api.twilio.com (the library's `edge`/`region` options can only
 * name other twilio.com hosts), and through `CarrierHttp`, so each exchange is kept with its
 * attempt with the credentials redacted.
 */
import type { AttemptRef } from '../../domain/types.js';
import type { CarrierHttp } from '../carrier-http.js';

/** The slice of the library's `RequestClient.RequestOptions` that the REST resources use. */
interface LibraryRequest {
  method: string;
  uri: string;
  username?: string;
  password?: string;
  headers?: Record<string, string>;
  params?: Record<string, unknown>;
  data?: Record<string, unknown>;
  timeout?: number;
}

const twilioOrigin = /^https:\/\/[a-z0-9.-]*twilio\.com/;

export class TwilioHttpClient {
  constructor(
    private readonly http: CarrierHttp,
    private readonly apiUrl: string,
    private readonly timeoutMs: number,
    private readonly attempt: AttemptRef | null,
    private readonly secrets: string[],
  ) {}

  async request(options: LibraryRequest): Promise<{ statusCode: number; body: string; headers: Record<string, string> }> {
    const url = new URL(options.uri.replace(twilioOrigin, this.apiUrl.replace(/\/+$/, '')));
    if (options.params) for (const [name, value] of formEntries(options.params)) url.searchParams.append(name, value);
    const headers: Record<string, string> = { ...options.headers };
    delete headers.Connection;
    if (options.username && options.password) {
      headers.Authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
    }
    let body: string | null = null;
    if (options.data && headers['Content-Type'] === 'application/x-www-form-urlencoded') {
      body = new URLSearchParams(formEntries(options.data)).toString();
    } else if (options.data) {
      body = JSON.stringify(options.data);
    }
    const response = await this.http.request({
      method: options.method.toUpperCase(),
      url: url.toString(),
      headers,
      body,
      timeoutMs: this.timeoutMs,
      attempt: this.attempt,
      secrets: this.secrets,
    });
    return { statusCode: response.status, body: response.body, headers: response.headers };
  }
}

/** Form fields as Twilio takes them: a list repeats its name (`StatusCallbackEvent=a&StatusCallbackEvent=b`). */
function formEntries(fields: Record<string, unknown>): [string, string][] {
  const entries: [string, string][] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined || value === null) continue;
    for (const one of Array.isArray(value) ? value : [value]) entries.push([name, String(one)]);
  }
  return entries;
}

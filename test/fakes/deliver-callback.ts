import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface OutgoingCallback {
  url: string;
  method: 'GET' | 'POST';
  /** The form body for POST; empty for GET, whose parameters are already in `url`. */
  body: string;
  headers: Record<string, string>;
}

/** How the receiver took one callback. */
export type Delivery = { kind: 'answered'; status: number } | { kind: 'failed'; error: string };

/**
 * Sends one callback (a Twilio status callback, a Meta webhook) and reports how the receiver
 * answered. One request, no retry: neither carrier retries by default. node:http without
 * keep-alive (not fetch) so no pooled socket outlives a fake's `close()`.
 */
export function deliverCallback(callback: OutgoingCallback, timeoutMs: number, signal: AbortSignal): Promise<Delivery> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ kind: 'failed', error: 'fake closed' });
      return;
    }
    const target = new URL(callback.url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string | number> = { ...callback.headers, connection: 'close' };
    if (callback.method === 'POST') headers['content-length'] = Buffer.byteLength(callback.body);
    const req = send(target, { method: callback.method, headers, agent: false, signal, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ kind: 'answered', status: res.statusCode ?? 0 }));
      res.on('error', (error) => resolve({ kind: 'failed', error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ kind: 'failed', error: signal.aborted ? 'fake closed' : error.message }));
    req.end(callback.method === 'POST' ? callback.body : undefined);
  });
}

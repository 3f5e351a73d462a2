/**
 * SIP URIs (RFC 3261 §19.1), name-addr headers (From, To, Contact, Route) and Via, parsed only as
 * far as a user-agent client needs: where to send, which tags, which branch.
 */
import { SipParseError } from './message.js';

export type Params = Record<string, string | null>;

export interface SipUri {
  scheme: 'sip' | 'sips';
  user: string | null;
  host: string;
  port: number | null;
  params: Params;
}

export interface NameAddr {
  display: string | null;
  uri: string;
  params: Params;
}

export interface Via {
  transport: string;
  host: string;
  port: number | null;
  params: Params;
}

export function parseUri(text: string): SipUri {
  const match = /^(sips?):(?:([^@]*)@)?(\[[0-9a-fA-F:.]+\]|[^:;?]+)(?::(\d{1,5}))?((?:;[^?]*)?)(?:\?.*)?$/i.exec(text.trim());
  if (!match) throw new SipParseError(`not a SIP URI: '${text}'`);
  const userinfo = match[2] ?? null;
  return {
    scheme: match[1]!.toLowerCase() as 'sip' | 'sips',
    // A password in the userinfo is deprecated (§19.1.1) and never used for routing.
    user: userinfo === null ? null : userinfo.split(':')[0]!,
    host: match[3]!.replace(/^\[|\]$/g, ''),
    port: match[4] ? Number(match[4]) : null,
    params: parseParams(match[5] ?? ''),
  };
}

export function formatUri(uri: SipUri): string {
  const host = uri.host.includes(':') ? `[${uri.host}]` : uri.host;
  return `${uri.scheme}:${uri.user !== null ? `${uri.user}@` : ''}${host}${uri.port !== null ? `:${uri.port}` : ''}${formatParams(uri.params)}`;
}

export function parseNameAddr(value: string): NameAddr {
  const text = value.trim();
  const open = indexOutsideQuotes(text, '<');
  if (open !== -1) {
    const close = text.indexOf('>', open);
    if (close === -1) throw new SipParseError(`unclosed '<' in '${value}'`);
    const display = text.slice(0, open).trim().replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1');
    return { display: display || null, uri: text.slice(open + 1, close).trim(), params: parseParams(text.slice(close + 1)) };
  }
  // addr-spec form: parameters after the URI belong to the header, not to the URI (§20.10).
  const semi = text.indexOf(';');
  if (semi === -1) return { display: null, uri: text, params: {} };
  return { display: null, uri: text.slice(0, semi), params: parseParams(text.slice(semi)) };
}

export function formatNameAddr(nameAddr: NameAddr): string {
  const display = nameAddr.display ? `"${nameAddr.display.replace(/["\\]/g, '\\$&')}" ` : '';
  return `${display}<${nameAddr.uri}>${formatParams(nameAddr.params)}`;
}

export function tagOf(value: string | undefined): string | null {
  return value === undefined ? null : (parseNameAddr(value).params.tag ?? null);
}

export function parseVia(value: string): Via {
  const match = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[0-9a-fA-F:.]+\]|[^\s:;]+)(?:\s*:\s*(\d{1,5}))?\s*((?:;.*)?)$/i.exec(value.trim());
  if (!match) throw new SipParseError(`bad Via: '${value}'`);
  return {
    transport: match[1]!.toUpperCase(),
    host: match[2]!.replace(/^\[|\]$/g, ''),
    port: match[3] ? Number(match[3]) : null,
    params: parseParams(match[4] ?? ''),
  };
}

export function parseParams(text: string): Params {
  const params: Params = {};
  for (const part of text.split(';')) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    const eq = trimmed.indexOf('=');
    if (eq === -1) params[trimmed.toLowerCase()] = null;
    else params[trimmed.slice(0, eq).trim().toLowerCase()] = trimmed.slice(eq + 1).trim();
  }
  return params;
}

export function formatParams(params: Params): string {
  return Object.entries(params)
    .map(([name, value]) => (value === null ? `;${name}` : `;${name}=${value}`))
    .join('');
}

/** Host and port as they go into a Via sent-by or a URI; IPv6 gets its brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function indexOutsideQuotes(text: string, ch: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && quoted) i++;
    else if (text[i] === '"') quoted = !quoted;
    else if (!quoted && text[i] === ch) return i;
  }
  return -1;
}

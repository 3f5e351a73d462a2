/**
 * SIP messages (RFC 3261 §7) as plain data, and their wire form.
 *
 * Bodies stay bytes from parse to send: Content-Length counts bytes, and an SDP with a UTF-8
 * session name would be cut short if it were measured in UTF-16 code units.
 */

export interface SipHeader {
  name: string;
  value: string;
}

export interface SipRequest {
  readonly kind: 'request';
  method: string;
  uri: string;
  headers: SipHeader[];
  body: Buffer;
}

export interface SipResponse {
  readonly kind: 'response';
  status: number;
  reason: string;
  headers: SipHeader[];
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

export class SipParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SipParseError';
  }
}

/** RFC 3261 §7.3.3 compact forms, expanded on parse so lookups need only one spelling. */
const compactForms: Record<string, string> = {
  c: 'Content-Type',
  e: 'Content-Encoding',
  f: 'From',
  i: 'Call-ID',
  k: 'Supported',
  l: 'Content-Length',
  m: 'Contact',
  s: 'Subject',
  t: 'To',
  v: 'Via',
};

/** Headers whose comma-separated values are separate entries (§7.3.1); others keep commas (auth params, dates). */
const listHeaders = new Set(['contact', 'record-route', 'route', 'via']);

const maxHeaderBytes = 16 * 1024;

export function createRequest(method: string, uri: string, headers: SipHeader[], body: Buffer = Buffer.alloc(0)): SipRequest {
  return { kind: 'request', method, uri, headers, body };
}

/** The first value of a header, or undefined. Names match case-insensitively. */
export function headerValue(message: SipMessage, name: string): string | undefined {
  const lower = name.toLowerCase();
  return message.headers.find((header) => header.name.toLowerCase() === lower)?.value;
}

/** Every value of a header, in order. */
export function headerValues(message: SipMessage, name: string): string[] {
  const lower = name.toLowerCase();
  return message.headers.filter((header) => header.name.toLowerCase() === lower).map((header) => header.value);
}

export function withoutHeaders(headers: SipHeader[], names: string[]): SipHeader[] {
  const drop = new Set(names.map((name) => name.toLowerCase()));
  return headers.filter((header) => !drop.has(header.name.toLowerCase()));
}

/** The CSeq header's number and method. */
export function cseqOf(message: SipMessage): { seq: number; method: string } {
  const match = /^\s*(\d+)\s+(\S+)\s*$/.exec(headerValue(message, 'CSeq') ?? '');
  if (!match) throw new SipParseError(`bad or missing CSeq: '${headerValue(message, 'CSeq') ?? ''}'`);
  return { seq: Number(match[1]), method: match[2]!.toUpperCase() };
}

export function bodyText(message: SipMessage): string | null {
  return message.body.length > 0 ? message.body.toString('utf8') : null;
}

/** One message from one UDP datagram. A Content-Length larger than what arrived is an error (§18.3). */
export function parseMessage(data: Buffer): SipMessage {
  // Keep-alive CRLFs (RFC 5626) may precede a message on any transport.
  let start = 0;
  while (start + 1 < data.length && data[start] === 0x0d && data[start + 1] === 0x0a) start += 2;
  const headEnd = findHeadEnd(data, start);
  if (headEnd === null) throw new SipParseError('no blank line after the headers');
  const message = parseHead(data.subarray(start, headEnd.at).toString('utf8'));
  const rest = data.subarray(headEnd.at + headEnd.length);
  const declared = contentLength(message);
  if (declared === null) {
    message.body = Buffer.from(rest);
  } else {
    if (declared > rest.length) throw new SipParseError(`Content-Length ${declared} but only ${rest.length} body bytes arrived`);
    message.body = Buffer.from(rest.subarray(0, declared));
  }
  return message;
}

export function serializeMessage(message: SipMessage): Buffer {
  const startLine = message.kind === 'request' ? `${message.method} ${message.uri} SIP/2.0` : `SIP/2.0 ${message.status} ${message.reason}`;
  const lines = [startLine];
  for (const header of message.headers) {
    if (header.name.toLowerCase() === 'content-length') continue;
    if (/[\r\n]/.test(header.value) || !/^[!-9;-~]+$/.test(header.name)) {
      // Values come from users' trunk settings and dynamic variables: a CR or LF would let them
      // write headers (or a body) of their own.
      throw new SipParseError(`header '${header.name}' has a line break or a bad name`);
    }
    lines.push(`${header.name}: ${header.value}`);
  }
  lines.push(`Content-Length: ${message.body.length}`, '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'utf8'), message.body]);
}

/**
 * Frames messages out of a TCP byte stream, where Content-Length is mandatory (§18.3) and a
 * message may arrive in pieces or several in one chunk.
 */
export class SipStreamParser {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): SipMessage[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const messages: SipMessage[] = [];
    for (;;) {
      let start = 0;
      while (start < this.#buffer.length && (this.#buffer[start] === 0x0d || this.#buffer[start] === 0x0a)) start++;
      if (start > 0) this.#buffer = this.#buffer.subarray(start);
      const headEnd = findHeadEnd(this.#buffer, 0);
      if (headEnd === null) {
        if (this.#buffer.length > maxHeaderBytes) throw new SipParseError(`no end of headers within ${maxHeaderBytes} bytes`);
        return messages;
      }
      const message = parseHead(this.#buffer.subarray(0, headEnd.at).toString('utf8'));
      const length = contentLength(message);
      if (length === null) throw new SipParseError('Content-Length is required on a stream transport');
      const bodyStart = headEnd.at + headEnd.length;
      if (this.#buffer.length < bodyStart + length) return messages;
      message.body = Buffer.from(this.#buffer.subarray(bodyStart, bodyStart + length));
      this.#buffer = this.#buffer.subarray(bodyStart + length);
      messages.push(message);
    }
  }
}

/** Splits a header value on commas that are outside quotes and angle brackets. */
export function splitList(value: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted) {
      if (ch === '\\') {
        current += ch + (value[i + 1] ?? '');
        i++;
        continue;
      }
      if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '<') depth++;
    else if (ch === '>') depth = Math.max(0, depth - 1);
    else if (ch === ',' && depth === 0) {
      if (current.trim()) parts.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

function findHeadEnd(data: Buffer, from: number): { at: number; length: number } | null {
  const crlf = data.indexOf('\r\n\r\n', from);
  const lf = data.indexOf('\n\n', from);
  if (crlf === -1 && lf === -1) return null;
  // Bare-LF messages are not valid SIP but some test tools send them; accept whichever ends first.
  if (lf !== -1 && (crlf === -1 || lf < crlf)) return { at: lf, length: 2 };
  return { at: crlf, length: 4 };
}

function parseHead(head: string): SipMessage {
  const rawLines = head.split(/\r?\n/);
  const startLine = rawLines.shift() ?? '';
  const lines: string[] = [];
  for (const line of rawLines) {
    // Folded continuation lines (§7.3.1) belong to the header above them.
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1] += ` ${line.trim()}`;
    else if (line.length > 0) lines.push(line);
  }
  const headers: SipHeader[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError(`header line without a name: '${line}'`);
    const rawName = line.slice(0, colon).trim();
    const name = compactForms[rawName.toLowerCase()] ?? rawName;
    const value = line.slice(colon + 1).trim();
    if (listHeaders.has(name.toLowerCase()) && value !== '*') {
      for (const part of splitList(value)) headers.push({ name, value: part });
    } else headers.push({ name, value });
  }
  const response = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/i.exec(startLine);
  if (response) return { kind: 'response', status: Number(response[1]), reason: response[2] ?? '', headers, body: Buffer.alloc(0) };
  const request = /^([A-Za-z]+)\s+(\S+)\s+SIP\/2\.0$/i.exec(startLine);
  if (request) return { kind: 'request', method: request[1]!.toUpperCase(), uri: request[2]!, headers, body: Buffer.alloc(0) };
  throw new SipParseError(`not a SIP start line: '${startLine.slice(0, 80)}'`);
}

function contentLength(message: SipMessage): number | null {
  const raw = headerValue(message, 'Content-Length');
  if (raw === undefined) return null;
  if (!/^\d+$/.test(raw)) throw new SipParseError(`bad Content-Length '${raw}'`);
  return Number(raw);
}

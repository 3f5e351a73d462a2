/**
 * The little SDP redial ever writes itself. In the third-party call flow the offer and answer are
 * the callee's and the agent's; redial only needs an answer of its own when it must ACK a 2xx
 * offer it cannot take any more (the agent failed, the call was cancelled): an answer that
 * rejects every stream (port 0, RFC 3264 §6) so no media flows before the BYE.
 */

export function rejectOffer(offer: string): string {
  const media = offer
    .split(/\r?\n/)
    .filter((line) => line.startsWith('m='))
    .map((line) => {
      const [type = 'audio', , proto = 'RTP/AVP', ...formats] = line.slice(2).trim().split(/\s+/);
      return `m=${type} 0 ${proto} ${formats.length > 0 ? formats.join(' ') : '0'}`;
    });
  return ['v=0', 'o=redial 0 0 IN IP4 0.0.0.0', 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', ...(media.length > 0 ? media : ['m=audio 0 RTP/AVP 0']), ''].join('\r\n');
}

export function isSdp(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/sdp';
}

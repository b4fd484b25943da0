/**
 * DNS-like UDP payloads: a real query for `svc.cluster.local` A and its answer (RFC 1035 4.1), so that
 * dissectors that decode port 53 find well-formed messages. One buffer each, made once; the message id
 * is patched in per packet (the caller copies the bytes out before the next call).
 */
export const DNS_PORT = 53;

const QUESTION = [3, ...ascii('svc'), 7, ...ascii('cluster'), 5, ...ascii('local'), 0, 0, 1, 0, 1];
const QUERY = Uint8Array.from([0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...QUESTION]);
// The answer points back at the question's name (0xc00c), type A, class IN, TTL 30, 4 bytes of address.
const RESPONSE = Uint8Array.from([0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, ...QUESTION,
  0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 0, 10]);

function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

export function dnsQuery(id: number): Uint8Array {
  QUERY[0] = id >>> 8;
  QUERY[1] = id & 255;
  return QUERY;
}

export function dnsResponse(id: number): Uint8Array {
  RESPONSE[0] = id >>> 8;
  RESPONSE[1] = id & 255;
  return RESPONSE;
}

/**
 * The IPv6 extension-header walk (RFC 8200 section 4), shared by the outer packet and by the packet an
 * ICMPv6 error quotes. Results go into a small typed array rather than an object (or module variables,
 * which V8 boxes into a new heap number when a value such as a 32-bit fragment id leaves the small-integer
 * range), so the walk allocates nothing. Read them right after the call; the decoder is not re-entrant.
 */
import { copyU32be, u16be } from './bytes.js';
import { FRAG6_HLEN, FRAG6_ID, FRAG6_M, FRAG6_OFFSET, FRAG6_OFFSET_MASK, IPV6_MAX_EXT, IpProto } from './offsets.js';

/** Indices into `ext`. */
export const EXT_PROTO = 0; // the upper-layer protocol (or the last header seen when the walk stopped early)
export const EXT_OFFSET = 1; // offset of the upper-layer header
export const EXT_FRAGMENT = 2; // FRAG_NONE, FRAG_FIRST, FRAG_LATER or FRAG_ATOMIC
export const EXT_FRAGMENT_ID = 3;
export const EXT_BROKEN = 4; // 1 when the chain ran past its end or past IPV6_MAX_EXT headers
export const ext = new Uint32Array(5);

export const FRAG_NONE = 0;
/** Offset 0 with M set: carries the upper-layer header, more fragments follow. */
export const FRAG_FIRST = 1;
/** Non-zero offset: no upper-layer header. */
export const FRAG_LATER = 2;
/** Offset 0 and no M (RFC 6946): a whole packet in a fragment header, not really a fragment. */
export const FRAG_ATOMIC = 3;

/**
 * Walks from header `next` at offset `p` up to `end`. Hop-by-hop, routing and destination options are
 * (len + 1) * 8 bytes long; AH is (len + 2) * 4 (RFC 4302 section 2.2); the fragment header is 8. ESP and
 * "no next header" end the walk: what follows is opaque, and the protocol reported is 50 or 59.
 */
export function walkIpv6Ext(b: Uint8Array, p: number, next: number, end: number): void {
  ext[EXT_FRAGMENT] = FRAG_NONE;
  ext[EXT_FRAGMENT_ID] = 0;
  for (let i = 0; i < IPV6_MAX_EXT; i++) {
    if (isLengthed(next)) {
      if (p + 2 > end) return stop(next, p, true);
      const len = next === IpProto.AH ? (b[p + 1]! + 2) * 4 : (b[p + 1]! + 1) * 8;
      next = b[p]!;
      p += len;
    } else if (next === IpProto.FRAGMENT) {
      if (p + FRAG6_HLEN > end) return stop(next, p, true);
      const fo = u16be(b, p + FRAG6_OFFSET);
      copyU32be(b, p + FRAG6_ID, ext, EXT_FRAGMENT_ID);
      next = b[p]!;
      p += FRAG6_HLEN;
      if ((fo & FRAG6_OFFSET_MASK) !== 0) {
        ext[EXT_FRAGMENT] = FRAG_LATER;
        return stop(next, p, false); // no upper-layer header in a later fragment
      }
      ext[EXT_FRAGMENT] = (fo & FRAG6_M) !== 0 ? FRAG_FIRST : FRAG_ATOMIC;
    } else {
      return stop(next, p, p > end);
    }
  }
  stop(next, p, isLengthed(next) || next === IpProto.FRAGMENT || p > end);
}

function isLengthed(next: number): boolean {
  return next === IpProto.HOPOPTS || next === IpProto.ROUTING || next === IpProto.DSTOPTS || next === IpProto.AH;
}

function stop(next: number, p: number, broken: boolean): void {
  ext[EXT_PROTO] = next;
  ext[EXT_OFFSET] = p;
  ext[EXT_BROKEN] = broken ? 1 : 0;
}

/**
 * The IPv6 extension-header walk (RFC 8200 section 4), shared by the outer packet and by the packet an
 * ICMPv6 error quotes. Results go into module-level fields rather than an object, so the walk allocates
 * nothing; read them right after the call (the decoder is single-threaded and not re-entrant here).
 */
import { u16be, u32be } from './bytes.js';
import { FRAG6_HLEN, FRAG6_ID, FRAG6_M, FRAG6_OFFSET, FRAG6_OFFSET_MASK, IPV6_MAX_EXT, IpProto } from './offsets.js';

/** The upper-layer protocol found (or the last header seen when the walk stopped early). */
export let extProto = 0;
/** Offset of the upper-layer header. */
export let extOffset = 0;
/** Fragment header: 0 none; 1 first fragment (offset 0, M set); 2 later fragment; 3 atomic (offset 0, no M). */
export let extFragment = 0;
export let extFragmentId = 0;
/** The chain ran past `end` or past IPV6_MAX_EXT headers. */
export let extBroken = false;

export const FRAG_NONE = 0;
export const FRAG_FIRST = 1;
export const FRAG_LATER = 2;

/**
 * Walks from header `next` at offset `p` up to `end`. Hop-by-hop, routing and destination options are
 * (len + 1) * 8 bytes long; AH is (len + 2) * 4 (RFC 4302 section 2.2); the fragment header is 8. ESP and
 * "no next header" end the walk: what follows is opaque, and the protocol reported is 50 or 59.
 */
export function walkIpv6Ext(b: Uint8Array, p: number, next: number, end: number): void {
  extFragment = FRAG_NONE;
  extFragmentId = 0;
  extBroken = false;
  for (let i = 0; i < IPV6_MAX_EXT; i++) {
    if (isLengthed(next)) {
      if (p + 2 > end) return stop(next, p, true);
      const len = next === IpProto.AH ? (b[p + 1]! + 2) * 4 : (b[p + 1]! + 1) * 8;
      next = b[p]!;
      p += len;
    } else if (next === IpProto.FRAGMENT) {
      if (p + FRAG6_HLEN > end) return stop(next, p, true);
      const fo = u16be(b, p + FRAG6_OFFSET);
      extFragmentId = u32be(b, p + FRAG6_ID);
      next = b[p]!;
      p += FRAG6_HLEN;
      if ((fo & FRAG6_OFFSET_MASK) !== 0) {
        extFragment = FRAG_LATER;
        return stop(next, p, false); // no upper-layer header in a later fragment
      }
      extFragment = (fo & FRAG6_M) !== 0 ? FRAG_FIRST : 3;
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
  extProto = next;
  extOffset = p;
  extBroken = broken;
}

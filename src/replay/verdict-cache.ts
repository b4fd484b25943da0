/**
 * The reference model's memory of its decisions: the evaluator's verdict per flow as NetworkPolicy sees
 * it (family, both addresses, protocol, destination port: all that `evaluate` reads of a packet), so that
 * the evaluator runs once per flow, not once per opening packet.
 *
 * An open-addressing table over typed arrays. A key is laid out as a conntrack tuple (four source words,
 * four destination words, family << 8 | protocol, then the destination port) so that conntrack's tuple
 * hash serves. It was a Map keyed by a string built per opening packet: on 1M small-tier packets (187k
 * openings) that string and its lookup took a fifth of the reference replay.
 *
 * Bounded: past `maxFlows` it starts again empty (it is a cache; the evaluator decides the same again).
 */
import { hashTuple, TUPLE_WORDS } from '../conntrack/table.js';
import type { FlowBatch } from '../wire/flow-batch.js';

const FAMILY_PROTO_WORD = 8;
const PORT_WORD = 9;
/** By default at most this many flows before it starts again: 45 bytes a slot, two slots a flow, 45 MiB. */
export const MAX_FLOWS = 1 << 19;
const FIRST_SLOTS = 4096;
/** A slot's verdict byte: 0 empty, else the verdict + 1. */
const EMPTY = 0;

export class VerdictCache {
  /** `maxFlows`: a power of two, at least 2,048. */
  constructor(private readonly maxFlows = MAX_FLOWS) {}

  private keys = new Uint32Array(FIRST_SLOTS * TUPLE_WORDS);
  private verdicts = new Uint8Array(FIRST_SLOTS);
  private hashes = new Int32Array(FIRST_SLOTS);
  private mask = FIRST_SLOTS - 1;
  /** Flows held. */
  size = 0;
  /** The row's key, built once by `find` for `store`. */
  private readonly key = new Uint32Array(TUPLE_WORDS);
  private hash = 0;
  private slot = 0;

  /**
   * The verdict cached for row i's flow (`ports`: whether its protocol has ports NetworkPolicy matches),
   * or -1; then `store` (before any other row's `find`) records the evaluator's verdict for it.
   */
  find(batch: FlowBatch, i: number, ports: boolean): number {
    const k = this.key;
    const o = i * 4;
    for (let w = 0; w < 4; w++) {
      k[w] = batch.src[o + w]!;
      k[4 + w] = batch.dst[o + w]!;
    }
    k[FAMILY_PROTO_WORD] = (batch.family[i]! << 8) | batch.proto[i]!;
    k[PORT_WORD] = ports ? batch.dstPort[i]! : 0;
    const hash = hashTuple(k, 0);
    const mask = this.mask;
    let s = hash & mask;
    for (; this.verdicts[s] !== EMPTY; s = (s + 1) & mask) {
      if (this.hashes[s] === hash && this.sameKey(s)) return this.verdicts[s]! - 1;
    }
    this.hash = hash;
    this.slot = s;
    return -1;
  }

  /** Records `verdict` for the flow the last `find` missed. */
  store(verdict: number): void {
    if ((this.size + 1) * 2 > this.verdicts.length) {
      if (this.verdicts.length >= this.maxFlows * 2) this.reset(FIRST_SLOTS);
      else this.grow();
      this.slot = this.freeSlot(this.hash);
    }
    this.put(this.slot, this.key, 0, this.hash, verdict);
    this.size++;
  }

  private sameKey(s: number): boolean {
    const keys = this.keys;
    const k = this.key;
    const at = s * TUPLE_WORDS;
    for (let w = 0; w < TUPLE_WORDS; w++) if (keys[at + w] !== k[w]) return false;
    return true;
  }

  private freeSlot(hash: number): number {
    let s = hash & this.mask;
    while (this.verdicts[s] !== EMPTY) s = (s + 1) & this.mask;
    return s;
  }

  private put(s: number, from: Uint32Array, at: number, hash: number, verdict: number): void {
    const to = s * TUPLE_WORDS;
    for (let w = 0; w < TUPLE_WORDS; w++) this.keys[to + w] = from[at + w]!;
    this.hashes[s] = hash;
    this.verdicts[s] = verdict + 1;
  }

  private reset(slots: number): void {
    this.keys = new Uint32Array(slots * TUPLE_WORDS);
    this.verdicts = new Uint8Array(slots);
    this.hashes = new Int32Array(slots);
    this.mask = slots - 1;
    this.size = 0;
  }

  /** Twice the slots, every flow placed again from its stored hash. */
  private grow(): void {
    const { keys, verdicts, hashes } = this;
    this.reset(verdicts.length * 2);
    for (let s = 0; s < verdicts.length; s++) {
      if (verdicts[s] === EMPTY) continue;
      this.put(this.freeSlot(hashes[s]!), keys, s * TUPLE_WORDS, hashes[s]!, verdicts[s]! - 1);
      this.size++;
    }
  }
}

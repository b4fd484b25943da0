/**
 * A small seeded PRNG (xorshift128, Marsaglia 2003) over four 32-bit words: the same seed gives the
 * same sequence on every platform, with integer arithmetic only and no allocation per draw.
 */
export class Rng {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    // SplitMix32-style scrambling of the seed so that nearby seeds give unrelated streams.
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      this.s[i] = (t ^ (t >>> 16)) >>> 0;
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    this.step();
    return this.s[0]!;
  }

  /** The top 30 bits of a draw (next() >>> 2): always a small integer in V8, never boxed. */
  next30(): number {
    this.step();
    return this.s[0]! >>> 2;
  }

  /** A uniform integer in [0, n) for n >= 1 (multiply-shift; bias below 2^-20 for the n used here). */
  below(n: number): number {
    this.step();
    return Math.floor((this.s[0]! / 4294967296) * n);
  }

  /**
   * One step of the generator; the draw is s[0]. It returns nothing, and below() and next30() read the
   * draw themselves: a uint32 above 2^30 returned from a call V8 does not inline is a new heap number,
   * and below() calling next() allocated one per packet of synth in some runs (19 bytes a packet in
   * test/traffic/synth's allocation test, depending on what V8 inlined).
   */
  private step(): void {
    const s = this.s;
    let t = s[3]!;
    const x = s[0]!;
    s[3] = s[2]!;
    s[2] = s[1]!;
    s[1] = x;
    t ^= t << 11;
    t ^= t >>> 8;
    s[0] = (t ^ x ^ (x >>> 19)) >>> 0;
  }
}

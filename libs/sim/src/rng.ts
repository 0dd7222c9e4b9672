/**
 * Seeded randomness for the simulator. Every random draw in libs/sim goes through a
 * `SimRng`, so the same seed gives the same tape. Only integer and IEEE-754 basic
 * arithmetic (+ - * / sqrt, which are exactly specified) is used on the way from the
 * generator to a value, so a tape is identical on every platform, not just on one.
 */

import { ValidationError } from '@perpmesh/core';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

const TWO_POW_32 = 0x1_0000_0000;

export class SimRng {
  private constructor(private readonly gen: JumpableRandomGenerator) {}

  /** `seed` is any non-negative safe integer (all 53 bits are used). */
  static fromSeed(seed: number): SimRng {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new ValidationError('seed', `must be a non-negative safe integer, got ${String(seed)}`);
    }
    const lo = (seed % TWO_POW_32) | 0;
    const hi = Math.floor(seed / TWO_POW_32) | 0;
    // ~hi is never 0 for hi >= 0, so the state is never all zeros (xoroshiro's one bad state).
    const gen = xoroshiro128plusFromState([~hi, ~lo, lo, hi]);
    // The first outputs of a low-entropy state are poorly mixed: skip them.
    for (let i = 0; i < 16; i++) gen.next();
    return new SimRng(gen);
  }

  /**
   * An independent stream for one component (a venue, an instrument...), 2^64 draws away
   * from this one, so adding draws to one component never shifts another's sequence.
   */
  fork(): SimRng {
    this.gen.jump();
    const child = this.gen.clone();
    this.gen.jump();
    return new SimRng(child);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform integer in [from, to], both included. */
  int(from: number, to: number): number {
    return uniformInt(this.gen, from, to);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /**
   * Standard normal, approximated by Irwin-Hall (sum of 12 uniforms - 6): mean 0,
   * variance 1, bounded to ±6. Arithmetic only (no Math.log/cos), hence bit-exact
   * across platforms; the missing far tails are supplied by explicit jumps.
   */
  normal(): number {
    let sum = 0;
    for (let i = 0; i < 12; i++) sum += this.float();
    return sum - 6;
  }

  /** Picks one element uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new ValidationError('items', 'cannot pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }
}

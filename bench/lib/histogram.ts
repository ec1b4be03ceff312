/**
 * A fixed-size, log-linear latency histogram in the spirit of HdrHistogram:
 * values are integer nanoseconds, each power-of-two range is split into 64
 * linear sub-buckets, so any recorded value is known to within 1/64 (< 1.6 %).
 * Recording is two shifts and an array increment: no allocation on the hot path.
 * Histograms of several connections or runs merge by adding their counts.
 */

/** Sub-buckets per power of two; the relative error of a reading is at most 1/SUB_BUCKETS_HALF. */
const SUB_BUCKET_BITS = 7;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS; // 128: values below this are exact
const SUB_BUCKETS_HALF = SUB_BUCKETS >> 1; // 64
/** Largest trackable value: 2^31 - 1 ns (about 2.1 s); larger values are clamped and counted. */
export const HISTOGRAM_MAX_NS = 0x7fffffff;
/** Highest shift for a 31-bit value: top bit 30, keep 7 bits -> shift 24. */
const MAX_SHIFT = 30 - (SUB_BUCKET_BITS - 1);
const BUCKET_COUNT = SUB_BUCKETS + MAX_SHIFT * SUB_BUCKETS_HALF;

/** The index of the bucket holding `value` (0 <= value <= HISTOGRAM_MAX_NS). */
function bucketIndex(value: number): number {
  if (value < SUB_BUCKETS) return value;
  const shift = 31 - Math.clz32(value) - (SUB_BUCKET_BITS - 1);
  return SUB_BUCKETS + (shift - 1) * SUB_BUCKETS_HALF + ((value >>> shift) - SUB_BUCKETS_HALF);
}

/** The smallest value that falls into bucket `index`. */
function bucketLowest(index: number): number {
  if (index < SUB_BUCKETS) return index;
  const rest = index - SUB_BUCKETS;
  const shift = Math.floor(rest / SUB_BUCKETS_HALF) + 1;
  const sub = (rest % SUB_BUCKETS_HALF) + SUB_BUCKETS_HALF;
  return sub * 2 ** shift;
}

/** The width of bucket `index` (1 for the exact range). */
function bucketWidth(index: number): number {
  if (index < SUB_BUCKETS) return 1;
  return 2 ** (Math.floor((index - SUB_BUCKETS) / SUB_BUCKETS_HALF) + 1);
}

/** A plain-object copy of a histogram, for JSON between processes. */
export interface HistogramSnapshot {
  /** `[bucketIndex, count]` pairs for non-empty buckets. */
  readonly buckets: ReadonlyArray<readonly [number, number]>;
  readonly count: number;
  readonly maxNs: number;
  readonly clamped: number;
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKET_COUNT);
  #count = 0;
  #maxNs = 0;
  #clamped = 0;

  /** Records one value in nanoseconds; negative values count as 0, huge ones are clamped. */
  record(ns: number): void {
    let value = ns > 0 ? Math.round(ns) : 0;
    if (value > HISTOGRAM_MAX_NS) {
      value = HISTOGRAM_MAX_NS;
      this.#clamped++;
    }
    this.#counts[bucketIndex(value)]!++;
    this.#count++;
    if (value > this.#maxNs) this.#maxNs = value;
  }

  get count(): number {
    return this.#count;
  }

  get maxNs(): number {
    return this.#maxNs;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#maxNs = 0;
    this.#clamped = 0;
  }

  /**
   * The value at percentile `p` (0-100) in nanoseconds: the middle of the bucket
   * holding the rank-th smallest value (never above the recorded maximum). 0 when empty.
   */
  percentileNs(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(Math.max(p, 0), 100) / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) {
        const middle = bucketLowest(i) + (bucketWidth(i) - 1) / 2;
        return Math.min(middle, this.#maxNs);
      }
    }
    return this.#maxNs;
  }

  /** Adds every count of `other` to this histogram. */
  merge(other: LatencyHistogram | HistogramSnapshot): void {
    const snapshot = other instanceof LatencyHistogram ? other.snapshot() : other;
    for (const [index, count] of snapshot.buckets) {
      if (index >= 0 && index < BUCKET_COUNT) this.#counts[index]! += count;
    }
    this.#count += snapshot.count;
    this.#clamped += snapshot.clamped;
    if (snapshot.maxNs > this.#maxNs) this.#maxNs = snapshot.maxNs;
  }

  snapshot(): HistogramSnapshot {
    const buckets: Array<readonly [number, number]> = [];
    for (let i = 0; i < BUCKET_COUNT; i++) {
      const count = this.#counts[i]!;
      if (count > 0) buckets.push([i, count]);
    }
    return { buckets, count: this.#count, maxNs: this.#maxNs, clamped: this.#clamped };
  }

  static fromSnapshot(snapshot: HistogramSnapshot): LatencyHistogram {
    const histogram = new LatencyHistogram();
    histogram.merge(snapshot);
    return histogram;
  }
}

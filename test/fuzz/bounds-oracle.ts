/**
 * An independent oracle for "the decoder read only bytes inside the payload".
 *
 * The `flatbuffers` runtime reads single bytes by index, cuts strings with
 * `subarray`, and builds `...Array()` views on the underlying ArrayBuffer. Wrapping
 * an exactly sized copy of the payload in a Proxy that throws on any index outside
 * it and on any `subarray` reaching past it — the ArrayBuffer being exactly sized,
 * views past it throw RangeError by themselves — turns a silent out-of-bounds read
 * (garbage or a truncated view, which is what the runtime does without a verifier)
 * into an exception the fuzz property sees.
 */

/** An out-of-bounds read caught by {@link strictBytes}. */
export class OutOfBoundsRead extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutOfBoundsRead';
  }
}

/** A copy of `bytes` that throws {@link OutOfBoundsRead} on any read outside it. */
export function strictBytes(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes);
  const length = copy.length;
  const subarray = (begin: number, end: number): Uint8Array => {
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end >= begin && end <= length)) {
      throw new OutOfBoundsRead(`subarray(${begin}, ${end}) of ${length} bytes`);
    }
    return copy.subarray(begin, end);
  };
  return new Proxy(copy, {
    get(target, prop) {
      if (typeof prop === 'string') {
        const first = prop.charCodeAt(0);
        // Index reads: digits, or a minus sign / "NaN" / "Infinity" from arithmetic gone wrong.
        if ((first >= 48 && first <= 57) || first === 45 || prop === 'NaN' || prop === 'Infinity') {
          const index = Number(prop);
          if (!Number.isInteger(index) || index < 0 || index >= length) {
            throw new OutOfBoundsRead(`read at ${prop} of ${length} bytes`);
          }
          return target[index];
        }
        if (prop === 'subarray') return subarray;
        if (prop === 'undefined') throw new OutOfBoundsRead(`read at undefined of ${length} bytes`);
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

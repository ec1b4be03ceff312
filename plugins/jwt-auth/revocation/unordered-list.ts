/**
 * Remove `item` from a list whose order does not matter, by moving the last element into
 * its place (no shifting, no new array). The revocation code keeps its reads in flight in
 * such short lists rather than in maps that would grow and shrink with every read.
 */
export function removeUnordered<T>(list: T[], item: T): void {
  const at = list.indexOf(item);
  if (at < 0) return;
  const last = list.pop()!;
  if (at < list.length) list[at] = last;
}

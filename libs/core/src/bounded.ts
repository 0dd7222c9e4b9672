/**
 * Insertion-ordered maps and sets with a capacity, for what a long-lived object remembers
 * per order, trade or incident: the oldest entries go once the capacity is passed, so a
 * process that runs for weeks holds at most `capacity` of them.
 */

function checkCapacity(capacity: number): void {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`capacity must be a whole number >= 1, got ${capacity}`);
  }
}

/** Sets `key` (moved to the newest place), then drops the oldest entries beyond `capacity`. */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, capacity: number): void {
  checkCapacity(capacity);
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= capacity) break;
    map.delete(oldest);
  }
}

/**
 * Adds `key` unless the set has it (its place then unchanged), then drops the oldest
 * entries beyond `capacity`. Returns whether it was new: the "seen before?" of a dedupe window.
 */
export function addBounded<K>(set: Set<K>, key: K, capacity: number): boolean {
  checkCapacity(capacity);
  if (set.has(key)) return false;
  set.add(key);
  for (const oldest of set) {
    if (set.size <= capacity) break;
    set.delete(oldest);
  }
  return true;
}

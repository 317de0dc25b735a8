/**
 * Whether a JSON value nests deeper than `max` (objects and arrays), checked without recursion: a
 * client's variables are hashed into the cache key by a recursive function, which a few thousand
 * levels would overflow.
 */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length) {
    const { value: v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

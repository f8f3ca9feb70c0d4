/**
 * Whether any string in a parsed JSON value (keys included) holds a NUL character.
 *
 * Iterative, with an explicit stack: a 1 MiB frame can nest arrays half a million deep,
 * which JSON.parse handles but a recursive walk does not (it overflowed the stack, and
 * the frame was answered 70500 with an error logged, per frame). The walk visits each
 * value once, so its cost is bounded by the frame size like the parse before it.
 */
export function containsNul(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return true;
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) {
        if (key.includes('\u0000')) return true;
        stack.push((value as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

// When to offer « Reprendre à 12:34 » (pure; unit-tested).

/** The saved position worth resuming from, or undefined (none, too early, finished). */
export function resumePosition(p: { position: number; duration: number; completed: boolean } | null, duration: number): number | undefined {
  if (!p || p.completed) return undefined;
  const d = duration || p.duration;
  if (p.position < 5 || (d > 0 && p.position > d - 5)) return undefined;
  return p.position;
}

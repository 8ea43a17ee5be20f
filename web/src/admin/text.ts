// Pure text helpers of the admin app (unit-tested).

/** "a, b ,,c, a" → ["a", "b", "c"] (trimmed, unique, in order). */
export function parseTags(s: string): string[] {
  return [...new Set(s.split(',').map((x) => x.trim()).filter(Boolean))];
}

/** "Ma_vidéo.final.mp4" → "Ma vidéo.final": the default title of an upload. */
export function titleFromFilename(name: string): string {
  const i = name.lastIndexOf('.');
  const base = i > 0 ? name.slice(0, i) : name;
  return base.replace(/_+/g, ' ').trim() || name;
}

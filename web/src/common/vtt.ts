// Storyboard thumbnails: a WebVTT track whose cues point into sprite sheets,
// e.g. "sprite_0.jpg?vt=…#xywh=160,0,160,90", relative to the VTT's URL.

export interface StoryboardCue {
  start: number; // seconds
  end: number;
  url: string; // absolute URL of the sprite sheet (no fragment)
  x: number;
  y: number;
  w: number;
  h: number;
}

/** "01:02:03.500" or "02:03.500" → seconds; NaN if malformed. */
export function parseVttTimestamp(s: string): number {
  const m = /^(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?$/.exec(s.trim());
  if (!m) return NaN;
  const [, h, min, sec, frac] = m;
  return (
    (h ? Number(h) * 3600 : 0) +
    Number(min) * 60 +
    Number(sec) +
    (frac ? Number(frac.padEnd(3, '0')) / 1000 : 0)
  );
}

/**
 * Parses a storyboard track. Cues without a valid #xywh fragment are
 * skipped, as are NOTE/STYLE blocks. baseUrl resolves relative sprite URLs.
 */
export function parseStoryboardVtt(text: string, baseUrl: string): StoryboardCue[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  if (!lines[0]?.startsWith('WEBVTT')) return [];
  const cues: StoryboardCue[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const arrow = line.indexOf('-->');
    if (arrow < 0) continue;
    const start = parseVttTimestamp(line.slice(0, arrow));
    const end = parseVttTimestamp(line.slice(arrow + 3).trim().split(/\s+/)[0] ?? '');
    const payload = (lines[i + 1] ?? '').trim();
    i++;
    if (!Number.isFinite(start) || !Number.isFinite(end) || !payload) continue;
    const hash = payload.lastIndexOf('#xywh=');
    if (hash < 0) continue;
    const nums = payload.slice(hash + 6).split(',').map(Number);
    if (nums.length !== 4 || nums.some((n) => !Number.isFinite(n) || n < 0)) continue;
    let url: string;
    try {
      url = new URL(payload.slice(0, hash), baseUrl).toString();
    } catch {
      continue;
    }
    const [x, y, w, h] = nums;
    cues.push({ start, end, url, x, y, w, h });
  }
  cues.sort((a, b) => a.start - b.start);
  return cues;
}

/** The cue shown at time t (binary search); the last one past the end. */
export function findCue(cues: StoryboardCue[], t: number): StoryboardCue | null {
  if (cues.length === 0 || !Number.isFinite(t)) return null;
  let lo = 0;
  let hi = cues.length - 1;
  if (t <= cues[0].start) return cues[0];
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cues[mid].start <= t) lo = mid;
    else hi = mid - 1;
  }
  return cues[lo];
}

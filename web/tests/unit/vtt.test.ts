import { describe, expect, it } from 'vitest';
import { findCue, parseStoryboardVtt, parseVttTimestamp } from '../../src/common/vtt';

const base = 'https://cdn.example/stream/thumbnails/0123456789abcdef01234567/storyboard.vtt?vt=v1.k1.498922.abc';

// The shape the streamer serves: sprite names relative to the VTT, with the video token.
const vtt = `WEBVTT

00:00:00.000 --> 00:00:02.000
sprite_0.jpg?vt=v1.k1.498922.abc#xywh=0,0,160,90

00:00:02.000 --> 00:00:04.000
sprite_0.jpg?vt=v1.k1.498922.abc#xywh=160,0,160,90

NOTE a comment block

00:00:04.000 --> 00:00:06.500 align:start
sprite_1.jpg?vt=v1.k1.498922.abc#xywh=0,90,160,90
`;

describe('parseVttTimestamp', () => {
  it('reads hours, minutes, seconds and milliseconds', () => {
    expect(parseVttTimestamp('00:00:02.000')).toBe(2);
    expect(parseVttTimestamp('01:02:03.500')).toBe(3723.5);
    expect(parseVttTimestamp('02:03.250')).toBe(123.25);
    expect(parseVttTimestamp('00:00:01.5')).toBe(1.5);
    expect(parseVttTimestamp('garbage')).toBeNaN();
  });
});

describe('parseStoryboardVtt', () => {
  it('parses cues and resolves sprites relative to the VTT URL', () => {
    const cues = parseStoryboardVtt(vtt, base);
    expect(cues).toHaveLength(3);
    expect(cues[0]).toEqual({
      start: 0,
      end: 2,
      url: 'https://cdn.example/stream/thumbnails/0123456789abcdef01234567/sprite_0.jpg?vt=v1.k1.498922.abc',
      x: 0,
      y: 0,
      w: 160,
      h: 90,
    });
    expect(cues[1]).toMatchObject({ start: 2, end: 4, x: 160, y: 0 });
    expect(cues[2]).toMatchObject({ start: 4, end: 6.5, x: 0, y: 90 });
    expect(cues[2].url).toContain('/sprite_1.jpg?vt=');
  });
  it('handles CRLF, a BOM and absolute sprite URLs', () => {
    const text = '\uFEFFWEBVTT\r\n\r\n00:00.000 --> 00:05.000\r\nhttps://img.example/s.jpg#xywh=1,2,3,4\r\n';
    expect(parseStoryboardVtt(text, base)).toEqual([{ start: 0, end: 5, url: 'https://img.example/s.jpg', x: 1, y: 2, w: 3, h: 4 }]);
  });
  it('skips cues without a valid #xywh and rejects non-WebVTT text', () => {
    const text = 'WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nsprite_0.jpg\n\n00:00:01.000 --> 00:00:02.000\nsprite_0.jpg#xywh=1,2,x,4\n';
    expect(parseStoryboardVtt(text, base)).toEqual([]);
    expect(parseStoryboardVtt('<html>oops</html>', base)).toEqual([]);
    expect(parseStoryboardVtt('', base)).toEqual([]);
  });
});

describe('findCue', () => {
  const cues = parseStoryboardVtt(vtt, base);
  it('finds the cue covering a time', () => {
    expect(findCue(cues, 0)?.x).toBe(0);
    expect(findCue(cues, 1.99)?.x).toBe(0);
    expect(findCue(cues, 2)?.x).toBe(160);
    expect(findCue(cues, 5)?.y).toBe(90);
  });
  it('clamps before the start and after the end', () => {
    expect(findCue(cues, -1)).toBe(cues[0]);
    expect(findCue(cues, 100)).toBe(cues[2]);
    expect(findCue([], 1)).toBeNull();
  });
});

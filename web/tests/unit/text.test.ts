import { describe, expect, it } from 'vitest';
import { parseTags, titleFromFilename } from '../../src/admin/text';
import { resumePosition } from '../../src/user/resume';

describe('admin text helpers', () => {
  it('parses comma-separated tags', () => {
    expect(parseTags(' a, b ,,c, a ')).toEqual(['a', 'b', 'c']);
    expect(parseTags('')).toEqual([]);
  });
  it('makes a title from a file name', () => {
    expect(titleFromFilename('Ma_vidéo.final.mp4')).toBe('Ma vidéo.final');
    expect(titleFromFilename('.hidden')).toBe('.hidden');
    expect(titleFromFilename('clip')).toBe('clip');
  });
});

describe('resumePosition', () => {
  it('offers to resume in the middle of a video', () => {
    expect(resumePosition({ position: 754, duration: 1800, completed: false }, 1800)).toBe(754);
  });
  it('does not offer it at the very start, at the end, or once finished', () => {
    expect(resumePosition(null, 100)).toBeUndefined();
    expect(resumePosition({ position: 3, duration: 100, completed: false }, 100)).toBeUndefined();
    expect(resumePosition({ position: 97, duration: 100, completed: false }, 100)).toBeUndefined();
    expect(resumePosition({ position: 50, duration: 100, completed: true }, 100)).toBeUndefined();
  });
});

// Inline SVG icons (no icon font: Debian's Chromium may lack emoji glyphs).
const p = { width: 22, height: 22, viewBox: '0 0 24 24', fill: 'currentColor', 'aria-hidden': true, focusable: false } as const;

export const IconPlay = () => (
  <svg {...p}>
    <path d="M8 5v14l11-7z" />
  </svg>
);
export const IconPause = () => (
  <svg {...p}>
    <path d="M6 5h4v14H6zM14 5h4v14h-4z" />
  </svg>
);
export const IconReplay = () => (
  <svg {...p}>
    <path d="M12 5V1L7 6l5 5V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z" />
  </svg>
);
export const IconVolume = () => (
  <svg {...p}>
    <path d="M3 9v6h4l5 5V4L7 9H3zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z" />
  </svg>
);
export const IconMuted = () => (
  <svg {...p}>
    <path d="M3 9v6h4l5 5V4L7 9H3zm13.6 3 2.7-2.7-1.4-1.4-2.7 2.7-2.7-2.7-1.4 1.4 2.7 2.7-2.7 2.7 1.4 1.4 2.7-2.7 2.7 2.7 1.4-1.4z" />
  </svg>
);
export const IconFullscreen = () => (
  <svg {...p}>
    <path d="M7 14H5v5h5v-2H7v-3zm-2-4h2V7h3V5H5v5zm12 7h-3v2h5v-5h-2v3zM14 5v2h3v3h2V5h-5z" />
  </svg>
);
export const IconExitFullscreen = () => (
  <svg {...p}>
    <path d="M5 16h3v3h2v-5H5v2zm3-8H5v2h5V5H8v3zm6 11h2v-3h3v-2h-5v5zm2-11V5h-2v5h5V8h-3z" />
  </svg>
);

import { defineConfig } from 'vitest/config';

// Unit tests of the pure parts only; the browser tests (tests/browser) run
// with node --test against a real server.
export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
  },
});

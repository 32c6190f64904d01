import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // examples/ is a user's project: test/example-package.test.ts installs the packed tarball into a copy and runs its tests there
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});

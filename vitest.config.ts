import { defineConfig } from 'vitest/config';

// Two tiers: unit tests need no services; integration tests run against the local
// stack (npm run stack:up) and share it, each file using its own database, topics and group.
export default defineConfig({
  test: {
    // One file at a time: two cores, one broker, one FerretDB shared by every test file.
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.unit.test.ts'],
        },
      },
      {
        test: {
          name: 'int',
          include: ['test/int/**/*.int.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});

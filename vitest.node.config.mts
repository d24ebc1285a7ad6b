import { defineConfig } from "vitest/config";

/** Node-side tests (tools, local libSQL server), outside the Workers runtime. */
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
  },
});

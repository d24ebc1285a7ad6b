import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Worker and Durable Object tests, inside the Workers runtime. The global
 * setup starts the local libSQL server (real engine, real Hrana over HTTP)
 * and migrates the management DB; the Worker under test points at it.
 */
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => {
      const libsql = inject<{ url: string; token: string; encryptionKey: string }>("libsql");
      return {
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ENVIRONMENT: "test",
            MGMT_DB_URL: `${libsql.url}/management/`,
            MGMT_DB_TOKEN: libsql.token,
            TURSO_API_URL: libsql.url,
            TURSO_API_TOKEN: libsql.token,
            TURSO_ORG: "local",
            TENANT_DB_URL_SCHEME: "http",
            DB_TOKEN_ENCRYPTION_KEY: libsql.encryptionKey,
            ADMIN_TOKEN: "test-admin-token",
            METRICS_TOKEN: "test-metrics-token",
          },
        },
      };
    }),
  ],
  test: {
    include: ["test/worker/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 30_000,
  },
});

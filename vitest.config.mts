import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import type { TestStack } from "./test/global-setup";
import { stripDependencySourceMaps } from "./tools/vitest/strip-dependency-source-maps.ts";

/**
 * Worker and Durable Object tests, inside the Workers runtime. The global
 * setup starts the local libSQL servers (real engine, real Hrana over HTTP)
 * and migrates the management DB; the Worker under test points at them.
 */
export default defineConfig({
  plugins: [
    stripDependencySourceMaps(),
    cloudflareTest(({ inject }) => {
      const stack = inject<TestStack>("stack");
      const secrets = {
        MGMT_DB_TOKEN: stack.token,
        TURSO_API_TOKEN: stack.token,
        DB_TOKEN_ENCRYPTION_KEY: stack.encryptionKey,
        ADMIN_TOKEN: "test-admin-token",
        METRICS_TOKEN: "test-metrics-token",
        STRIPE_SECRET_KEY: stack.stripe.apiKey,
        STRIPE_WEBHOOK_SECRET: stack.stripe.webhookSecret,
      };
      // wrangler checks `[secrets] required` against process.env; these are the test run's values.
      Object.assign(process.env, secrets);
      return {
        // The plugin runs workerd verbose by default, which prints workerd's own internal
        // exceptions: every outbound fetch that meets a refused or dropped connection logs an
        // "Uncaught (in promise) Network connection lost" trace even when our code caught and
        // handled the rejection (a bare `await fetch(refusedPort).catch(...)` shows it). That
        // buried real faults under outage-suite noise. Quiet mode loses nothing we rely on: an
        // unhandled rejection in a test, the Worker or a Durable Object still reaches vitest,
        // which reports it and fails the run. test/node/test-output.test.ts keeps it that way.
        verbose: false,
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ...secrets,
            ENVIRONMENT: "test",
            // Tests reach the Worker as http://localhost (see test/worker/mcp-support.ts).
            PUBLIC_URL: "http://localhost",
            MGMT_DB_URL: `${stack.mgmtUrl}/management/`,
            TURSO_API_URL: stack.tenantsUrl,
            TURSO_ORG: "local",
            TENANT_DB_URL_SCHEME: "http",
            // Ship metrics at the end of each request so assertions see them at once.
            METRICS_FLUSH_MS: "0",
            // Health checks on every request, so outage tests see a stopped database at once.
            HEALTH_CACHE_MS: "0",
            // Short breaker periods so outage tests see open → half-open → closed in a second.
            BREAKER_FAILURE_THRESHOLD: "3",
            BREAKER_OPEN_MS: "300",
            BREAKER_MAX_OPEN_MS: "600",
            DB_TIMEOUT_MS: "3000",
            TEST_CONTROL_URL: stack.controlUrl,
            // Billing against the fake Stripe the global setup started.
            STRIPE_API_BASE: stack.stripe.url,
            STRIPE_PRICE_PRO: stack.stripe.prices.pro,
            STRIPE_PRICE_TEAM: stack.stripe.prices.team,
            BILLING_SUCCESS_URL: "http://localhost/app/billing?checkout=success",
            BILLING_CANCEL_URL: "http://localhost/app/billing?checkout=cancelled",
          },
        },
      };
    }),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    projects: [
      {
        extends: true,
        test: { name: "worker", include: ["test/worker/**/*.test.ts"], exclude: ["test/worker/outage/**"] },
      },
      // Outage tests stop and restart the shared database servers, so they run
      // alone, after every other Worker test has finished.
      {
        extends: true,
        test: { name: "outage", include: ["test/worker/outage/**/*.test.ts"], sequence: { groupOrder: 1 } },
      },
    ],
    testTimeout: 30_000,
    // Hooks provision real tenants (a database created and migrated each); on a loaded machine
    // that outlasts the 10 s default, so they get the same budget as a test.
    hookTimeout: 30_000,
    // Structured request logs only matter when a test fails.
    silent: "passed-only",
  },
});

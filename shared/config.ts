import { z } from "zod";
import { DEFAULT_PLAN_LIMITS, type PlanLimitTable } from "./plans";

/**
 * The one place that reads configuration from the Worker environment. Every
 * other module receives a `Config` (or the part it needs) instead of reaching
 * into `env`, so defaults and validation live here and nowhere else.
 */
export interface Config {
  /**
   * `production` unless set. Only the local stack sets `development`, which
   * serves `/metrics` without its token (that stack listens on loopback only).
   */
  environment: string;
  /**
   * The origin clients reach this service at (`https://api.muninn.pro`): the
   * OAuth issuer, and with `/mcp` the protected resource every token is
   * bound to. Fixed by configuration, never taken from a request's Host.
   */
  publicUrl: string;
  mgmtDb: { url: string; authToken: string };
  turso: { apiUrl: string; apiToken: string; org: string; group: string; dbUrlScheme: "https" | "http" };
  /** Base64 of a 32-byte AES-256-GCM key for tenant DB tokens at rest. */
  dbTokenEncryptionKey: string;
  adminToken: string;
  metricsToken: string;
  allowedOrigins: string[];
  /** Timeout for a single Turso (Hrana or Platform API) call. */
  dbTimeoutMs: number;
  /** Legacy-era MCP sessions: idle timeout, hard lifetime, and the largest `/mcp` request body accepted. */
  mcp: { sessionIdleTimeoutMs: number; sessionMaxLifetimeMs: number; maxBodyBytes: number; allowedHosts: string[] };
  /** Plan limits in force: `DEFAULT_PLAN_LIMITS` with this environment's `PLAN_LIMITS` applied. */
  planLimits: PlanLimitTable;
  /** How long a tenant's usage counters may wait before they are written to the management DB. */
  usageFlushIntervalMs: number;
  /** Requests per minute one client IP may make to unauthenticated endpoints (signup, login, OAuth). */
  ipRateLimitPerMinute: number;
  /** Requests per minute one tenant may make to routes that call Stripe (Checkout, the billing portal). */
  billingStripeCallsPerMinute: number;
  breaker: { failureThreshold: number; openMs: number; maxOpenMs: number };
  /** Database calls one isolate may have in flight before callers queue. */
  dbPoolMax: number;
  /** Of those, how many one tenant's database may hold (default a quarter of `dbPoolMax`). */
  dbPoolTenantMax: number;
  /** Retries of a read that failed to connect (writes are never retried). */
  dbReadRetries: number;
  /** How long an isolate batches metric changes before shipping them; 0 ships at the end of each request. */
  metricsFlushMs: number;
  /**
   * Admit reads from leases of the tenant's budget (docs/rate-limits.md,
   * "Leases"); "off" (`ADMISSION_LEASES`) asks the tenant's object on every
   * request, as before leases: the operator's way back to per-request exactness.
   */
  admissionLeases: boolean;
  /** Stripe billing; null when `STRIPE_SECRET_KEY` is not set (billing routes then answer 503). */
  billing: BillingConfig | null;
  /** How long an isolate reuses `/health`'s and `/ready`'s checks; 0 checks on every request. */
  healthCacheMs: number;
  /**
   * Who transactional email (verification, password reset) comes from. The
   * address must be on a domain onboarded to Cloudflare Email Service and
   * allowed by the `EMAIL` binding (docs/auth.md, "Email").
   */
  email: { from: string; fromName: string };
  /** Moving a tenant to another database: rows per copy batch, and how long the old database is kept. */
  tenantMigration: { batchRows: number; retentionMs: number };
  version: string;
  /**
   * Where the admin console reads the alert rules' state (`/api/v1/rules`);
   * null when no Prometheus is configured (`PROMETHEUS_URL`).
   */
  prometheusUrl: string | null;
}

export interface BillingConfig {
  stripeSecretKey: string;
  webhookSecret: string;
  /** Where the Stripe API is; null means Stripe itself. A local fake in development and tests. */
  apiBase: string | null;
  /** The Stripe price id each paid plan is sold at. */
  prices: { pro: string; team: string };
  /** Where Checkout sends the customer after paying or giving up, and where the portal returns to. */
  successUrl: string;
  cancelUrl: string;
  portalReturnUrl: string;
  /** How old a signed webhook may be (replay protection); Stripe's own default is 300 s. */
  webhookToleranceSeconds: number;
  /** How long a paid plan stays in force while payment is failing. */
  gracePeriodMs: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type ConfigSource = Record<string, unknown>;

function required(source: ConfigSource, key: string): string {
  const value = source[key];
  if (typeof value !== "string" || value === "") {
    throw new ConfigError(`missing configuration: ${key}`);
  }
  return value;
}

function optional(source: ConfigSource, key: string, fallback: string): string {
  const value = source[key];
  return typeof value === "string" && value !== "" ? value : fallback;
}

function onOff(source: ConfigSource, key: string, fallback: boolean): boolean {
  const raw = optional(source, key, fallback ? "on" : "off");
  if (raw !== "on" && raw !== "off") throw new ConfigError(`${key} must be on or off, got ${JSON.stringify(raw)}`);
  return raw === "on";
}

function positiveInt(source: ConfigSource, key: string, fallback: number): number {
  const raw = optional(source, key, String(fallback));
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${key} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const planLimitsOverride = z
  .object({
    requestsPerMinute: z.number().int().positive(),
    toolCallsPerMonth: z.number().int().positive().nullable(),
    sessions: z.number().int().positive(),
    seats: z.number().int().positive(),
  })
  .partial()
  .strict();
const planLimitsOverrides = z
  .object({ free: planLimitsOverride, pro: planLimitsOverride, team: planLimitsOverride })
  .partial()
  .strict();

/**
 * `PLAN_LIMITS` is JSON naming only what differs from the defaults, e.g.
 * `{"pro":{"requestsPerMinute":600}}`; `toolCallsPerMonth: null` means unlimited.
 */
function planLimits(source: ConfigSource): PlanLimitTable {
  const raw = optional(source, "PLAN_LIMITS", "{}");
  let parsed: z.infer<typeof planLimitsOverrides>;
  try {
    parsed = planLimitsOverrides.parse(JSON.parse(raw));
  } catch (error) {
    throw new ConfigError(
      `PLAN_LIMITS must be JSON like {"pro":{"requestsPerMinute":600}}: ${(error as Error).message}`,
    );
  }
  return {
    free: { ...DEFAULT_PLAN_LIMITS.free, ...parsed.free },
    pro: { ...DEFAULT_PLAN_LIMITS.pro, ...parsed.pro },
    team: { ...DEFAULT_PLAN_LIMITS.team, ...parsed.team },
  };
}

function nonNegativeInt(source: ConfigSource, key: string, fallback: number): number {
  const raw = optional(source, key, String(fallback));
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${key} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * Host names `/mcp`, `/api/*` and `/metrics` answer to (DNS-rebinding protection): `ALLOWED_HOSTS`,
 * or else the hosts of `ALLOWED_ORIGINS` — locally both are loopback names.
 */
function allowedHosts(source: ConfigSource): string[] {
  const explicit = optional(source, "ALLOWED_HOSTS", "");
  const names = explicit
    ? explicit.split(",")
    : optional(source, "ALLOWED_ORIGINS", "")
        .split(",")
        .filter((origin) => origin.trim() !== "")
        .map((origin) => {
          try {
            return new URL(origin.trim()).hostname;
          } catch {
            throw new ConfigError(`ALLOWED_ORIGINS entries must be origins like https://app.example, got ${origin}`);
          }
        });
  return [...new Set(names.map((name) => name.trim().toLowerCase()).filter(Boolean))];
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** `PUBLIC_URL` as a bare origin: https, or http on a loopback host (local development). */
function publicUrl(source: ConfigSource): string {
  const raw = optional(source, "PUBLIC_URL", "http://127.0.0.1:8787");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an origin like https://api.example.com, got ${JSON.stringify(raw)}`);
  }
  const secure = url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
  if (!secure || url.pathname !== "/" || url.search || url.hash || url.username) {
    throw new ConfigError(
      `PUBLIC_URL must be an https origin (http only on a loopback host) without a path, got ${JSON.stringify(raw)}`,
    );
  }
  return url.origin;
}

function billing(source: ConfigSource): BillingConfig | null {
  if (optional(source, "STRIPE_SECRET_KEY", "") === "") return null;
  const apiBase = optional(source, "STRIPE_API_BASE", "");
  if (apiBase !== "") {
    try {
      new URL(apiBase);
    } catch {
      throw new ConfigError(
        `STRIPE_API_BASE must be a URL like http://127.0.0.1:12111, got ${JSON.stringify(apiBase)}`,
      );
    }
  }
  return {
    stripeSecretKey: required(source, "STRIPE_SECRET_KEY"),
    webhookSecret: required(source, "STRIPE_WEBHOOK_SECRET"),
    apiBase: apiBase || null,
    prices: { pro: required(source, "STRIPE_PRICE_PRO"), team: required(source, "STRIPE_PRICE_TEAM") },
    successUrl: required(source, "BILLING_SUCCESS_URL"),
    cancelUrl: required(source, "BILLING_CANCEL_URL"),
    portalReturnUrl: optional(source, "BILLING_PORTAL_RETURN_URL", required(source, "BILLING_SUCCESS_URL")),
    webhookToleranceSeconds: positiveInt(source, "STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300),
    gracePeriodMs: positiveInt(source, "BILLING_GRACE_DAYS", 7) * 24 * 60 * 60 * 1000,
  };
}

/** Parse configuration from a Worker `env` (or `process.env` in Node tools). */
export function readConfig(env: object): Config {
  const source = env as ConfigSource;
  const scheme = optional(source, "TENANT_DB_URL_SCHEME", "https");
  if (scheme !== "https" && scheme !== "http") {
    throw new ConfigError(`TENANT_DB_URL_SCHEME must be https or http, got ${JSON.stringify(scheme)}`);
  }
  const dbPoolMax = positiveInt(source, "DB_POOL_MAX", 64);
  return {
    // Production behaviour unless an environment opts out: a forgotten variable must not open anything.
    environment: optional(source, "ENVIRONMENT", "production"),
    publicUrl: publicUrl(source),
    mgmtDb: { url: required(source, "MGMT_DB_URL"), authToken: optional(source, "MGMT_DB_TOKEN", "") },
    turso: {
      apiUrl: optional(source, "TURSO_API_URL", "https://api.turso.tech"),
      apiToken: optional(source, "TURSO_API_TOKEN", ""),
      org: required(source, "TURSO_ORG"),
      group: optional(source, "TURSO_DB_GROUP", "default"),
      dbUrlScheme: scheme,
    },
    dbTokenEncryptionKey: required(source, "DB_TOKEN_ENCRYPTION_KEY"),
    adminToken: required(source, "ADMIN_TOKEN"),
    metricsToken: required(source, "METRICS_TOKEN"),
    allowedOrigins: optional(source, "ALLOWED_ORIGINS", "")
      .split(",")
      .map((origin) => origin.trim())
      .filter(Boolean),
    dbTimeoutMs: positiveInt(source, "DB_TIMEOUT_MS", 5000),
    mcp: {
      sessionIdleTimeoutMs: positiveInt(source, "SESSION_IDLE_TIMEOUT_MS", 600_000),
      sessionMaxLifetimeMs: positiveInt(source, "SESSION_MAX_LIFETIME_MS", 24 * 60 * 60 * 1000),
      // 50 memories of 32 KiB each, JSON-escaped, fit; anything bigger is not a memory request.
      maxBodyBytes: positiveInt(source, "MAX_BODY_BYTES", 4 * 1024 * 1024),
      allowedHosts: allowedHosts(source),
    },
    planLimits: planLimits(source),
    usageFlushIntervalMs: positiveInt(source, "USAGE_FLUSH_INTERVAL_MS", 60_000),
    ipRateLimitPerMinute: positiveInt(source, "IP_RATE_LIMIT_PER_MINUTE", 30),
    billingStripeCallsPerMinute: positiveInt(source, "BILLING_STRIPE_CALLS_PER_MINUTE", 10),
    breaker: {
      failureThreshold: positiveInt(source, "BREAKER_FAILURE_THRESHOLD", 5),
      openMs: positiveInt(source, "BREAKER_OPEN_MS", 30_000),
      maxOpenMs: positiveInt(source, "BREAKER_MAX_OPEN_MS", 60_000),
    },
    dbPoolMax,
    dbPoolTenantMax: Math.min(
      dbPoolMax,
      positiveInt(source, "DB_POOL_TENANT_MAX", Math.max(1, Math.floor(dbPoolMax / 4))),
    ),
    dbReadRetries: nonNegativeInt(source, "DB_READ_RETRIES", 2),
    metricsFlushMs: nonNegativeInt(source, "METRICS_FLUSH_MS", 1000),
    admissionLeases: onOff(source, "ADMISSION_LEASES", true),
    billing: billing(source),
    healthCacheMs: nonNegativeInt(source, "HEALTH_CACHE_MS", 2000),
    email: {
      from: optional(source, "EMAIL_FROM", "no-reply@muninn.pro"),
      fromName: optional(source, "EMAIL_FROM_NAME", "Muninn"),
    },
    tenantMigration: {
      batchRows: positiveInt(source, "MIGRATION_BATCH_ROWS", 1000),
      retentionMs: nonNegativeInt(source, "MIGRATION_RETENTION_HOURS", 168) * 60 * 60 * 1000,
    },
    version: optional(source, "VERSION", "dev"),
    prometheusUrl: prometheusUrl(source),
  };
}

function prometheusUrl(source: ConfigSource): string | null {
  const raw = optional(source, "PROMETHEUS_URL", "").trim();
  if (raw === "") return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`PROMETHEUS_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(`PROMETHEUS_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  return url.toString().replace(/\/$/, "");
}

/**
 * The one place that reads configuration from the Worker environment. Every
 * other module receives a `Config` (or the part it needs) instead of reaching
 * into `env`, so defaults and validation live here and nowhere else.
 */
export interface Config {
  environment: string;
  mgmtDb: { url: string; authToken: string };
  turso: { apiUrl: string; apiToken: string; org: string; group: string; dbUrlScheme: "https" | "http" };
  /** Base64 of a 32-byte AES-256-GCM key for tenant DB tokens at rest. */
  dbTokenEncryptionKey: string;
  adminToken: string;
  metricsToken: string;
  allowedOrigins: string[];
  /** Timeout for a single Turso (Hrana or Platform API) call. */
  dbTimeoutMs: number;
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

function positiveInt(source: ConfigSource, key: string, fallback: number): number {
  const raw = optional(source, key, String(fallback));
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${key} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Parse configuration from a Worker `env` (or `process.env` in Node tools). */
export function readConfig(env: object): Config {
  const source = env as ConfigSource;
  const scheme = optional(source, "TENANT_DB_URL_SCHEME", "https");
  if (scheme !== "https" && scheme !== "http") {
    throw new ConfigError(`TENANT_DB_URL_SCHEME must be https or http, got ${JSON.stringify(scheme)}`);
  }
  return {
    environment: optional(source, "ENVIRONMENT", "development"),
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
  };
}

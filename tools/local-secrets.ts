import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { randomString } from "../shared/crypto/encoding";
import { generateEncryptionKey } from "../shared/crypto/token-encryption";

/**
 * Secrets of the local stack, generated on first run and kept in
 * `.muninn/secrets.json` (git-ignored) so a restart can still decrypt the
 * tenant DB tokens it stored and the printed tokens keep working.
 */
export interface LocalSecrets {
  libsqlToken: string;
  encryptionKey: string;
  adminToken: string;
  metricsToken: string;
}

export async function loadOrCreateSecrets(file: string): Promise<LocalSecrets> {
  if (existsSync(file)) return JSON.parse(await readFile(file, "utf8")) as LocalSecrets;
  const secrets: LocalSecrets = {
    libsqlToken: `local-${randomString(32)}`,
    encryptionKey: generateEncryptionKey(),
    adminToken: `adm_${randomString(32)}`,
    metricsToken: `met_${randomString(32)}`,
  };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

/** The Worker's secrets: wrangler.toml's `[secrets] required`; never put on a command line. */
export const SECRET_NAMES = new Set([
  "MGMT_DB_TOKEN",
  "TURSO_API_TOKEN",
  "DB_TOKEN_ENCRYPTION_KEY",
  "ADMIN_TOKEN",
  "METRICS_TOKEN",
]);

/** The Worker's configuration for a local stack whose libSQL server listens on `libsqlUrl`. */
export function workerVars(libsqlUrl: string, secrets: LocalSecrets): Record<string, string> {
  return {
    ENVIRONMENT: "development",
    MGMT_DB_URL: `${libsqlUrl}/management/`,
    MGMT_DB_TOKEN: secrets.libsqlToken,
    TURSO_API_URL: libsqlUrl,
    TURSO_API_TOKEN: secrets.libsqlToken,
    TURSO_ORG: "local",
    TENANT_DB_URL_SCHEME: "http",
    DB_TOKEN_ENCRYPTION_KEY: secrets.encryptionKey,
    ADMIN_TOKEN: secrets.adminToken,
    METRICS_TOKEN: secrets.metricsToken,
  };
}

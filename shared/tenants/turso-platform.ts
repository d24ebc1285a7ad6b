import type { Config } from "../config";

/**
 * The part of Turso's Platform API that tenant provisioning uses. The local
 * libSQL server answers the same paths with the same shapes, so this module
 * is identical in every environment; only `turso.apiUrl` and the token change.
 */
export class PlatformApiError extends Error {
  override name = "PlatformApiError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface ProvisionedDatabase {
  name: string;
  hostname: string;
  /** `<scheme>://<hostname>/`: the trailing slash makes the client resolve `v2/pipeline` under it. */
  url: string;
}

type TursoConfig = Config["turso"];

async function call<T>(
  turso: TursoConfig,
  timeoutMs: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const url = `${turso.apiUrl.replace(/\/$/, "")}/v1/organizations/${encodeURIComponent(turso.org)}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${turso.apiToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new PlatformApiError(`Turso Platform API unreachable: ${(error as Error).message}`, 503);
  }
  const text = await response.text();
  if (!response.ok) {
    // Turso answers `{ "error": "..." }`; never echo our request (it may carry tokens).
    let detail = text.slice(0, 200);
    try {
      detail = (JSON.parse(text) as { error?: string }).error ?? detail;
    } catch {}
    throw new PlatformApiError(
      `Turso Platform API ${method} ${path} failed (${response.status}): ${detail}`,
      response.status,
    );
  }
  return JSON.parse(text) as T;
}

function databaseUrl(turso: TursoConfig, hostname: string): string {
  return `${turso.dbUrlScheme}://${hostname}/`;
}

export async function createDatabase(
  turso: TursoConfig,
  timeoutMs: number,
  name: string,
  group: string = turso.group,
): Promise<ProvisionedDatabase> {
  const body = await call<{ database: { Name: string; Hostname: string } }>(turso, timeoutMs, "POST", "/databases", {
    name,
    group,
  });
  return {
    name: body.database.Name,
    hostname: body.database.Hostname,
    url: databaseUrl(turso, body.database.Hostname),
  };
}

export async function getDatabase(turso: TursoConfig, timeoutMs: number, name: string): Promise<ProvisionedDatabase> {
  const body = await call<{ database: { Name: string; Hostname: string } }>(
    turso,
    timeoutMs,
    "GET",
    `/databases/${encodeURIComponent(name)}`,
  );
  return {
    name: body.database.Name,
    hostname: body.database.Hostname,
    url: databaseUrl(turso, body.database.Hostname),
  };
}

export async function deleteDatabase(turso: TursoConfig, timeoutMs: number, name: string): Promise<void> {
  await call(turso, timeoutMs, "DELETE", `/databases/${encodeURIComponent(name)}`);
}

/** A full-access token for one database, without expiry (rotated by re-minting). */
export async function createDatabaseToken(turso: TursoConfig, timeoutMs: number, name: string): Promise<string> {
  const body = await call<{ jwt: string }>(
    turso,
    timeoutMs,
    "POST",
    `/databases/${encodeURIComponent(name)}/auth/tokens?expiration=never&authorization=full-access`,
  );
  return body.jwt;
}

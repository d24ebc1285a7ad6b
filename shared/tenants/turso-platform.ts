import { z } from "zod";
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

/**
 * Answers are checked, not cast: a changed or truncated answer from the API
 * (or a proxy's HTML error page with a 200) becomes a clear PlatformApiError
 * here instead of an `undefined` hostname stored in a tenant's record.
 */
const databaseAnswer = z.object({ database: z.object({ Name: z.string().min(1), Hostname: z.string().min(1) }) });
const tokenAnswer = z.object({ jwt: z.string().min(1) });
const errorAnswer = z.object({ error: z.string() });

/** One request; the answer's text when it succeeded, a PlatformApiError otherwise. */
async function call(
  turso: TursoConfig,
  timeoutMs: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<string> {
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
    const detail = errorAnswer.safeParse(parseJson(text)).data?.error ?? text.slice(0, 200);
    throw new PlatformApiError(
      `Turso Platform API ${method} ${path} failed (${response.status}): ${detail}`,
      response.status,
    );
  }
  return text;
}

async function callFor<T>(
  answer: z.ZodType<T>,
  turso: TursoConfig,
  timeoutMs: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const parsed = answer.safeParse(parseJson(await call(turso, timeoutMs, method, path, body)));
  if (!parsed.success) {
    throw new PlatformApiError(`Turso Platform API ${method} ${path} answered an unexpected shape`, 502);
  }
  return parsed.data;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function provisioned(turso: TursoConfig, { database }: z.infer<typeof databaseAnswer>): ProvisionedDatabase {
  const { Name, Hostname } = database;
  return { name: Name, hostname: Hostname, url: `${turso.dbUrlScheme}://${Hostname}/` };
}

export async function createDatabase(
  turso: TursoConfig,
  timeoutMs: number,
  name: string,
  group: string = turso.group,
): Promise<ProvisionedDatabase> {
  const body = await callFor(databaseAnswer, turso, timeoutMs, "POST", "/databases", { name, group });
  return provisioned(turso, body);
}

export async function getDatabase(turso: TursoConfig, timeoutMs: number, name: string): Promise<ProvisionedDatabase> {
  const body = await callFor(databaseAnswer, turso, timeoutMs, "GET", `/databases/${encodeURIComponent(name)}`);
  return provisioned(turso, body);
}

export async function deleteDatabase(turso: TursoConfig, timeoutMs: number, name: string): Promise<void> {
  await call(turso, timeoutMs, "DELETE", `/databases/${encodeURIComponent(name)}`);
}

/** A full-access token for one database, without expiry (rotated by re-minting). */
export async function createDatabaseToken(turso: TursoConfig, timeoutMs: number, name: string): Promise<string> {
  const path = `/databases/${encodeURIComponent(name)}/auth/tokens?expiration=never&authorization=full-access`;
  return (await callFor(tokenAnswer, turso, timeoutMs, "POST", path)).jwt;
}

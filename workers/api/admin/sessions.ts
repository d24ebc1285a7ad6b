import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../types";
import { parseInput } from "../validation";
import { closeTenantSessions } from "./operations";
import { requireTenant, tenantObject } from "./tenant-lookup";

/**
 * `/api/tenants/:id/sessions`: a tenant's legacy MCP sessions, as its
 * Durable Object holds them. Mounted behind `requireAdmin`.
 */
export const adminSessions = new Hono<AppEnv>();

const closeQuery = z.object({
  /** Only sessions idle for longer than this many seconds. */
  idle_seconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(365 * 24 * 3600)
    .optional(),
});

adminSessions.get("/", async (c) => {
  const record = await requireTenant(c);
  const { sessions, created, closed } = await tenantObject(c, record.id).listSessions();
  const now = Date.now();
  return c.json({
    tenant_id: record.id,
    count: sessions.length,
    created_total: created,
    closed_total: closed,
    sessions: sessions.map((session) => ({
      id: session.id,
      protocol_version: session.protocolVersion,
      client: session.clientInfo,
      log_level: session.logLevel,
      created_at: new Date(session.createdAt).toISOString(),
      last_seen_at: new Date(session.lastSeenAt).toISOString(),
      idle_seconds: Math.floor((now - session.lastSeenAt) / 1000),
    })),
  });
});

adminSessions.delete("/", async (c) => {
  const record = await requireTenant(c);
  const query = parseInput(closeQuery, c.req.query());
  const closed = await closeTenantSessions(c, record.id, query.idle_seconds);
  return c.json({ tenant_id: record.id, closed });
});

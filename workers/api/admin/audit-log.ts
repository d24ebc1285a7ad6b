import { Hono } from "hono";
import { z } from "zod";
import { listAudit } from "../../../shared/audit";
import { decodeCursor, listPage } from "../../../shared/cursor";
import type { AppEnv } from "../../types";
import { parseInput } from "../validation";

/** `GET /api/audit-log`: newest first, filtered by tenant, action and time, paginated. Behind `requireAdmin`. */
export const adminAuditLog = new Hono<AppEnv>();

const isoTime = z.iso.datetime({ offset: true }).transform((value) => new Date(value).toISOString());

const auditQuery = z.object({
  tenant_id: z.string().min(1).max(100).optional(),
  action: z.string().min(1).max(100).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
const auditCursor = z.object({ beforeId: z.number().int().positive() });

adminAuditLog.get("/", async (c) => {
  const query = parseInput(auditQuery, c.req.query());
  const { entries, hasMore } = await listAudit(c.get("services").mgmtDb, {
    tenantId: query.tenant_id,
    action: query.action,
    since: query.since,
    until: query.until,
    beforeId: query.cursor ? decodeCursor(auditCursor, query.cursor, "this API").beforeId : undefined,
    limit: query.limit,
  });
  return c.json(
    listPage(
      entries,
      hasMore,
      (entry) => ({
        id: entry.id,
        tenant_id: entry.tenantId,
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        before: entry.before,
        after: entry.after,
        details: entry.details,
        ip: entry.ip,
        created_at: entry.createdAt,
      }),
      (last) => ({ beforeId: last.id }),
    ),
  );
});

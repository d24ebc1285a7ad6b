import type { Context } from "hono";
import { z } from "zod";
import type { VersionedSettings } from "../../../durable-objects/tenant/contract";
import { AppError } from "../../../shared/errors";
import type { ImportSummary } from "../../../shared/lifecycle/portability/import";
import {
  detectFormat,
  type ImportPlan,
  type MarkdownNote,
  parseKnowledgeGraph,
  parseMarkdown,
  parseMuninn,
} from "../../../shared/lifecycle/portability/import-formats";
import type { MemoryDoor } from "../../../shared/memory/door";
import { tenantMigratingError } from "../../admission";
import type { AppEnv } from "../../types";
import { parseInput } from "../validation";

/**
 * Export and import, shared by the tenant's own routes (`/api/export`,
 * `/api/import`) and the operator's (`/api/tenants/:id/export|import`).
 * docs/lifecycle.md describes the formats.
 */

/** About 40,000 memories of ordinary size; larger files are sent in parts (a re-run skips what is in). Kept well under a Worker's 128 MB of memory. */
export const MAX_IMPORT_BYTES = 32 * 1024 * 1024;

const exportQuery = z.object({ format: z.enum(["jsonl", "markdown"]).default("jsonl") });
const importQuery = z.object({
  format: z.enum(["muninn", "knowledge-graph", "markdown"]).optional(),
  split: z.enum(["note", "heading"]).default("note"),
});

/** Stream the tenant's memories through `door`, which refuses a credential without a read scope. */
export function exportResponse(c: Context<AppEnv>, door: MemoryDoor, tenantId: string): Response {
  const { format } = parseInput(exportQuery, c.req.query());
  const stream = door.export(tenantId, format);
  const date = new Date().toISOString().slice(0, 10);
  const extension = format === "jsonl" ? "jsonl" : "md";
  return new Response(stream, {
    headers: {
      "content-type": format === "jsonl" ? "application/x-ndjson; charset=utf-8" : "text/markdown; charset=utf-8",
      "content-disposition": `attachment; filename="muninn-${tenantId}-${date}.${extension}"`,
      "cache-control": "no-store",
    },
  });
}

/** Read the body (JSONL, Markdown, or a multipart folder of notes) into an import plan. */
async function readPlan(c: Context<AppEnv>): Promise<ImportPlan> {
  const query = parseInput(importQuery, c.req.query());
  const declared = Number(c.req.header("content-length") ?? 0);
  if (declared > MAX_IMPORT_BYTES) {
    throw new AppError("payload_too_large", `the import is ${declared} bytes; the limit is ${MAX_IMPORT_BYTES}`);
  }
  const contentType = c.req.header("content-type");
  if (contentType?.toLowerCase().startsWith("multipart/form-data")) {
    const form = await c.req.formData();
    const notes: MarkdownNote[] = [];
    for (const [, value] of form.entries()) {
      if (typeof value === "string") continue;
      notes.push({ name: value.name || `note-${notes.length + 1}.md`, text: await value.text() });
    }
    if (notes.length === 0)
      throw new AppError("invalid_request", "multipart import: attach the notes as files", { code: "empty_import" });
    return parseMarkdown(notes, query.split);
  }
  const text = await c.req.text();
  if (text.length > MAX_IMPORT_BYTES)
    throw new AppError("payload_too_large", `the import is larger than ${MAX_IMPORT_BYTES} bytes`);
  return planOfText(text, { format: query.format, split: query.split, contentType });
}

export type ImportFormatChoice = "muninn" | "knowledge-graph" | "markdown";

/** One file's text as an import plan: in the format named, or the one its first line shows. */
export function planOfText(
  text: string,
  options: { format?: ImportFormatChoice; split?: "note" | "heading"; contentType?: string; name?: string },
): ImportPlan {
  const firstLine = text.slice(0, text.indexOf("\n") === -1 ? undefined : text.indexOf("\n")).trim();
  if (!text.trim()) throw new AppError("invalid_request", "the import is empty", { code: "empty_import" });
  const format = options.format ?? detectFormat(firstLine, options.contentType);
  switch (format) {
    case "muninn":
      return parseMuninn(text);
    case "knowledge-graph":
      return parseKnowledgeGraph(text);
    case "markdown":
      return parseMarkdown([{ name: options.name ?? "import.md", text }], options.split ?? "note");
    default:
      throw new AppError(
        "invalid_request",
        "unrecognised import format: send our JSONL export, the knowledge-graph JSONL of @modelcontextprotocol/server-memory, " +
          "or Markdown (or name it with ?format=muninn|knowledge-graph|markdown)",
        { code: "unknown_format" },
      );
  }
}

/**
 * Run an import through `door`: it refuses a credential without `mcp:tools`
 * before the body is read, checks every record against the field rules and
 * meters one unit of the tenant's quota per record created.
 */
export async function importResponse(
  c: Context<AppEnv>,
  door: MemoryDoor,
  tenantId: string,
  settings?: VersionedSettings,
): Promise<Response> {
  const summary = await runImport(c, door, tenantId, () => readPlan(c), settings);
  return c.json({ object: "import", ...summary });
}

/** The one import path of the API, the operator and the console: `readPlan` runs inside the door, after its scope check. */
export async function runImport(
  c: Context<AppEnv>,
  door: MemoryDoor,
  tenantId: string,
  readPlan: () => Promise<ImportPlan>,
  settings?: VersionedSettings,
): Promise<ImportSummary> {
  const tenant = c.env.TENANT_DO.getByName(tenantId);
  const summary = await door.import(async () => {
    const plan = await readPlan();
    if (settings && (await tenant.databaseState()).migration) throw tenantMigratingError();
    return plan;
  });
  c.get("logger").info("import finished", {
    tenant: tenantId,
    format: summary.format,
    created: summary.created,
    updated: summary.updated,
    unchanged: summary.unchanged,
    skipped: summary.skipped,
    failed: summary.failed,
  });
  return summary;
}

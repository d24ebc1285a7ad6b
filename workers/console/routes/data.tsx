/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { z } from "zod";
import { getTenant } from "../../../shared/tenants/tenants";
import { exportResponse, MAX_IMPORT_BYTES, planOfText, runImport } from "../../api/portability/transfer";
import { deleteAccountNow } from "../../api/tenant-deletion";
import { memberDoor } from "../../memory-door";
import { limitBody } from "../../middleware/body-limit";
import { admitAction, failurePage } from "../admission";
import { asApp, type ConsoleContext, type ConsoleEnv, type ConsoleMiddleware, signedIn } from "../context";
import { DataPage } from "../pages/data";
import { MessagePage } from "../pages/public";
import { render } from "../render";
import { endSession, requireSignIn } from "../session";
import { refuseUnlessOwnerNow, refuseUnlessRole } from "../team-access";
import { ownTenantDb } from "../tenant-db";
import { actor, postedForm } from "./app";
import { viewer } from "./viewer";

/**
 * `/app/data`: export, import and account deletion, through the same
 * functions as `/api/export`, `/api/import` and `DELETE /api/account`
 * (docs/lifecycle.md), admitted as those routes are.
 */
export const dataPages = new Hono<ConsoleEnv>();
dataPages.use("/app/data", requireSignIn());
dataPages.use("/app/data/*", requireSignIn());

const BACK = { href: "/app/data", label: "Back to data" };
/** Where a browser's upload goes; the console's 16 KB form limit does not apply to it (see routes.ts). */
export const IMPORT_PATH = "/app/data/import";

async function teamName(c: ConsoleContext): Promise<string> {
  return (await getTenant(c.get("services").mgmtDb, signedIn(c).account.tenantId))?.orgName ?? "";
}

dataPages.get("/app/data", async (c) => render(c, <DataPage viewer={viewer(c)} teamName={await teamName(c)} />));

const exportQuery = z.object({ format: z.enum(["jsonl", "markdown"]) });

/** A download, streamed from the tenant database as it is read (shared/lifecycle/export.ts). */
dataPages.get("/app/data/export", async (c) => {
  if (!exportQuery.safeParse(c.req.query()).success) return c.redirect("/app/data", 303);
  const refused = await admitAction(c, {}, BACK);
  if (refused) return refused;
  const { account, session } = signedIn(c);
  const door = memberDoor(asApp(c), account.tenantId, await ownTenantDb(c), account.id, session.role);
  return exportResponse(asApp(c), door, account.tenantId);
});

const importForm = z.object({
  format: z.enum(["auto", "muninn", "knowledge-graph", "markdown"]).default("auto"),
  file: z.instanceof(File),
});

/** After sign-in (this route's own `requireSignIn`), so only a signed-in person can make the Worker read a large body. */
const importLimit = limitBody(MAX_IMPORT_BYTES) as unknown as ConsoleMiddleware;

dataPages.post(IMPORT_PATH, importLimit, async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const parsed = importForm.safeParse({ format: form.get("format") ?? undefined, file: form.get("file") });
  const shown = async (message: string, status: 400 | 413) =>
    render(c, <DataPage viewer={viewer(c)} teamName={await teamName(c)} error={{ form: "import", message }} />, status);
  const viewerRefused = refuseUnlessRole(c, ["owner", "admin", "member"], "write memory", BACK);
  if (viewerRefused) return viewerRefused;
  if (!parsed.success || parsed.data.file.size === 0) return shown("Choose a file to import.", 400);
  const refused = await admitAction(c, { write: true }, BACK);
  if (refused) return refused;
  const { file, format } = parsed.data;
  try {
    const { account, session } = signedIn(c);
    const tenantId = account.tenantId;
    // Attributed to the person importing, and bounded by their role like every console door.
    const door = memberDoor(asApp(c), tenantId, await ownTenantDb(c), account.id, session.role);
    const summary = await runImport(asApp(c), door, tenantId, async () =>
      planOfText(await file.text(), {
        format: format === "auto" ? undefined : format,
        contentType: file.type || undefined,
        name: file.name,
      }),
    );
    return render(c, <DataPage viewer={viewer(c)} teamName={await teamName(c)} imported={summary} />);
  } catch (error) {
    return failurePage(c, error, BACK);
  }
});

/**
 * Deletion asks for the team name typed out: a replayed or mistaken click
 * cannot erase an account. The tenant is the signed-in person's, never a
 * field of the form. The session is gone with the account; the cookie is
 * cleared too.
 */
dataPages.post("/app/data/delete", async (c) => {
  const form = await postedForm(c);
  if (form instanceof Response) return form;
  const notOwner = await refuseUnlessOwnerNow(c, "delete the team", BACK);
  if (notOwner) return notOwner;
  const name = await teamName(c);
  const typed = String(form.get("team_name") ?? "").trim();
  if (name === "" || typed !== name.trim()) {
    return render(
      c,
      <DataPage
        viewer={viewer(c)}
        teamName={name}
        error={{ form: "delete", message: "The name you typed is not the team's name; nothing was deleted." }}
      />,
      400,
    );
  }
  try {
    await deleteAccountNow(asApp(c), signedIn(c).account.tenantId, actor(c).actor);
  } catch (error) {
    return failurePage(c, error, BACK);
  }
  await endSession(c);
  return render(
    c,
    <MessagePage
      title="Account deleted"
      message="The account and everything in it are deleted, and you are signed out. Thank you for using Muninn."
      link={{ href: "/", label: "Muninn home" }}
    />,
  );
});

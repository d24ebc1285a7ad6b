/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { z } from "zod";
import {
  changeEmailStatement,
  findAccountByEmail,
  findActiveAccount,
  normalizeEmail,
  passwordHashStatement,
} from "../../../shared/accounts/accounts";
import {
  consumeEmailToken,
  issueEmailToken,
  markVerifiedStatement,
  peekEmailToken,
} from "../../../shared/accounts/email-tokens";
import { hashPassword, passwordProblem } from "../../../shared/accounts/passwords";
import { destroyAllSessionsStatement } from "../../../shared/accounts/sessions";
import { auditStatement, writeAudit } from "../../../shared/audit";
import { sendEmail } from "../../../shared/email/mailer";
import { clientIp, spendIpBudget } from "../../middleware/ip-rate-limit";
import { asApp, type ConsoleEnv, signedIn } from "../context";
import { emailChanged, resetPassword } from "../emails";
import { ConfirmEmailPage } from "../pages/confirm";
import { CheckInbox, ForgotPage, MessagePage, ResetPage } from "../pages/public";
import { render } from "../render";
import { csrfValid, requireSignIn, safeNext, startSession } from "../session";
import { forgetAccountSessions } from "../session-cache";
import { mailVerificationLink } from "../verification-mail";

/**
 * Links that arrive by email: verify an address, reset a password. Opening
 * a link (GET) only shows a button; the token is used by the POST it sends.
 * Mail scanners and link previews fetch links on their own, and a GET that
 * spent the token would leave the person a dead link.
 */
export const recoveryPages = new Hono<ConsoleEnv>();

const EXPIRED_LINK = "This link has expired or was already used. Ask for a new one.";
const EXPIRED_FORM = "This form expired. Please try again.";
/** Verification messages one account may ask for in ten minutes (the banner's "send again"). */
const RESENDS_PER_10_MINUTES = 3;
/** Reset messages one address may receive in fifteen minutes: nobody can flood a mailbox through /forgot. */
const RESETS_PER_15_MINUTES = 3;

recoveryPages.get("/verify", async (c) => {
  const token = c.req.query("token") ?? "";
  const found = await peekEmailToken(c.get("services").mgmtDb, "verify", token);
  if (!found) return render(c, <MessagePage title="Confirm your email" message={EXPIRED_LINK} alert />, 400);
  return render(c, <ConfirmEmailPage csrf={c.get("csrf")} token={token} email={found.email} />);
});

recoveryPages.post("/verify", async (c) => {
  const form = await c.req.formData();
  if (!(await csrfValid(c, form)))
    return render(c, <MessagePage title="Confirm your email" message={EXPIRED_FORM} alert />, 403);
  const { mgmtDb } = c.get("services");
  const used = await consumeEmailToken(mgmtDb, "verify", String(form.get("token") ?? ""), (found) => [
    markVerifiedStatement(found),
  ]);
  if (!used) return render(c, <MessagePage title="Confirm your email" message={EXPIRED_LINK} alert />, 400);
  // Sessions cached here show the banner until they read the account again.
  forgetAccountSessions(used.userId);
  // The link proved the person reads this inbox; for a new signup it is also their first sign-in.
  await startSession(c, used.userId);
  const account = await findActiveAccount(mgmtDb, used.userId);
  if (account) {
    await writeAudit(mgmtDb, {
      tenantId: account.tenantId,
      actor: `user:${account.id}`,
      action: "account.email_verify",
      details: { userId: account.id },
      ip: clientIp(asApp(c)),
    });
  }
  return c.redirect(safeNext(used.returnTo, "/app/connect?verified=1"), 303);
});

recoveryPages.post("/verify/resend", requireSignIn(), async (c) => {
  const form = await c.req.formData();
  if (!(await csrfValid(c, form)))
    return render(c, <MessagePage title="Confirm your email" message={EXPIRED_FORM} alert />, 403);
  const { account } = signedIn(c);
  if (account.emailVerifiedAt) return c.redirect("/app/connect", 303);
  const budget = await c.env.IP_LIMITER_DO.getByName(`verify-resend:${account.id}`).take(RESENDS_PER_10_MINUTES, 600);
  if (!budget.allowed) {
    return render(
      c,
      <MessagePage
        title="Confirm your email"
        message={`We sent several links already. Try again in ${Math.ceil(budget.retryAfterSeconds / 60)} minutes.`}
        alert
        link={{ href: "/app/connect", label: "Back to the console" }}
      />,
      429,
    );
  }
  const { mgmtDb, config } = c.get("services");
  await mailVerificationLink(
    { mgmtDb, config, logger: c.get("logger"), email: c.env.EMAIL },
    { userId: account.id, email: account.email },
  );
  return render(c, <CheckInbox email={account.email} what="signup" />);
});

recoveryPages.get("/forgot", (c) => render(c, <ForgotPage csrf={c.get("csrf")} />));

/**
 * The answer is the same whether or not the address has an account, and
 * comes before any lookup (the lookup and the message happen after the
 * response), so neither the page nor its timing tells who has an account.
 */
recoveryPages.post("/forgot", async (c) => {
  const form = await c.req.formData();
  const email = String(form.get("email") ?? "").slice(0, 254);
  if (!(await csrfValid(c, form)))
    return render(c, <ForgotPage csrf={c.get("csrf")} email={email} error={EXPIRED_FORM} />, 403);
  const limited = await spendIpBudget(asApp(c), "forgot", c.get("services").config.ipRateLimitPerMinute);
  if (limited && !limited.allowed) {
    return render(
      c,
      <ForgotPage
        csrf={c.get("csrf")}
        email={email}
        error="Too many requests from this address. Wait a minute and try again."
      />,
      429,
    );
  }
  if (!z.email().safeParse(email).success) {
    return render(c, <ForgotPage csrf={c.get("csrf")} email={email} error="Enter a valid email address." />, 400);
  }
  const { mgmtDb, config } = c.get("services");
  const logger = c.get("logger");
  c.executionCtx.waitUntil(
    (async () => {
      const account = await findAccountByEmail(mgmtDb, email);
      if (!account) return;
      const budget = await c.env.IP_LIMITER_DO.getByName(`reset-mail:${account.id}`).take(RESETS_PER_15_MINUTES, 900);
      if (!budget.allowed) return logger.warn("password reset mail limited", { user: account.id });
      const token = await issueEmailToken(mgmtDb, { purpose: "reset", userId: account.id, email: account.email });
      await sendEmail(
        c.env.EMAIL,
        config,
        logger,
        "reset",
        resetPassword(account.email, `${config.publicUrl}/reset?token=${token}`),
      );
    })().catch((error) => logger.error("password reset mail failed", { reason: String(error) })),
  );
  return render(c, <CheckInbox email={normalizeEmail(email)} what="reset" />);
});

recoveryPages.get("/reset", async (c) => {
  const token = c.req.query("token") ?? "";
  if (!(await peekEmailToken(c.get("services").mgmtDb, "reset", token))) {
    return render(
      c,
      <MessagePage
        title="Reset your password"
        message={EXPIRED_LINK}
        alert
        link={{ href: "/forgot", label: "Ask for a new link" }}
      />,
      400,
    );
  }
  return render(c, <ResetPage csrf={c.get("csrf")} token={token} />);
});

/** A new password ends every session of the account and spends the link; the person signs in again. */
recoveryPages.post("/reset", async (c) => {
  const form = await c.req.formData();
  const token = String(form.get("token") ?? "");
  const password = String(form.get("password") ?? "").slice(0, 1024);
  if (!(await csrfValid(c, form)))
    return render(c, <ResetPage csrf={c.get("csrf")} token={token} error={EXPIRED_FORM} />, 403);
  const { mgmtDb } = c.get("services");
  const found = await peekEmailToken(mgmtDb, "reset", token);
  if (!found) {
    return render(
      c,
      <MessagePage
        title="Reset your password"
        message={EXPIRED_LINK}
        alert
        link={{ href: "/forgot", label: "Ask for a new link" }}
      />,
      400,
    );
  }
  const problem = passwordProblem(password, found.email);
  if (problem) {
    return render(
      c,
      <ResetPage
        csrf={c.get("csrf")}
        token={token}
        error={`Choose a stronger password: ${problem.replace(/^password: /, "")}.`}
      />,
      400,
    );
  }
  const account = await findActiveAccount(mgmtDb, found.userId);
  const hash = await hashPassword(password);
  const used = await consumeEmailToken(mgmtDb, "reset", token, (claimed) => [
    passwordHashStatement(claimed.userId, hash),
    destroyAllSessionsStatement(claimed.userId),
    // The reset proved the person reads this inbox.
    markVerifiedStatement(claimed),
    auditStatement({
      tenantId: account?.tenantId ?? null,
      actor: `user:${claimed.userId}`,
      action: "account.password_reset",
      details: { userId: claimed.userId },
      ip: clientIp(asApp(c)),
    }),
  ]);
  if (!used) {
    return render(
      c,
      <MessagePage
        title="Reset your password"
        message={EXPIRED_LINK}
        alert
        link={{ href: "/forgot", label: "Ask for a new link" }}
      />,
      400,
    );
  }
  // Every session ended in the database: this isolate stops serving them now, others within SESSION_CACHE_MS.
  forgetAccountSessions(used.userId);
  return c.redirect("/signin?reset=1", 303);
});

recoveryPages.get("/verify-email", async (c) => {
  const token = c.req.query("token") ?? "";
  const found = await peekEmailToken(c.get("services").mgmtDb, "change_email", token);
  if (!found) return render(c, <MessagePage title="Confirm your new email" message={EXPIRED_LINK} alert />, 400);
  return render(c, <ConfirmEmailPage csrf={c.get("csrf")} token={token} email={found.email} action="/verify-email" />);
});

/** The new address replaces the old one, verified by this very link. */
recoveryPages.post("/verify-email", async (c) => {
  const form = await c.req.formData();
  if (!(await csrfValid(c, form)))
    return render(c, <MessagePage title="Confirm your new email" message={EXPIRED_FORM} alert />, 403);
  const { mgmtDb } = c.get("services");
  const token = String(form.get("token") ?? "");
  const pending = await peekEmailToken(mgmtDb, "change_email", token);
  const account = pending ? await findActiveAccount(mgmtDb, pending.userId) : null;
  let used: Awaited<ReturnType<typeof consumeEmailToken>>;
  try {
    used = await consumeEmailToken(mgmtDb, "change_email", token, (found) => [
      changeEmailStatement(found.userId, found.email),
      auditStatement({
        tenantId: account?.tenantId ?? null,
        actor: `user:${found.userId}`,
        action: "account.email_change",
        details: { userId: found.userId },
        after: { email: found.email },
      }),
    ]);
  } catch (error) {
    // The address was taken by another account after the link was sent (the unique index decides).
    c.get("logger").warn("email change refused", { reason: error instanceof Error ? error.message : String(error) });
    used = null;
  }
  if (!used) return render(c, <MessagePage title="Confirm your new email" message={EXPIRED_LINK} alert />, 400);
  forgetAccountSessions(used.userId);
  if (account && account.email !== used.email) {
    // The address the account had hears of the change, so a takeover through a stolen password is not silent.
    const { config } = c.get("services");
    await sendEmail(
      c.env.EMAIL,
      config,
      c.get("logger"),
      "email_changed",
      emailChanged(account.email, used.email, new Date().toISOString()),
    );
  }
  await startSession(c, used.userId);
  return c.redirect("/app/settings", 303);
});

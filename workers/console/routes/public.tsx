/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { z } from "zod";
import { emailTaken, normalizeEmail } from "../../../shared/accounts/accounts";
import { passwordProblem } from "../../../shared/accounts/passwords";
import { verifySignIn } from "../../../shared/accounts/sign-in";
import { signUp } from "../../../shared/accounts/signup";
import { writeAudit } from "../../../shared/audit";
import { sendEmail } from "../../../shared/email/mailer";
import { AppError } from "../../../shared/errors";
import { teamsOf } from "../../../shared/teams/memberships";
import { clientIp, spendIpBudget } from "../../middleware/ip-rate-limit";
import { asApp, type ConsoleEnv } from "../context";
import { alreadyHaveAccount, signupFailed } from "../emails";
import { CheckInbox, Landing, MessagePage, SigninPage, SignupPage } from "../pages/public";
import { render } from "../render";
import { csrfValid, endSession, safeNext, startSession } from "../session";
import { rememberDevice, signInRefusal } from "../sign-in-limit";
import { mailVerificationLink } from "../verification-mail";

/** `/`, `/signup`, `/signin`, `/signout`: the console's front door. */
export const publicPages = new Hono<ConsoleEnv>();

const EXPIRED_FORM = "This form expired. Please try again.";

publicPages.get("/", (c) => {
  if (c.get("signedIn")) return c.redirect("/app/connect", 303);
  return render(c, <Landing />);
});

publicPages.get("/signup", (c) => {
  if (c.get("signedIn")) return c.redirect("/app/connect", 303);
  return render(c, <SignupPage csrf={c.get("csrf")} next={safeNext(c.req.query("next"), "") || null} />);
});

const signupForm = z.object({
  email: z.email().max(254),
  password: z.string().max(1024),
  team_name: z.string().trim().min(1).max(200),
});

/**
 * Web signup answers the same for a new address and a taken one ("check
 * your email"), so the form cannot be used to learn who has an account: a
 * new address gets a verification link (which signs the person in), a
 * taken one gets "you already have an account". The work after validation
 * — provisioning the tenant through the same `signUp` as `POST /api/signup`,
 * or looking the address up — runs after the answer, so timing says
 * nothing either. Rules that do not depend on the address's owner
 * (password strength, field lengths) are checked first and shown on the form.
 */
publicPages.post("/signup", async (c) => {
  const form = await c.req.formData();
  const values = {
    email: String(form.get("email") ?? "").slice(0, 254),
    teamName: String(form.get("team_name") ?? "").slice(0, 200),
    next: safeNext(form.get("next"), "") || null,
  };
  const page = (error: string, status: number, invalid?: "email" | "password" | "team_name") =>
    render(c, <SignupPage csrf={c.get("csrf")} {...values} error={error} invalid={invalid} />, status);
  if (!(await csrfValid(c, form))) return page(EXPIRED_FORM, 403);
  const limited = await spendIpBudget(asApp(c), "signup", c.get("services").config.ipRateLimitPerMinute);
  if (limited && !limited.allowed) return page("Too many signups from this address. Wait a minute and try again.", 429);

  const parsed = signupForm.safeParse(Object.fromEntries(form));
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path[0];
    if (field === "email") return page("Enter a valid email address.", 400, "email");
    if (field === "team_name") return page("Enter a team name (up to 200 characters).", 400, "team_name");
    return page("Enter a password.", 400, "password");
  }
  const { email, password, team_name: teamName } = parsed.data;
  const problem = passwordProblem(password, email);
  if (problem) return page(`Choose a stronger password: ${problem.replace(/^password: /, "")}.`, 400, "password");

  const { mgmtDb, config } = c.get("services");
  const logger = c.get("logger");
  const ip = clientIp(asApp(c));
  const work = (async () => {
    const taken = async () => {
      await sendEmail(
        c.env.EMAIL,
        config,
        logger,
        "signup_existing",
        alreadyHaveAccount(normalizeEmail(email), config.publicUrl),
      );
    };
    if (await emailTaken(mgmtDb, email)) return taken();
    try {
      const created = await signUp(mgmtDb, config, { email, password, orgName: teamName, ip });
      logger.info("account created", { tenant: created.tenant.id, user: created.userId, via: "console" });
      await mailVerificationLink(
        { mgmtDb, config, logger, email: c.env.EMAIL },
        { userId: created.userId, email: created.tenant.ownerEmail },
        values.next,
      );
    } catch (error) {
      if (error instanceof AppError && error.code === "email_taken") return taken();
      logger.error("console signup failed", { reason: error instanceof Error ? error.message : String(error) });
      // The page already said "check your email"; silence would leave the person waiting for nothing.
      await sendEmail(
        c.env.EMAIL,
        config,
        logger,
        "signup_failed",
        signupFailed(normalizeEmail(email), config.publicUrl),
      );
    }
  })();
  c.executionCtx.waitUntil(work);
  return render(c, <CheckInbox email={normalizeEmail(email)} what="signup" />);
});

publicPages.get("/signin", (c) => {
  const next = safeNext(c.req.query("next"), "") || null;
  if (c.get("signedIn")) return c.redirect(next ?? "/app/connect", 303);
  const notice = c.req.query("reset") === "1" ? "Your password was changed. Sign in with the new one." : null;
  return render(c, <SigninPage csrf={c.get("csrf")} next={next} notice={notice} />);
});

publicPages.post("/signin", async (c) => {
  const form = await c.req.formData();
  const email = String(form.get("email") ?? "").slice(0, 254);
  const password = String(form.get("password") ?? "").slice(0, 1024);
  const next = safeNext(form.get("next"), "") || null;
  const page = (error: string, status: number) =>
    render(c, <SigninPage csrf={c.get("csrf")} email={email} next={next} error={error} />, status);
  if (!(await csrfValid(c, form))) return page(EXPIRED_FORM, 403);
  const refusal = await signInRefusal(asApp(c), email);
  if (refusal) return page(refusal, 429);
  const { mgmtDb } = c.get("services");
  const account = await verifySignIn(mgmtDb, email, password);
  if (!account) {
    c.get("logger").warn("sign-in failed", { route: "/signin" });
    return page("Wrong email or password.", 401);
  }
  // The password was right, so saying this reveals nothing to a stranger.
  if ((await teamsOf(mgmtDb, account.id)).length === 0) {
    return page("Your account is no longer a member of any team. Ask a team's admin to invite you again.", 403);
  }
  await startSession(c, account.id);
  await rememberDevice(asApp(c), account.email);
  await writeAudit(mgmtDb, {
    tenantId: account.tenantId,
    actor: `user:${account.id}`,
    action: "account.sign_in",
    details: { userId: account.id },
    ip: clientIp(asApp(c)),
  });
  return c.redirect(next ?? "/app/connect", 303);
});

publicPages.post("/signout", async (c) => {
  const form = await c.req.formData();
  if (!(await csrfValid(c, form))) {
    return render(c, <MessagePage title="Sign out" message={EXPIRED_FORM} alert />, 403);
  }
  await endSession(c);
  return c.redirect("/", 303);
});

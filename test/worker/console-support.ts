import { env } from "cloudflare:workers";
import { afterEach, beforeEach, expect, vi } from "vitest";
import { workerFetch } from "./support";

/** A browser's cookie jar, good enough for the console's `__Host-` cookies on http://localhost. */
export class Browser {
  readonly cookies = new Map<string, string>();
  /** Each browser is its own person at its own address, so per-address limits apply per test. */
  readonly ip = `198.51.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("cf-connecting-ip", this.ip);
    if (this.cookies.size > 0) {
      headers.set("cookie", [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    }
    const response = await workerFetch(path, { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const [name = "", value = ""] = pair.split("=");
      const expired = attributes.some((a) => /max-age=0/i.test(a.trim()) || /expires=thu, 01 jan 1970/i.test(a.trim()));
      if (expired || value === "") this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value);
    }
    return response;
  }

  /** GET a page and return its HTML and the CSRF token of its (first) form. */
  async page(path: string): Promise<{ response: Response; html: string; csrf: string }> {
    const response = await this.fetch(path);
    const html = await response.text();
    return { response, html, csrf: csrfOf(html) };
  }

  /** POST a form the way a browser does. */
  post(path: string, fields: Record<string, string | string[]>): Promise<Response> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) {
      for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
    }
    return this.fetch(path, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } });
  }
}

export function csrfOf(html: string): string {
  return /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
}

export interface SentEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Every message the Worker hands to the `EMAIL` binding while the spy is installed. */
export interface CapturedEmail {
  readonly sent: SentEmail[];
  next(to: string, timeoutMs?: number): Promise<SentEmail>;
}

export function captureEmail(): CapturedEmail {
  const sent: SentEmail[] = [];
  vi.spyOn(env.EMAIL, "send").mockImplementation(async (message) => {
    sent.push(message as unknown as SentEmail);
    return { messageId: `test-${sent.length}` };
  });
  return {
    sent,
    async next(to, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = sent.find((message) => message.to === to);
        if (found) {
          sent.splice(sent.indexOf(found), 1);
          return found;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no email to ${to} within ${timeoutMs} ms`);
    },
  };
}

/**
 * The emails each test of a file sends, captured afresh for every test (one
 * test's mail never answers another's `next`); spies and fake timers are put
 * back after each test.
 */
export function emailPerTest(): CapturedEmail {
  let current: CapturedEmail | undefined;
  beforeEach(() => {
    current = captureEmail();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });
  const now = () => {
    if (!current) throw new Error("emailPerTest: mail read outside a test");
    return current;
  };
  return {
    get sent() {
      return now().sent;
    },
    next: (to, timeoutMs) => now().next(to, timeoutMs),
  };
}

export function linkIn(message: SentEmail, path: string): string {
  const match = new RegExp(`https?://[^\\s]+${path.replace("/", "\\/")}\\?token=[A-Za-z0-9]+`).exec(message.text);
  if (!match) throw new Error(`no ${path} link in: ${message.text}`);
  const url = new URL(match[0]);
  return `${url.pathname}${url.search}`;
}

export const PASSWORD = "a perfectly fine passphrase";

export const newEmail = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 8)}@example.test`;

type Mail = ReturnType<typeof captureEmail>;

/** Sign up on the web and open the verification link: the browser ends signed in. */
export async function signedUpBrowser(mail: Mail, tag = "person"): Promise<{ browser: Browser; email: string }> {
  const browser = new Browser();
  const email = newEmail(tag);
  const { csrf } = await browser.page("/signup");
  const answer = await browser.post("/signup", { csrf, email, password: PASSWORD, team_name: `${tag} team` });
  expect(answer.status).toBe(200);
  const confirm = await browser.page(linkIn(await mail.next(email), "/verify"));
  expect(confirm.html).toContain("Confirm email");
  const token = /name="token" value="([^"]+)"/.exec(confirm.html)?.[1] ?? "";
  const verified = await browser.post("/verify", { csrf: confirm.csrf, token });
  expect(verified.status).toBe(303);
  expect(verified.headers.get("location")).toBe("/app/connect?verified=1");
  return { browser, email };
}

export async function signIn(browser: Browser, email: string, password = PASSWORD): Promise<Response> {
  // A browser already signed in is sent on from /signin; its console pages carry its token.
  const shown = await browser.page("/signin");
  const csrf = shown.csrf || (await browser.page("/app/connect")).csrf;
  return browser.post("/signin", { csrf, email, password });
}

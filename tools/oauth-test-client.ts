/**
 * What the OAuth tests and the conformance harness do as a client and as a
 * person. The person's part of an authorization is done in a real browser
 * (tools/browser.ts): open the authorization URL, sign in, then Allow or
 * Deny on the consent page. Used by the browser tests and by the
 * conformance harness, whose authorization-code scenario waits for exactly
 * this step.
 */
import type { Page } from "playwright-core";

export interface SignInOptions {
  email: string;
  password: string;
  decision: "Allow" | "Deny";
  /** Called on the filled sign-in page and on the consent page (screenshots). */
  onPage?(page: Page, name: "sign-in" | "consent"): Promise<void>;
}

export async function signInAndDecide(page: Page, url: string, options: SignInOptions): Promise<void> {
  await page.goto(url);
  await page.getByLabel("Email").fill(options.email);
  await page.getByLabel("Password").fill(options.password);
  await options.onPage?.(page, "sign-in");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Allow" }).waitFor();
  await options.onPage?.(page, "consent");
  await page.getByRole("button", { name: options.decision }).click();
}

/** Register a public client (PKCE, no secret) by dynamic registration; returns its client_id. */
export async function registerPublicClient(baseUrl: string, clientName: string, redirectUri: string): Promise<string> {
  const response = await fetch(`${baseUrl}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: clientName, redirect_uris: [redirectUri], token_endpoint_auth_method: "none" }),
  });
  if (response.status !== 201)
    throw new Error(`client registration failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { client_id: string }).client_id;
}

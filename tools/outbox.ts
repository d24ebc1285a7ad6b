/**
 * The local stack's outbox: every message the Worker sends through the
 * `EMAIL` binding becomes one `.eml` file under `<state>/outbox/` (for
 * `npm run dev`, `.muninn/outbox/`), named so the newest sorts last.
 *
 * Wrangler dev simulates the binding: nothing is sent, and for each message
 * it writes the text and HTML parts to temporary files and logs their paths
 * under "send_email binding called with MessageBuilder:" with the From, To
 * and Subject lines. This reads that log as it streams and puts the parts
 * back together as a multipart/alternative message, so a person (or a test)
 * opens one file per message in any mail viewer.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";

export interface OutboxMessage {
  file: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

const MARKER = "send_email binding called with MessageBuilder:";
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what this strips.
const ANSI = /\u001b\[[0-9;]*m/g;

export class Outbox {
  readonly dir: string;
  readonly messages: OutboxMessage[] = [];
  #waiters: (() => void)[] = [];
  #pending: Partial<Record<"from" | "to" | "subject" | "text" | "html", string>> | null = null;
  #buffer = "";
  #sequence = 0;
  #work: Promise<void> = Promise.resolve();

  constructor(
    stateDir: string,
    readonly onMessage?: (message: OutboxMessage) => void,
  ) {
    this.dir = join(stateDir, "outbox");
  }

  /** Follow a process's output (wrangler dev's stdout and stderr). */
  follow(stream: Readable | null | undefined): void {
    stream?.on("data", (chunk: string | Buffer) => this.#feed(String(chunk)));
  }

  /** The first message to `to` that arrives from now on (or already arrived and was not taken). */
  async next(to: string, timeoutMs = 30_000): Promise<OutboxMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.messages.findIndex((message) => message.to.includes(to));
      if (index >= 0) return this.messages.splice(index, 1)[0] as OutboxMessage;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message to ${to} in ${this.dir} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #feed(chunk: string): void {
    this.#buffer += chunk;
    const lines = this.#buffer.split(/\r?\n/);
    this.#buffer = lines.pop() ?? "";
    for (const raw of lines) this.#line(raw.replace(ANSI, "").trim());
  }

  #line(line: string): void {
    if (line.endsWith(MARKER)) {
      this.#pending = {};
      return;
    }
    const pending = this.#pending;
    if (!pending) return;
    const field = /^(From|To|Subject|Text|HTML): (.*)$/.exec(line);
    if (!field) return;
    const key = field[1]?.toLowerCase() as keyof typeof pending;
    pending[key] = field[2] ?? "";
    // The HTML part is logged last; every message the Worker sends has one.
    if (key === "html") {
      this.#pending = null;
      this.#work = this.#work
        .then(() => this.#write(pending))
        .catch((error) => {
          console.error(`outbox: could not write a message: ${(error as Error).message}`);
        });
    }
  }

  async #write(parts: Partial<Record<"from" | "to" | "subject" | "text" | "html", string>>): Promise<void> {
    const text = parts.text ? await readFile(parts.text, "utf8") : "";
    const html = parts.html ? await readFile(parts.html, "utf8") : "";
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.#sequence += 1;
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const file = join(this.dir, `${stamp}-${String(this.#sequence).padStart(4, "0")}.eml`);
    const boundary = `muninn-${Date.now().toString(36)}-${this.#sequence}`;
    const eml = [
      `From: ${parts.from ?? ""}`,
      `To: ${parts.to ?? ""}`,
      `Subject: ${parts.subject ?? ""}`,
      `Date: ${new Date().toUTCString()}`,
      "MIME-Version: 1.0",
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      "",
      `--${boundary}`,
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      text,
      `--${boundary}`,
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      html,
      `--${boundary}--`,
      "",
    ].join("\r\n");
    // The messages carry working sign-in and reset links: readable by this user only.
    await writeFile(file, eml, { mode: 0o600 });
    await chmod(file, 0o600);
    const message = { file, from: parts.from ?? "", to: parts.to ?? "", subject: parts.subject ?? "", text, html };
    this.messages.push(message);
    this.onMessage?.(message);
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

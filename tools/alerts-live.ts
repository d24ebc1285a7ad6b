/**
 * `npm run alerts:live`: the alert rules of ops/prometheus/alerts.yml seen
 * firing against a real local stack. Starts a fresh local stack, Debian's
 * Prometheus (scraping its /metrics with the metrics token from a file) and
 * Alertmanager (production routing and inhibitions, receivers replaced by a
 * local webhook), then injects two faults and prints the timeline:
 *
 * 1. the management database's libSQL server stops: ManagementDatabaseUnreachable
 *    goes pending, firing, reaches Alertmanager and its receivers, and
 *    resolves once the server is back;
 * 2. Stripe webhooks arrive with a wrong signature: StripeWebhookInvalidSignatures
 *    the same way, resolving once they stop.
 *
 * The rules are the production ones with every time span (`for:` and range
 * windows) divided by `SPEED` (configs.ts), scraped and evaluated every
 * second, so the run takes a few minutes. Exit 0 when both alerts went
 * through every step in order, reached exactly the receivers the production
 * routing names, and no other alert reached any receiver; 1 otherwise. Every process it starts is
 * stopped on the way out, whatever happened.
 *
 * Needs `prometheus` and `prometheus-alertmanager` (Debian packages; CI installs them).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compressRules, liveAlertmanagerConfig, livePrometheusConfig } from "./alerts-live/configs";
import { freePort } from "./free-port";
import { type LibsqlServer, startLibsqlServer } from "./libsql-server/server";
import { type LocalStack, repoRoot, startLocalStack } from "./local-stack";

/** How much faster than production the rules' clock runs. */
const SPEED = 20;
const INTERVAL_SECONDS = 1;
/** The whole run, stack start included, must finish within this. */
const RUN_DEADLINE_MS = 8 * 60_000;
/** One alert from fault to resolution. */
const STEP_TIMEOUT_MS = 150_000;

const started = Date.now();
const elapsed = () => `t+${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
const say = (line: string) => console.log(`${elapsed()}  ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function requireBinary(name: string, pkg: string): void {
  const probe = spawnSync(name, ["--version"], { stdio: "ignore" });
  if (probe.error) {
    console.error(`alerts:live needs ${name}: apt-get install -y ${pkg}`);
    process.exit(2);
  }
}

interface Daemon {
  child: ChildProcess;
  output(): string;
}

function startDaemon(command: string, args: string[]): Daemon {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  const keep = (chunk: string) => {
    text = (text + chunk).slice(-20_000);
  };
  child.stdout?.setEncoding("utf8").on("data", keep);
  child.stderr?.setEncoding("utf8").on("data", keep);
  return { child, output: () => text };
}

async function stopDaemon(daemon: Daemon | undefined): Promise<void> {
  if (!daemon || daemon.child.exitCode !== null || daemon.child.signalCode !== null) return;
  const exited = new Promise((resolve) => daemon.child.once("exit", resolve));
  daemon.child.kill("SIGTERM");
  await Promise.race([exited, sleep(5000)]);
  if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill("SIGKILL");
}

async function getJson<T>(url: string): Promise<T | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return response.ok ? ((await response.json()) as T) : null;
  } catch {
    return null;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/** Notifications Alertmanager delivered to the stand-in receivers, as they arrive. */
interface Notification {
  receiver: string;
  status: string;
  alertnames: string[];
}

function startReceiver(port: number, onNotification: (n: Notification) => void): Promise<Server> {
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      try {
        const payload = JSON.parse(body) as { status: string; alerts: { labels: { alertname: string } }[] };
        const receiver = (req.url ?? "/").slice(1);
        onNotification({ receiver, status: payload.status, alertnames: payload.alerts.map((a) => a.labels.alertname) });
      } catch {}
      res.writeHead(200).end();
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

interface PromAlert {
  labels: Record<string, string>;
  state: "pending" | "firing";
}

interface AmAlert {
  labels: Record<string, string>;
  status: { state: string };
  receivers: { name: string }[];
}

/**
 * Follow one alert through Prometheus, Alertmanager and the receivers until
 * every step was seen in order, printing each step once as it happens.
 */
class AlertWatch {
  readonly seen = new Map<string, number>();
  #notifications: Notification[] = [];

  constructor(
    readonly alertname: string,
    readonly prometheus: string,
    readonly alertmanager: string,
    /** The receivers the production routing must send it to (severity critical: pagerduty and slack). */
    readonly receivers: string[],
  ) {}

  notify(notification: Notification): void {
    if (!notification.alertnames.includes(this.alertname)) return;
    this.#notifications.push(notification);
    this.#step(`notified ${notification.receiver} (${notification.status})`);
  }

  #step(name: string): void {
    if (this.seen.has(name)) return;
    this.seen.set(name, Date.now());
    say(`${this.alertname}: ${name}`);
  }

  async poll(): Promise<{ state: string | null; inAlertmanager: boolean }> {
    const prom = await getJson<{ data: { alerts: PromAlert[] } }>(`${this.prometheus}/api/v1/alerts`);
    const state = prom?.data.alerts.find((a) => a.labels.alertname === this.alertname)?.state ?? null;
    if (state) this.#step(state === "pending" ? "pending in Prometheus" : "firing in Prometheus");
    const filter = encodeURIComponent(`alertname="${this.alertname}"`);
    const am = await getJson<AmAlert[]>(`${this.alertmanager}/api/v2/alerts?filter=${filter}`);
    const active = (am ?? []).find((a) => a.status.state === "active");
    if (active) this.#step(`active in Alertmanager, routed to ${active.receivers.map((r) => r.name).join(" + ")}`);
    return { state, inAlertmanager: active !== undefined };
  }

  /** Poll until firing in Prometheus and active in Alertmanager with a firing notification delivered. */
  async untilFiring(timeoutMs: number): Promise<void> {
    await waitFor(
      `${this.alertname} to fire and reach Alertmanager`,
      async () => {
        const { state, inAlertmanager } = await this.poll();
        return state === "firing" && inAlertmanager && this.#notifications.some((n) => n.status === "firing");
      },
      timeoutMs,
    );
  }

  /** Poll until gone from Prometheus and Alertmanager, with a resolved notification delivered. */
  async untilResolved(timeoutMs: number): Promise<void> {
    await waitFor(
      `${this.alertname} to resolve`,
      async () => {
        const { state, inAlertmanager } = await this.poll();
        if (state === null) this.#step("resolved in Prometheus");
        return state === null && !inAlertmanager && this.#notifications.some((n) => n.status === "resolved");
      },
      timeoutMs,
    );
    this.#step("resolved in Alertmanager");
  }

  /** The steps must have happened in this order. */
  assertOrder(): void {
    const notified = [...new Set(this.#notifications.map((n) => n.receiver))].sort();
    if (notified.join(",") !== [...this.receivers].sort().join(",")) {
      throw new Error(
        `${this.alertname}: notified ${notified.join(" + ")}, routing says ${this.receivers.join(" + ")}`,
      );
    }
    const at = (prefix: string) => [...this.seen].find(([name]) => name.startsWith(prefix))?.[1];
    const order = ["pending", "firing", "active in Alertmanager", "notified", "resolved in Prometheus"];
    const times = order.map((prefix) => at(prefix));
    const missing = order.filter((_, i) => times[i] === undefined);
    if (missing.length > 0) throw new Error(`${this.alertname}: never seen ${missing.join(", ")}`);
    for (let i = 1; i < times.length; i++) {
      if ((times[i] as number) < (times[i - 1] as number)) {
        throw new Error(`${this.alertname}: "${order[i]}" came before "${order[i - 1]}"`);
      }
    }
  }
}

/** A Stripe webhook signed with the wrong secret: what Stripe sends when the two secrets differ. */
async function forgedWebhook(baseUrl: string): Promise<number> {
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await fetch(`${baseUrl}/webhooks/stripe`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": `t=${timestamp},v1=${"0".repeat(64)}` },
    body: JSON.stringify({ id: `evt_live_${timestamp}`, object: "event", type: "invoice.paid", data: { object: {} } }),
  });
  await response.body?.cancel();
  return response.status;
}

async function main(): Promise<void> {
  requireBinary("prometheus", "prometheus");
  requireBinary("prometheus-alertmanager", "prometheus-alertmanager");
  const runDeadline = setTimeout(() => {
    console.error(`alerts:live: over ${RUN_DEADLINE_MS / 60_000} minutes, giving up`);
    process.kill(process.pid, "SIGTERM");
  }, RUN_DEADLINE_MS);
  const dir = await mkdtemp(join(tmpdir(), "muninn-alerts-live-"));
  let stack: LocalStack | undefined;
  let restarted: LibsqlServer | undefined;
  let prometheus: Daemon | undefined;
  let alertmanager: Daemon | undefined;
  let receiver: Server | undefined;
  let failed = false;
  const cleanup = async () => {
    await stopDaemon(prometheus);
    await stopDaemon(alertmanager);
    receiver?.close();
    await restarted?.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  process.once("SIGTERM", () => void cleanup().finally(() => process.exit(1)));
  process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));

  try {
    const workerPort = await freePort();
    const libsqlPort = await freePort();
    const promPort = await freePort();
    const amPort = await freePort();
    const receiverPort = await freePort();
    const stateDir = join(dir, "stack");
    say("starting a fresh local stack");
    stack = await startLocalStack({ port: workerPort, libsqlPort, stateDir });
    const { info } = stack;

    const tokenFile = join(dir, "metrics-token");
    await writeFile(tokenFile, info.metricsToken, { mode: 0o600 });
    const rulesFile = join(dir, "alerts.yml");
    await writeFile(
      rulesFile,
      compressRules(await readFile(join(repoRoot, "ops/prometheus/alerts.yml"), "utf8"), SPEED),
    );
    const promConfig = join(dir, "prometheus.yml");
    const amUrl = `http://127.0.0.1:${amPort}`;
    const promUrl = `http://127.0.0.1:${promPort}`;
    await writeFile(
      promConfig,
      livePrometheusConfig({
        rulesFile,
        target: `127.0.0.1:${workerPort}`,
        tokenFile,
        alertmanager: `127.0.0.1:${amPort}`,
        intervalSeconds: INTERVAL_SECONDS,
      }),
    );
    const amConfig = join(dir, "alertmanager.yml");
    const productionAm = await readFile(join(repoRoot, "ops/alertmanager/alertmanager.yml"), "utf8");
    await writeFile(amConfig, liveAlertmanagerConfig(productionAm, `http://127.0.0.1:${receiverPort}`));

    const watches = [
      new AlertWatch("ManagementDatabaseUnreachable", promUrl, amUrl, ["pagerduty", "slack"]),
      new AlertWatch("StripeWebhookInvalidSignatures", promUrl, amUrl, ["slack"]),
    ];
    const suppressed = new Set<string>();
    /** Every alert name any receiver was notified of. */
    const notifiedNames = new Set<string>();
    receiver = await startReceiver(receiverPort, (notification) => {
      for (const name of notification.alertnames) notifiedNames.add(name);
      for (const watch of watches) watch.notify(notification);
    });

    alertmanager = startDaemon("prometheus-alertmanager", [
      `--config.file=${amConfig}`,
      `--storage.path=${join(dir, "alertmanager-data")}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      "--cluster.listen-address=",
    ]);
    prometheus = startDaemon("prometheus", [
      `--config.file=${promConfig}`,
      `--storage.tsdb.path=${join(dir, "prometheus-data")}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    const am = alertmanager;
    const prom = prometheus;
    await waitFor("Alertmanager", async () => (await getJson(`${amUrl}/api/v2/status`)) !== null, 30_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${am.output()}`);
      },
    );
    await waitFor(
      "Prometheus to scrape the Worker",
      async () => {
        const up = await getJson<{ data: { result: { value: [number, string] }[] } }>(
          `${promUrl}/api/v1/query?query=${encodeURIComponent('up{job="muninn"}')}`,
        );
        return up?.data.result[0]?.value[1] === "1";
      },
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${prom.output()}`);
    });
    say(`Prometheus ${promUrl} scrapes ${info.baseUrl}/metrics every ${INTERVAL_SECONDS} s (rules ${SPEED}× faster)`);
    say(`Alertmanager ${amUrl}, receivers → webhook on 127.0.0.1:${receiverPort}`);
    // A few seconds of healthy samples first, so rate windows have a baseline.
    await sleep(5000);

    // Fault 1: the runbook's first failure mode.
    const [mgmt, webhooks] = watches as [AlertWatch, AlertWatch];
    say("FAULT 1: stopping the management database's libSQL server");
    await stack.libsql.close();
    const watchInhibited = setInterval(async () => {
      const list = await getJson<AmAlert[]>(`${amUrl}/api/v2/alerts?active=false&inhibited=true`);
      for (const alert of list ?? []) {
        const name = alert.labels.alertname ?? "";
        if (alert.status.state === "suppressed" && !suppressed.has(name)) {
          suppressed.add(name);
          say(`${name}: inhibited in Alertmanager`);
        }
      }
    }, 500);
    await mgmt.untilFiring(STEP_TIMEOUT_MS);
    say("RECOVER 1: starting the libSQL server again (same port, same data)");
    restarted = await startLibsqlServer({
      port: libsqlPort,
      dataDir: join(stateDir, "libsql"),
      authToken: stack.secrets.libsqlToken,
    });
    await mgmt.untilResolved(STEP_TIMEOUT_MS);
    clearInterval(watchInhibited);
    mgmt.assertOrder();

    // Fault 2: the Worker's webhook secret differs from Stripe's.
    say("FAULT 2: Stripe webhooks signed with another secret, one a second");
    let forging = true;
    let refused = 0;
    const forger = (async () => {
      while (forging) {
        if ((await forgedWebhook(info.baseUrl)) === 400) refused += 1;
        await sleep(1000);
      }
    })();
    try {
      await webhooks.untilFiring(STEP_TIMEOUT_MS);
    } finally {
      forging = false;
      await forger;
    }
    say(`RECOVER 2: secrets agree again (no more forged deliveries; ${refused} were refused 400)`);
    await webhooks.untilResolved(STEP_TIMEOUT_MS);
    webhooks.assertOrder();
    // Nothing else may have paged or posted: e.g. ReadinessFailing while the breaker still held
    // /ready at 503 right after the database came back would be a second, false page.
    await sleep(5000);
    const others = [...notifiedNames].filter((name) => !watches.some((watch) => watch.alertname === name));
    if (others.length > 0) throw new Error(`receivers were also notified of ${others.join(", ")}`);
    say("no other alert reached a receiver");
    say("alerts:live: both alerts went pending → firing → Alertmanager → receivers → resolved");
  } catch (error) {
    failed = true;
    console.error(`alerts:live FAILED: ${(error as Error).message}`);
  } finally {
    clearTimeout(runDeadline);
    await cleanup();
  }
  process.exit(failed ? 1 : 0);
}

await main();

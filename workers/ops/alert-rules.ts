import { z } from "zod";
import { describeError, type Logger } from "../../shared/logging";

/**
 * The alert rules' state as Prometheus evaluates them (`GET /api/v1/rules`),
 * for the admin console's health page: each alert with its severity, state
 * (inactive / pending / firing) and how many series are active. Read on
 * demand, with a short timeout: a slow or absent Prometheus must not hold
 * the page.
 */
export interface AlertRuleState {
  group: string;
  name: string;
  state: "inactive" | "pending" | "firing";
  severity: string | null;
  summary: string | null;
  active: number;
  health: string;
}

const TIMEOUT_MS = 3000;

const rulesResponse = z.object({
  status: z.literal("success"),
  data: z.object({
    groups: z.array(
      z.object({
        name: z.string(),
        rules: z.array(
          z.object({
            type: z.string(),
            name: z.string(),
            state: z.string().optional(),
            health: z.string().optional(),
            labels: z.record(z.string(), z.string()).optional(),
            annotations: z.record(z.string(), z.string()).optional(),
            alerts: z.array(z.unknown()).optional(),
          }),
        ),
      }),
    ),
  }),
});

export type AlertRulesAnswer = { rules: AlertRuleState[] } | { error: string };

export async function readAlertRules(prometheusUrl: string, logger: Logger): Promise<AlertRulesAnswer> {
  let body: unknown;
  try {
    const response = await fetch(`${prometheusUrl}/api/v1/rules?type=alert`, {
      signal: AbortSignal.timeout(TIMEOUT_MS),
      headers: { accept: "application/json" },
      // Not followed: a redirect (a login page in front of Prometheus) is answered as the status it is.
      redirect: "manual",
    });
    if (!response.ok) return { error: `Prometheus answered ${response.status}.` };
    body = await response.json();
  } catch (error) {
    logger.warn("alert rules unavailable", describeError(error));
    return { error: "Prometheus did not answer." };
  }
  const parsed = rulesResponse.safeParse(body);
  if (!parsed.success) return { error: "Prometheus answered something other than a rules list." };
  const states = new Set(["inactive", "pending", "firing"]);
  return {
    rules: parsed.data.data.groups.flatMap((group) =>
      group.rules
        .filter((rule) => rule.type === "alerting")
        .map((rule) => ({
          group: group.name,
          name: rule.name,
          state: (states.has(rule.state ?? "") ? rule.state : "inactive") as AlertRuleState["state"],
          severity: rule.labels?.severity ?? null,
          summary: rule.annotations?.summary ?? null,
          active: rule.alerts?.length ?? 0,
          health: rule.health ?? "unknown",
        })),
    ),
  };
}

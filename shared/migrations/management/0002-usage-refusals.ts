import type { Migration } from "../../db/migrate";

/**
 * Management DB v2: refusal counts beside usage, so the operator (and the
 * metrics) can see per tenant and month how often it hit its rate limit or
 * its quota, aggregated across every isolate by the tenant's Durable Object.
 */
export default {
  version: 2,
  name: "usage-refusals",
  statements: [
    "ALTER TABLE usage ADD COLUMN rate_limited INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE usage ADD COLUMN quota_exceeded INTEGER NOT NULL DEFAULT 0",
  ],
} satisfies Migration;

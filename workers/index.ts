import { createApp } from "./app";
import { scheduled } from "./scheduled";

export { IpLimiterDO } from "../durable-objects/ip-limiter/ip-limiter-do";
export { MetricsDO } from "../durable-objects/metrics/metrics-do";
export { TenantDO } from "../durable-objects/tenant/tenant-do";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Env>;

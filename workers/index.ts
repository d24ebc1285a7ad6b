import { createApp } from "./app";

export { MetricsDO } from "../durable-objects/metrics/metrics-do";
export { TenantDO } from "../durable-objects/tenant/tenant-do";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;

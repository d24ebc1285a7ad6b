/**
 * The Worker as the latency-injection benchmark runs it (bench/latency.ts):
 * the production entry, with every call to a tenant's Durable Object delayed
 * by `FAR_OBJECT_DELAY_MS`, as if the object lived in a far colo (an agent in
 * Sydney, its tenant's object in Frankfurt).
 *
 * Only the benchmark starts `wrangler dev` with this file as the entry
 * (`startLocalStack({ main })`); `wrangler.toml` names `workers/index.ts`, so
 * no deployed Worker contains this code and no setting can switch it on. The
 * object's own code is untouched: the delay is on the Worker's side of the
 * call, where the network would be.
 */
import worker from "../../workers/index";
import { FAR_OBJECT_DELAY_MS } from "./far-object-constants";

export { IpLimiterDO } from "../../durable-objects/ip-limiter/ip-limiter-do";
export { MetricsDO } from "../../durable-objects/metrics/metrics-do";
export { TenantDO } from "../../durable-objects/tenant/tenant-do";

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A stub whose every RPC method waits `FAR_OBJECT_DELAY_MS` before the call is made. */
function farStub<T extends object>(stub: T): T {
  return new Proxy(stub, {
    get(target, property) {
      const value = (target as Record<string | symbol, unknown>)[property];
      if (typeof property !== "string" || property === "then" || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        await sleep(FAR_OBJECT_DELAY_MS);
        return (target as Record<string, (...a: unknown[]) => unknown>)[property]?.(...args);
      };
    },
  });
}

function farNamespace(namespace: Env["TENANT_DO"]): Env["TENANT_DO"] {
  return new Proxy(namespace, {
    get(target, property) {
      if (property === "getByName") return (name: string) => farStub(target.getByName(name));
      if (property === "get") return (id: DurableObjectId) => farStub(target.get(id));
      const value = (target as unknown as Record<string | symbol, unknown>)[property];
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** One wrapped env per isolate, so what the app keeps per env (pools, caches) is kept as in production. */
const wrapped = new WeakMap<Env, Env>();

function farEnv(env: Env): Env {
  let far = wrapped.get(env);
  if (!far) {
    far = { ...env, TENANT_DO: farNamespace(env.TENANT_DO) };
    wrapped.set(env, far);
  }
  return far;
}

export default {
  fetch: (request, env, ctx) => worker.fetch(request, farEnv(env), ctx),
  scheduled: (controller, env) => worker.scheduled(controller, farEnv(env)),
} satisfies ExportedHandler<Env>;

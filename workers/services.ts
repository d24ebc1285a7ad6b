import { type Config, readConfig } from "../shared/config";
import { type Database, openDatabase } from "../shared/db/client";

/**
 * What a request needs beyond its own input, built once per isolate. Workers
 * reuse an isolate across requests with the same `env` object, so the parsed
 * config and the management-DB client are cached against it.
 */
export interface Services {
  config: Config;
  mgmtDb: Database;
}

const cache = new WeakMap<Env, Services>();

export function getServices(env: Env): Services {
  let services = cache.get(env);
  if (!services) {
    const config = readConfig(env);
    services = { config, mgmtDb: openDatabase(config.mgmtDb, config.dbTimeoutMs) };
    cache.set(env, services);
  }
  return services;
}

import type { Logger } from "../shared/logging";
import type { Services } from "./services";

/** Hono environment shared by every route and middleware. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    logger: Logger;
    services: Services;
  };
}

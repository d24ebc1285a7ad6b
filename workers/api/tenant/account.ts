import { Hono } from "hono";
import { admitted } from "../../admission";
import { authenticate } from "../../auth/authenticate";
import type { AppEnv } from "../../types";
import { deletionResponse } from "../account/deletion";

/** `DELETE /api/account`: the tenant deletes itself, with its own key. */
export const tenantAccount = new Hono<AppEnv>();

tenantAccount.delete("/", authenticate(), admitted(), (c) =>
  deletionResponse(c, c.var.auth.tenantId, `tenant:${c.var.auth.keyId}`),
);

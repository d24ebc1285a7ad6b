import { AppError, type ErrorKind } from "../errors";

/**
 * An error about one input field, named in the domain's own (camelCase)
 * terms. Whoever speaks to a client names the field its way: the MCP tools
 * in snake_case (`toId` → `to_id: …`), so the domain never spells a wire name.
 */
export class FieldError extends AppError {
  constructor(
    kind: ErrorKind,
    readonly field: string,
    message: string,
    code: string,
  ) {
    super(kind, message, { code });
  }
}

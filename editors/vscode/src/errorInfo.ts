/**
 * What to tell the user about a failure, and which action fits: pure logic,
 * no VS Code import, so it is unit-tested in Node. `errors.ts` shows it.
 */
import { ErrorCodes, type ErrorData } from "./protocol";

/** The actions a notification can offer (their button titles). */
export const Actions = {
  openConfig: "Open atmos.yaml",
  showOutput: "Show Output",
  openSettings: "Open Settings",
  copyYaml: "Copy YAML",
} as const;
export type ActionId = keyof typeof Actions;

/** The YAML that turns sessions on (shown for 1004). */
export const SESSIONS_ENABLED_YAML = "ai:\n  sessions:\n    enabled: true";

/** How to get the binary (shown when `atmos.path` does not lead to one). */
export const INSTALL_HINT =
  "install it with `cargo install --path cli` from the atmos-ai repository, or set `atmos.path` to the binary";

export interface ErrorInfo {
  /** One line, for the notification. */
  message: string;
  /** Longer text (the YAML to add, a hint), shown inline in the chat. */
  detail?: string;
  actions: ActionId[];
  /** The JSON-RPC code, when the error came from the server. */
  code?: number;
  /** A request the user cancelled: nothing to report. */
  cancelled: boolean;
}

/** The `atmos` binary could not be found or run. */
export class BinaryMissingError extends Error {
  constructor(readonly command: string, cause?: string) {
    super(
      `Cannot run the atmos binary '${command}'${cause ? ` (${cause})` : ""}: ${INSTALL_HINT}`,
    );
    this.name = "BinaryMissingError";
  }
}

/** Anything else the extension itself refuses, with a message for the user. */
export class UserError extends Error {
  constructor(message: string, readonly actions: ActionId[] = []) {
    super(message);
    this.name = "UserError";
  }
}

interface RpcErrorLike {
  code: number;
  message: string;
  data?: unknown;
}

function isRpcError(e: unknown): e is RpcErrorLike {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { code?: unknown }).code === "number" &&
    typeof (e as { message?: unknown }).message === "string"
  );
}

function stripPeriod(s: string): string {
  return s.replace(/\.\s*$/, "");
}

/** The error's `data`, when it is an object. */
export function errorData(e: unknown): ErrorData {
  if (isRpcError(e) && typeof e.data === "object" && e.data !== null) {
    return e.data as ErrorData;
  }
  return {};
}

/** The JSON-RPC error code of `e`, if it has one. */
export function errorCode(e: unknown): number | undefined {
  return isRpcError(e) ? e.code : undefined;
}

export function isCancelled(e: unknown): boolean {
  return errorCode(e) === ErrorCodes.RequestCancelled;
}

/**
 * vscode-jsonrpc's own codes for a connection that broke (-32099 write error,
 * -32098 read error, -32097 pending response rejected, -32096 inactive): the
 * server never answered.
 */
const CONNECTION_ERRORS = { min: -32099, max: -32096 } as const;

/** Turns any failure into what the user sees. */
export function describeError(e: unknown): ErrorInfo {
  if (e instanceof BinaryMissingError) {
    return { message: e.message, actions: ["openSettings", "showOutput"], cancelled: false };
  }
  if (e instanceof UserError) {
    return { message: e.message, actions: e.actions, cancelled: false };
  }
  if (!isRpcError(e)) {
    const message = e instanceof Error ? e.message : String(e);
    return {
      message: `Atmos: ${stripPeriod(message)}`,
      actions: ["showOutput"],
      cancelled: false,
    };
  }
  const data = errorData(e);
  const message = stripPeriod(e.message);
  const info = (actions: ActionId[], detail?: string): ErrorInfo => ({
    message,
    detail,
    actions,
    code: e.code,
    cancelled: false,
  });
  if (e.code >= CONNECTION_ERRORS.min && e.code <= CONNECTION_ERRORS.max) {
    return {
      message: `The atmos server stopped or cannot be reached (${message}): see the Atmos output for why; the next request starts it again`,
      actions: ["showOutput"],
      code: e.code,
      cancelled: false,
    };
  }
  switch (e.code) {
    case ErrorCodes.RequestCancelled:
      return { message: "The request was cancelled", actions: [], code: e.code, cancelled: true };
    case ErrorCodes.SessionsDisabled:
      return {
        message: `${message}. To turn sessions on, add to atmos.yaml: ${SESSIONS_ENABLED_YAML.replace(/\n\s*/g, " ")}`,
        detail: `Add this to ${data.configPath ?? "atmos.yaml"}:\n\n${SESSIONS_ENABLED_YAML}`,
        actions: ["openConfig", "copyYaml"],
        code: e.code,
        cancelled: false,
      };
    case ErrorCodes.ConfigInvalid:
      return info(["openConfig"]);
    case ErrorCodes.ProviderNotConfigured:
      return info(["openConfig"], data.missing ? `Set ${data.missing} in the environment VS Code starts from, then restart it` : undefined);
    case ErrorCodes.ProviderError:
      return info(["showOutput"]);
    case ErrorCodes.StorageError:
      return info(["showOutput"], data.hint);
    case ErrorCodes.SessionNotFound:
    case ErrorCodes.SessionExists:
    case ErrorCodes.InvalidName:
    case ErrorCodes.InvalidDuration:
    case ErrorCodes.Busy:
    case ErrorCodes.InvalidImport:
    case ErrorCodes.InvalidParams:
      return info([]);
    default:
      // Connection closed, server crashed, internal errors: the log says more.
      return info(["showOutput"]);
  }
}

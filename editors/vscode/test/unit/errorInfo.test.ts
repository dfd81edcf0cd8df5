import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ResponseError } from "vscode-jsonrpc";
import { BinaryMissingError, describeError, SESSIONS_ENABLED_YAML, UserError } from "../../src/errorInfo";
import { ErrorCodes } from "../../src/protocol";

describe("describeError", () => {
  it("shows 1004 with the YAML that enables sessions", () => {
    const info = describeError(
      new ResponseError(ErrorCodes.SessionsDisabled, "sessions are disabled in /p/atmos.yaml.", {
        kind: "sessionsDisabled",
        configPath: "/p/atmos.yaml",
      }),
    );
    assert.ok(info.message.startsWith("sessions are disabled in /p/atmos.yaml"));
    assert.match(info.message, /ai: sessions: enabled: true/);
    assert.equal(info.detail, `Add this to /p/atmos.yaml:\n\n${SESSIONS_ENABLED_YAML}`);
    assert.deepEqual(info.actions, ["openConfig", "copyYaml"]);
  });

  it("keeps the server's message and offers the action that fits", () => {
    const config = describeError(new ResponseError(ErrorCodes.ConfigInvalid, "ai.default_provider: unknown", {}));
    assert.equal(config.message, "ai.default_provider: unknown");
    assert.deepEqual(config.actions, ["openConfig"]);
    const provider = describeError(new ResponseError(ErrorCodes.ProviderError, "anthropic answered 500", {}));
    assert.deepEqual(provider.actions, ["showOutput"]);
    const missing = describeError(
      new ResponseError(ErrorCodes.ProviderNotConfigured, "OPENAI_API_KEY is not set", { missing: "OPENAI_API_KEY" }),
    );
    assert.deepEqual(missing.actions, ["openConfig"]);
    assert.match(missing.detail ?? "", /OPENAI_API_KEY/);
    const notFound = describeError(new ResponseError(ErrorCodes.SessionNotFound, "session 'x' not found", {}));
    assert.deepEqual(notFound.actions, []);
    assert.equal(notFound.code, 1001);
  });

  it("reports nothing for a cancelled request", () => {
    assert.equal(describeError(new ResponseError(ErrorCodes.RequestCancelled, "cancelled")).cancelled, true);
  });

  it("says the server stopped when the connection broke, and where to look", () => {
    const info = describeError(
      new ResponseError(-32097, "Pending response rejected since connection got disposed"),
    );
    assert.match(info.message, /atmos server stopped/);
    assert.match(info.message, /Atmos output/);
    assert.match(info.message, /next request starts it again/);
    assert.deepEqual(info.actions, ["showOutput"]);
    assert.equal(info.cancelled, false);
  });

  it("says how to install a missing binary", () => {
    const info = describeError(new BinaryMissingError("atmos", "not found on PATH"));
    assert.match(info.message, /cargo install --path cli/);
    assert.match(info.message, /atmos\.path/);
    assert.deepEqual(info.actions, ["openSettings", "showOutput"]);
  });

  it("passes the extension's own refusals through", () => {
    assert.equal(describeError(new UserError("Select some text first")).message, "Select some text first");
    assert.match(describeError(new Error("connection got disposed.")).message, /^Atmos: connection got disposed$/);
  });
});

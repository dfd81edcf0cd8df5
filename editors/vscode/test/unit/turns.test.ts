import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCodes } from "../../src/protocol";
import { isAboutSession, StoredWaiter, userMessageKept } from "../../src/turns";

const current = { id: "0193a0c0-0000-7000-8000-000000000001", name: "vpc-design" };

describe("isAboutSession", () => {
  it("matches by id when the notification has one", () => {
    assert.equal(isAboutSession({ reason: "renamed", sessionId: current.id, name: "vpc-2" }, current), true);
    assert.equal(isAboutSession({ reason: "deleted", sessionId: "other", name: "vpc-design" }, current), false);
  });

  it("matches an eviction by name (it carries no id)", () => {
    assert.equal(isAboutSession({ reason: "evicted", name: "vpc-design" }, current), true);
    assert.equal(isAboutSession({ reason: "evicted", name: "eks" }, current), false);
  });

  it("never matches without a session or without id and name", () => {
    assert.equal(isAboutSession({ reason: "chat", sessionId: current.id }, undefined), false);
    assert.equal(isAboutSession({ reason: "cleaned" }, current), false);
  });
});

describe("userMessageKept", () => {
  it("is true once the server announced the turn, or for a provider failure (1005)", () => {
    assert.equal(userMessageKept(ErrorCodes.Busy, true), true);
    assert.equal(userMessageKept(ErrorCodes.ProviderError, false), true);
  });

  it("is false for what is refused before the message is stored", () => {
    for (const code of [
      ErrorCodes.Busy,
      ErrorCodes.ProviderNotConfigured,
      ErrorCodes.SessionNotFound,
      ErrorCodes.SessionsDisabled,
      ErrorCodes.ConfigInvalid,
      ErrorCodes.InvalidParams,
      undefined,
    ]) {
      assert.equal(userMessageKept(code, false), false, String(code));
    }
  });
});

describe("StoredWaiter", () => {
  it("resolves when the server says the stopped turn is stored", async () => {
    const w = new StoredWaiter();
    let done = false;
    const p = w.wait("s1", 60_000).then(() => (done = true));
    assert.equal(w.isWaiting("s1"), true);
    assert.equal(w.notify("s2"), false, "another session's turn");
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false);
    assert.equal(w.notify("s1"), true);
    await p;
    assert.equal(done, true);
    assert.equal(w.isWaiting("s1"), false);
    assert.equal(w.notify("s1"), false, "a later turn's notification is not taken for it");
  });

  it("resolves after the timeout when no notification comes", async () => {
    const w = new StoredWaiter();
    const started = Date.now();
    await w.wait("s1", 20);
    assert.ok(Date.now() - started >= 15);
    assert.equal(w.isWaiting("s1"), false);
  });

  it("shares one wait per session and releases everything on dispose", async () => {
    const w = new StoredWaiter();
    const a = w.wait("s1", 60_000);
    assert.equal(w.wait("s1", 60_000), a);
    const b = w.wait("s2", 60_000);
    w.dispose();
    await Promise.all([a, b]);
    assert.equal(w.isWaiting("s1") || w.isWaiting("s2"), false);
  });
});

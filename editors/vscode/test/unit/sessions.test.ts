/**
 * The session features of issue 14 against the real `atmos ai serve` and the
 * fake provider: following a session that another process (`atmos ai ask`,
 * `atmos ai sessions …`) changes, fork, pin, uncompact, titles, the cost, masked
 * secrets and the backup; with the client logic the chat view runs on them
 * (`src/live.ts`, `src/transcript.ts`, `src/cost.ts`).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { ResponseError } from "vscode-jsonrpc";
import { sessionUsage, pricingOf } from "../../src/cost";
import { applyUpdate, Follower, newestMessageId, replyStreamingElsewhere } from "../../src/live";
import {
  ErrorCodes,
  SessionsChanged,
  SessionUpdated,
  type Message,
  type SessionsChangedParams,
  type SessionUpdatedParams,
} from "../../src/protocol";
import { groupTranscript, isUndoneSummary } from "../../src/transcript";
import { redactionNotice } from "../../src/turns";
import { FakeProvider, Server, waitFor } from "./harness";

async function rpcError(p: Promise<unknown>): Promise<ResponseError<unknown>> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ResponseError, `expected a ResponseError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected the request to fail");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the view shows of a message, to compare transcripts. */
const view = (ms: Message[]) => ms.map((m) => ({ id: m.id, role: m.role, content: m.content, interrupted: m.interrupted }));

describe("following a session that another process changes", () => {
  let fake: FakeProvider;
  let server: Server;
  const updates: SessionUpdatedParams[] = [];
  const changes: SessionsChangedParams[] = [];

  before(async () => {
    fake = await FakeProvider.start();
    server = await Server.start(fake);
    server.connection.onNotification(SessionUpdated, (p) => updates.push(p));
    server.connection.onNotification(SessionsChanged, (p) => changes.push(p));
  });

  after(async () => {
    await server?.stop();
    await fake?.stop();
  });

  it("gets the question and the streaming reply of `atmos ai ask` as atmos/session/updated", async () => {
    const { session } = await server.api.createSession({ name: "live" });
    await server.api.chat({ id: session.id, message: "Which CIDR for prod?" });
    // What the chat view shows, then follows.
    let shown = await server.api.transcript({ id: session.id });
    const follower = new Follower();
    const sub = await follower.follow(server.api, session.id, newestMessageId(shown));
    assert.equal(sub?.session.id, session.id);
    assert.equal(sub?.replyingElsewhere, false);
    assert.equal(updates.length, 0, "nothing newer than the newest message shown");

    const changesBefore = changes.length;
    await fake.reply(["From ", "the ", "terminal: ", "dev ", "uses ", "10.60.0.0/16."], 250);
    const ask = await server.run(["ai", "ask", "--session", "live", "Which CIDR for dev?"]);
    assert.equal(ask.code, 0, `atmos ai ask failed: ${ask.stderr}`);
    await waitFor(
      () => updates.some((u) => u.messages.some((m) => m.role === "assistant" && m.content.endsWith("10.60.0.0/16."))),
      5000,
      "the whole reply in atmos/session/updated",
    );
    await waitFor(() => updates[updates.length - 1].replyingElsewhere === false, 5000, "replyingElsewhere back to false");

    // While the reply streamed there, the session was replying elsewhere, with the
    // partial reply stored as interrupted (shown as streaming, not as stopped).
    assert.ok(updates.every((u) => u.sessionId === session.id && u.session.id === session.id));
    const during = updates.filter((u) => u.replyingElsewhere);
    assert.ok(during.length > 0, `replyingElsewhere was never true: ${JSON.stringify(updates)}`);
    const partial = updates.find((u) =>
      u.messages.some((m) => m.role === "assistant" && m.interrupted && m.content !== "" && !m.content.endsWith("10.60.0.0/16.")),
    );
    assert.ok(partial, `no partial reply (interrupted: true) came while it streamed: ${JSON.stringify(updates)}`);

    // The chat view's merge of the updates ends where the store is.
    for (const u of updates) {
      shown = u.reload ? await server.api.transcript({ id: session.id }) : applyUpdate(shown, u.messages);
      if (u === partial) {
        const streaming = replyStreamingElsewhere(shown, u.replyingElsewhere);
        assert.equal(streaming, shown[shown.length - 1].id, "the partial reply shows as streaming elsewhere");
      }
    }
    const stored = await server.api.transcript({ id: session.id });
    assert.deepEqual(view(shown), view(stored));
    assert.deepEqual(
      stored.slice(-2).map((m) => [m.role, m.content, m.interrupted]),
      [
        ["user", "Which CIDR for dev?", false],
        ["assistant", "From the terminal: dev uses 10.60.0.0/16.", false],
      ],
    );
    assert.equal(replyStreamingElsewhere(shown, false), undefined);
    // The session list hears of it too (atmos/sessions/changed for another process's turn).
    assert.ok(
      changes.slice(changesBefore).some((c) => c.reason === "chat" && c.sessionId === session.id),
      `no atmos/sessions/changed (chat) for the other process's turn: ${JSON.stringify(changes.slice(changesBefore))}`,
    );
    await follower.unfollow();
  });

  it("sends what is newer than `after` at once, and nothing more after unsubscribing", async () => {
    const { session: a } = await server.api.createSession({ name: "catch-up" });
    await server.api.chat({ id: a.id, message: "one" });
    await server.api.chat({ id: a.id, message: "two" });
    const all = await server.api.messages({ id: a.id });
    assert.equal(all.messages.length, 4);
    const { session: b } = await server.api.createSession({ name: "other" });

    updates.length = 0;
    const follower = new Follower();
    await follower.follow(server.api, a.id, all.messages[1].id);
    await waitFor(() => updates.some((u) => u.sessionId === a.id), 3000, "the messages newer than `after`");
    const caught = updates.filter((u) => u.sessionId === a.id).flatMap((u) => u.messages);
    assert.deepEqual(
      caught.map((m) => m.id),
      all.messages.slice(2).map((m) => m.id),
    );

    // Switching to b unsubscribes a: a turn made in a elsewhere is not reported any more.
    await follower.follow(server.api, b.id);
    await sleep(100); // the unsubscribe goes out without being awaited
    updates.length = 0;
    const changesBefore = changes.length;
    const askA = await server.run(["ai", "ask", "--session", "catch-up", "three"]);
    assert.equal(askA.code, 0, askA.stderr);
    await waitFor(
      () => changes.slice(changesBefore).some((c) => c.reason === "chat" && c.sessionId === a.id),
      5000,
      "atmos/sessions/changed for the turn in catch-up",
    );
    await sleep(400); // several polls of the server
    assert.deepEqual(
      updates.filter((u) => u.sessionId === a.id),
      [],
      "no atmos/session/updated for a session not followed any more",
    );
    const askB = await server.run(["ai", "ask", "--session", "other", "four"]);
    assert.equal(askB.code, 0, askB.stderr);
    await waitFor(
      () => updates.some((u) => u.sessionId === b.id && u.messages.some((m) => m.content === "echo: four")),
      5000,
      "the turn in the followed session",
    );
    assert.deepEqual(await server.api.unsubscribe({ id: b.id }), { unsubscribed: true });
  });

  it("asks to reload when another process rewrites the history (a pin)", async () => {
    const { session } = await server.api.createSession({ name: "rewritten" });
    await server.api.chat({ id: session.id, message: "keep this" });
    const shown = await server.api.transcript({ id: session.id });
    updates.length = 0;
    const sub = await server.api.subscribe({ id: session.id, after: newestMessageId(shown) });
    assert.equal(sub.replyingElsewhere, false);
    const pin = await server.run(["ai", "sessions", "pin", "rewritten", shown[0].id]);
    assert.equal(pin.code, 0, pin.stderr);
    await waitFor(() => updates.some((u) => u.sessionId === session.id && u.reload), 5000, "an update with reload: true");
    const again = await server.api.transcript({ id: session.id });
    assert.equal(again[0].pinned, true);
    await server.api.unsubscribe({ id: session.id });
  });
});

describe("fork, pin, uncompact, titles", () => {
  let fake: FakeProvider;
  let server: Server;

  before(async () => {
    fake = await FakeProvider.start();
    server = await Server.start(fake, {
      sessionsYaml: "    auto_compact:\n      preserve_recent: 2\n      use_ai_summary: false",
    });
  });

  after(async () => {
    await server?.stop();
    await fake?.stop();
  });

  it("titles a session after the first line of its first question; update sets and clears it", async () => {
    const { session } = await server.api.createSession({ name: "titled" });
    assert.equal(session.title, undefined, "no title before the first exchange");
    await server.api.chat({ id: session.id, message: "How should I lay out the production VPC?\nWith three zones." });
    const { session: after1 } = await server.api.resumeSession({ id: session.id, limit: 1 });
    assert.equal(after1.title, "How should I lay out the production VPC?");
    const listed = (await server.api.listSessions()).sessions.find((s) => s.id === session.id);
    assert.equal(listed?.title, after1.title, "listings carry the title");

    const set = await server.api.updateSession({ id: session.id, title: "Prod VPC layout" });
    assert.equal(set.title, "Prod VPC layout");
    assert.equal(set.name, "titled", "the title never replaces the name");
    const cleared = await server.api.updateSession({ id: session.id, title: "" });
    assert.equal(cleared.title, undefined);
  });

  it("forks at a message: the fork has the history up to it and says where it came from", async () => {
    const { session } = await server.api.createSession({ name: "origin" });
    await server.api.chat({ id: session.id, message: "first" });
    await server.api.chat({ id: session.id, message: "second" });
    const original = await server.api.transcript({ id: session.id });
    const at = original[1]; // the first reply
    const { session: fork } = await server.api.forkSession({ id: session.id, at: at.id });
    assert.equal(fork.name, "origin-fork");
    assert.deepEqual(fork.forkedFrom, { name: "origin", at: at.id });
    const forked = await server.api.transcript({ id: fork.id });
    assert.deepEqual(
      forked.map((m) => [m.role, m.content]),
      [
        ["user", "first"],
        ["assistant", "echo: first"],
      ],
    );
    const named = await server.api.forkSession({ name: "origin", newName: "origin-b" });
    assert.equal(named.session.name, "origin-b");
    assert.equal((await server.api.transcript({ id: named.session.id })).length, 4, "default: at the newest message");
    const listed = (await server.api.listSessions()).sessions.find((s) => s.id === fork.id);
    assert.equal(listed?.forkedFrom?.name, "origin", "listings carry forkedFrom");
  });

  it("pins and unpins a message; refuses an unknown message and a summary (-32602)", async () => {
    const { session } = await server.api.createSession({ name: "pins" });
    await server.api.chat({ id: session.id, message: "the decision: 10.40.0.0/16" });
    const [question] = await server.api.transcript({ id: session.id });
    const pinned = await server.api.pinMessage({ id: session.id, messageId: question.id });
    assert.equal(pinned.message.id, question.id);
    assert.equal(pinned.message.pinned, true);
    assert.equal(pinned.session.id, session.id);
    assert.equal((await server.api.transcript({ id: session.id }))[0].pinned, true);
    const unpinned = await server.api.pinMessage({ id: session.id, messageId: question.id, pinned: false });
    assert.notEqual(unpinned.message.pinned, true);
    assert.equal((await server.api.transcript({ id: session.id }))[0].pinned, undefined, "present only when pinned");

    const unknown = await rpcError(server.api.pinMessage({ id: session.id, messageId: "999999" }));
    assert.equal(unknown.code, ErrorCodes.InvalidParams);
    assert.equal((unknown.data as { field?: string }).field, "messageId");
  });

  it("keeps a pinned message out of a compaction; the view leaves it live; uncompact restores the rest", async () => {
    const { session } = await server.api.createSession({ name: "compacted" });
    const long = (q: string) => `${q}: ${"the staging VPC peers with shared services and must not overlap. ".repeat(6)}`;
    for (const q of ["one", "two", "three"]) {
      await server.api.chat({ id: session.id, message: long(q) });
    }
    const before = await server.api.transcript({ id: session.id });
    const keep = before[1]; // the first reply
    await server.api.pinMessage({ id: session.id, messageId: keep.id });

    const compaction = await server.api.compactSession({ id: session.id });
    assert.equal(compaction.compacted, true);
    assert.ok(!compaction.archivedIds.includes(keep.id), "a pinned message is never compacted");
    const summaryId = compaction.summary!.id;
    const pin = await rpcError(server.api.pinMessage({ id: session.id, messageId: summaryId }));
    assert.equal(pin.code, ErrorCodes.InvalidParams, "a summary cannot be pinned");

    const compacted = await server.api.transcript({ id: session.id });
    const top = groupTranscript(compacted);
    const live = top.filter((e) => e.kind === "message").map((e) => (e.kind === "message" ? e.message.id : ""));
    assert.ok(live.includes(keep.id), "the pinned message shows live, outside the summary");
    const block = top.find((e) => e.kind === "summary");
    assert.ok(block && block.kind === "summary" && !isUndoneSummary(block));
    assert.deepEqual(
      block.children.map((c) => (c.kind === "message" ? c.message.id : c.summary.id)),
      compaction.archivedIds,
    );

    const undone = await server.api.uncompactSession({ id: session.id });
    assert.deepEqual(undone.restored, compaction.archivedIds);
    assert.equal(undone.session.id, session.id);
    const restored = await server.api.transcript({ id: session.id });
    assert.ok(restored.filter((m) => !m.isSummary).every((m) => !m.archived), "every message is active again");
    const again = groupTranscript(restored);
    const summary = again.find((e) => e.kind === "summary");
    assert.ok(summary && isUndoneSummary(summary), "the summary is kept, archived: an undone compaction");
    assert.equal(again.filter((e) => e.kind === "message").length, 6, "the six messages are at the top level again");

    const nothing = await rpcError(server.api.uncompactSession({ id: session.id }));
    assert.equal(nothing.code, ErrorCodes.InvalidParams, "no live summary left to undo");
  });
});

describe("cost, masked secrets and the backup", () => {
  let fake: FakeProvider;
  let server: Server;

  before(async () => {
    fake = await FakeProvider.start();
    server = await Server.start(fake, {
      providerYaml: "      pricing:\n        input: 3\n        output: 15",
      sessionsYaml: "    redact: true",
    });
  });

  after(async () => {
    await server?.stop();
    await fake?.stop();
  });

  it("prices a session's tokens with its provider's pricing", async () => {
    const { providers } = await server.api.providers();
    const pricing = pricingOf(providers, "anthropic");
    assert.deepEqual(pricing, { input: 3, output: 15 });
    const { session } = await server.api.createSession({ name: "priced" });
    await server.api.chat({ id: session.id, message: "How much is this?" });
    const { session: s } = await server.api.resumeSession({ id: session.id, limit: 1 });
    assert.ok((s.inputTokens ?? 0) > 0 && (s.outputTokens ?? 0) > 0, JSON.stringify(s));
    const usage = sessionUsage(s, pricing);
    assert.equal(usage.cost, (s.inputTokens! * 3 + s.outputTokens! * 15) / 1_000_000);
  });

  it("says how many secrets were masked before the message was stored and sent", async () => {
    const { session } = await server.api.createSession({ name: "secrets" });
    const result = await server.api.chat({
      id: session.id,
      message: "Why does this fail?\npassword: hunter2-very-secret",
    });
    assert.ok((result.redacted ?? 0) >= 1, `redacted: ${result.redacted}`);
    assert.match(redactionNotice(result.redacted) ?? "", /^Masked \d+ secrets? before sending$/);
    const [stored] = (await server.api.messages({ id: session.id })).messages;
    assert.ok(!stored.content.includes("hunter2"), stored.content);
    const requests = await fake.requests();
    assert.ok(!JSON.stringify(requests).includes("hunter2"), "the provider never saw it");
    const clean = await server.api.chat({ id: session.id, message: "no secret here" });
    assert.equal(redactionNotice(clean.redacted), undefined);
  });

  it("backs up the sessions database: by default beside it (sessions.db.backup), or where asked", async () => {
    const result = await server.api.backup();
    assert.ok(result.path.endsWith(path.join(".atmos", "sessions", "sessions.db.backup")), result.path);
    const file = path.isAbsolute(result.path) ? result.path : path.join(server.dir, result.path);
    assert.equal(fs.statSync(file).size, result.bytes);
    assert.ok(result.bytes > 0);
    const chosen = path.join(server.dir, "copy.db");
    const there = await server.api.backup({ path: chosen });
    assert.equal(fs.statSync(chosen).size, there.bytes);
  });
});

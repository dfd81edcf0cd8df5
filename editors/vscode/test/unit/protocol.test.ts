/**
 * The protocol layer (`src/protocol.ts`, `src/api.ts`) against the real
 * `atmos ai serve` and the fake provider, over stdio with vscode-jsonrpc.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CancellationTokenSource, ResponseError } from "vscode-jsonrpc";
import {
  ChatDelta,
  ErrorCodes,
  METHODS,
  NOTIFICATIONS,
  PROTOCOL_VERSION,
  SessionsChanged,
  type ChatDeltaParams,
  type SessionsChangedParams,
} from "../../src/protocol";
import { groupTranscript, type Entry } from "../../src/transcript";
import { FakeProvider, Server, waitFor } from "./harness";

/** The JSON-RPC error a promise rejects with. */
async function rpcError(p: Promise<unknown>): Promise<ResponseError<unknown>> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ResponseError, `expected a ResponseError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected the request to fail");
}

describe("atmos ai serve over vscode-jsonrpc", () => {
  let fake: FakeProvider;
  let server: Server;
  const deltas: ChatDeltaParams[] = [];
  const changes: SessionsChangedParams[] = [];
  /** Called on each delta (vscode-jsonrpc keeps one handler per notification). */
  let onDelta: ((d: ChatDeltaParams) => void) | undefined;

  before(async () => {
    fake = await FakeProvider.start();
    server = await Server.start(fake);
    server.connection.onNotification(ChatDelta, (p) => {
      deltas.push(p);
      onDelta?.(p);
    });
    server.connection.onNotification(SessionsChanged, (p) => changes.push(p));
  });

  after(async () => {
    await server?.stop();
    await fake?.stop();
  });

  it("initialize lists every method and notification of protocol.ts", () => {
    const caps = server.capabilities!;
    assert.equal(caps.protocolVersion, PROTOCOL_VERSION);
    assert.deepEqual([...caps.methods].sort(), [...METHODS].sort());
    assert.deepEqual([...caps.notifications].sort(), [...NOTIFICATIONS].sort());
    assert.deepEqual(
      [...NOTIFICATIONS].sort(),
      ["atmos/chat/delta", "atmos/compact/status", "atmos/session/updated", "atmos/sessions/changed"],
    );
  });

  it("creates a session, announcing it", async () => {
    const { session, evicted } = await server.api.createSession({ name: "vpc-design", metadata: { ticket: "INFRA-42" } });
    assert.equal(session.name, "vpc-design");
    assert.equal(session.provider, "anthropic");
    assert.equal(session.messageCount, 0);
    assert.deepEqual(session.metadata, { ticket: "INFRA-42" });
    assert.deepEqual(evicted, []);
    assert.ok(changes.some((c) => c.reason === "created" && c.name === "vpc-design" && c.sessionId === session.id));
  });

  it("names a session created without a name after the time", async () => {
    const { session } = await server.api.createSession({});
    assert.match(session.name, /^chat-\d{8}-\d{6}$/);
    await server.api.deleteSession({ id: session.id });
  });

  it("chats with streamed deltas that add up to the reply, and sends the history on the next turn", async () => {
    const first = await server.api.chat({ name: "vpc-design", message: "Which CIDR for prod?", token: "t-1" });
    const mine = deltas.filter((d) => d.token === "t-1");
    assert.ok(mine.length >= 2, `expected several deltas, got ${mine.length}`);
    assert.deepEqual(
      mine.map((d) => d.index),
      mine.map((_, i) => i),
    );
    assert.equal(mine.map((d) => d.text).join(""), first.reply.content);
    assert.equal(first.reply.content, "echo: Which CIDR for prod?");
    assert.equal(first.reply.role, "assistant");
    assert.equal(first.reply.interrupted, false);
    assert.ok(mine.every((d) => d.sessionId === first.sessionId));
    assert.equal(typeof first.usage.inputTokens, "number");

    await fake.reset();
    const second = await server.api.chat({
      name: "vpc-design",
      message: "And staging?",
      token: 2,
      context: [
        {
          kind: "selection",
          uri: "file:///infra/stacks/staging.yaml",
          range: { start: { line: 1, character: 0 }, end: { line: 3, character: 0 } },
          text: "cidr: 10.50.0.0/16",
        },
      ],
    });
    // The fake echoes what the model got: the selection, then the question.
    assert.ok(second.reply.content.startsWith("echo: "), second.reply.content);
    assert.ok(second.reply.content.endsWith("And staging?"), second.reply.content);
    assert.match(second.reply.content, /cidr: 10\.50\.0\.0\/16/);
    assert.ok(deltas.some((d) => d.token === 2), "a numeric token is echoed as a number");
    const requests = await fake.requests();
    const last = requests[requests.length - 1];
    const history = (last.body.messages ?? []).filter((m) => m.role !== "system");
    assert.equal(history.length, 3, `the model got the history: ${JSON.stringify(last.body.messages)}`);
    assert.match(JSON.stringify(history[2].content), /cidr: 10\.50\.0\.0\/16/, "the selection went with the turn");

    const { messages, hasMore } = await server.api.messages({ name: "vpc-design", includeSummaries: true });
    assert.equal(hasMore, false);
    assert.deepEqual(
      messages.map((m) => [m.role, m.content]),
      [
        ["user", "Which CIDR for prod?"],
        ["assistant", "echo: Which CIDR for prod?"],
        ["user", "And staging?"],
        ["assistant", second.reply.content],
      ],
    );
  });

  it("pages the transcript from the newest end, and api.transcript joins the pages", async () => {
    const page = await server.api.messages({ name: "vpc-design", limit: 3 });
    assert.equal(page.hasMore, true);
    assert.equal(page.messages.length, 3);
    const older = await server.api.messages({ name: "vpc-design", limit: 3, before: page.messages[0].id });
    assert.equal(older.hasMore, false);
    assert.equal(older.messages.length, 1);
    const all = await server.api.transcript({ name: "vpc-design" }, 1);
    assert.deepEqual(
      all.map((m) => m.id),
      [...older.messages, ...page.messages].map((m) => m.id),
    );
  });

  it("cancels a reply: -32800, and the partial reply is stored as interrupted", async () => {
    const { session } = await server.api.createSession({ name: "stop-me" });
    await fake.reply(["Staging uses ", "10.50", ".0.0/16", " as decided."], 400);
    const cts = new CancellationTokenSource();
    const seen = changes.length;
    onDelta = (d) => {
      if (d.token === "slow") {
        cts.cancel();
      }
    };
    try {
      const err = await rpcError(server.api.chat({ id: session.id, message: "And staging?", token: "slow" }, cts.token));
      assert.equal(err.code, ErrorCodes.RequestCancelled);
    } finally {
      onDelta = undefined;
    }
    await waitFor(
      () => changes.slice(seen).some((c) => c.reason === "chat" && c.sessionId === session.id),
      5000,
      "atmos/sessions/changed (chat) after the cancelled turn",
    );
    const { messages } = await server.api.messages({ id: session.id });
    assert.equal(messages.length, 2);
    assert.deepEqual([messages[0].role, messages[0].content], ["user", "And staging?"]);
    assert.equal(messages[1].role, "assistant");
    assert.equal(messages[1].interrupted, true);
    assert.ok(messages[1].content.startsWith("Staging uses "), messages[1].content);
    assert.notEqual(messages[1].content, "Staging uses 10.50.0.0/16 as decided.");

    // The session is free again.
    const next = await server.api.chat({ id: session.id, message: "again" });
    assert.equal(next.reply.content, "echo: again");
  });

  it("lists sessions newest first, with counts", async () => {
    const { sessions, total } = await server.api.listSessions();
    assert.equal(total, sessions.length);
    const names = sessions.map((s) => s.name);
    assert.deepEqual(names.slice(0, 2), ["stop-me", "vpc-design"]);
    const vpc = sessions.find((s) => s.name === "vpc-design")!;
    assert.equal(vpc.messageCount, 4);
    for (let i = 1; i < sessions.length; i++) {
      assert.ok(sessions[i - 1].updatedAt >= sessions[i].updatedAt, "newest first");
    }
  });

  it("searches names and message text, with a snippet", async () => {
    const { sessions } = await server.api.listSessions({ query: "STAGING" });
    const hit = sessions.find((s) => s.name === "vpc-design");
    assert.ok(hit, `vpc-design matches: ${JSON.stringify(sessions)}`);
    assert.match(hit.snippet ?? "", /staging/i);
    const byName = await server.api.listSessions({ query: "stop-m" });
    assert.deepEqual(
      byName.sessions.map((s) => s.name),
      ["stop-me"],
    );
    const none = await server.api.listSessions({ query: "no-such-words-anywhere" });
    assert.deepEqual(none.sessions, []);
  });

  it("renames, refusing a taken name (1002) and an invalid one (1003)", async () => {
    const renamed = await server.api.renameSession({ name: "stop-me", newName: "staging-cidr" });
    assert.equal(renamed.name, "staging-cidr");
    assert.ok(changes.some((c) => c.reason === "renamed" && c.name === "staging-cidr"));
    const taken = await rpcError(server.api.renameSession({ name: "staging-cidr", newName: "vpc-design" }));
    assert.equal(taken.code, ErrorCodes.SessionExists);
    assert.deepEqual(taken.data, { kind: "sessionExists", name: "vpc-design" });
    const invalid = await rpcError(server.api.renameSession({ name: "staging-cidr", newName: " padded" }));
    assert.equal(invalid.code, ErrorCodes.InvalidName);
  });

  it("updates the model and skill of a session", async () => {
    const skills = await server.api.skills();
    assert.ok(skills.skills.some((s) => s.name === skills.default));
    const providers = await server.api.providers();
    assert.equal(providers.default, "anthropic");
    assert.equal(providers.providers.find((p) => p.name === "anthropic")?.configured, true);
    const openai = providers.providers.find((p) => p.name === "openai");
    assert.equal(openai?.configured, false);
    assert.ok(openai?.reason);
    const s = await server.api.updateSession({ name: "vpc-design", model: "claude-opus", skill: skills.default });
    assert.equal(s.model, "claude-opus");
    assert.equal(s.skill, skills.default);
  });

  it("exports a session as json, yaml and markdown", async () => {
    const md = await server.api.exportSession({ name: "vpc-design", format: "markdown" });
    assert.match(md.content, /# Session: vpc-design/);
    const json = JSON.parse((await server.api.exportSession({ name: "vpc-design", format: "json" })).content) as {
      messages: unknown[];
    };
    assert.equal(json.messages.length, 4);
    const yaml = await server.api.exportSession({ name: "vpc-design", format: "yaml" });
    assert.match(yaml.content, /vpc-design/);
  });

  it("deletes a session; then it is not found (1001)", async () => {
    assert.deepEqual(await server.api.deleteSession({ name: "staging-cidr" }), { deleted: true });
    assert.ok(changes.some((c) => c.reason === "deleted" && c.name === "staging-cidr"));
    const gone = await rpcError(server.api.resumeSession({ name: "staging-cidr" }));
    assert.equal(gone.code, ErrorCodes.SessionNotFound);
    assert.deepEqual(gone.data, { kind: "sessionNotFound", name: "staging-cidr" });
    assert.match(gone.message, /not found/);
    const { sessions } = await server.api.listSessions();
    assert.ok(!sessions.some((s) => s.name === "staging-cidr"));
  });

  it("answers 1002 for a taken name, -32602 for name and id both", async () => {
    const exists = await rpcError(server.api.createSession({ name: "vpc-design" }));
    assert.equal(exists.code, ErrorCodes.SessionExists);
    const both = await rpcError(server.api.deleteSession({ name: "vpc-design", id: "x" } as never));
    assert.equal(both.code, ErrorCodes.InvalidParams);
    assert.deepEqual(both.data, { field: "name" });
  });

  it("answers 1009 while the session's turn runs", async () => {
    const { session } = await server.api.createSession({ name: "busy" });
    await fake.reply(["slow ", "reply"], 500);
    const cts = new CancellationTokenSource();
    const first = server.api.chat({ id: session.id, message: "one", token: "busy-1" }, cts.token);
    await waitFor(() => deltas.some((d) => d.token === "busy-1"), 5000, "the first delta");
    const busy = await rpcError(server.api.chat({ id: session.id, message: "two" }));
    assert.equal(busy.code, ErrorCodes.Busy);
    assert.equal((busy.data as { sessionId?: string }).sessionId, session.id);
    cts.cancel();
    assert.equal((await rpcError(first)).code, ErrorCodes.RequestCancelled);
  });

  it("answers 1006 for a provider without its key, storing nothing", async () => {
    const { session } = await server.api.createSession({ name: "no-key", provider: "openai" });
    const err = await rpcError(server.api.chat({ id: session.id, message: "hello" }));
    assert.equal(err.code, ErrorCodes.ProviderNotConfigured);
    assert.equal((err.data as { provider?: string }).provider, "openai");
    const { messages } = await server.api.messages({ id: session.id });
    assert.deepEqual(messages, []);
  });

  it("cleans old sessions: a dry run first, 1008 for a bad duration", async () => {
    const dry = await server.api.cleanSessions({ olderThan: "0d", dryRun: true });
    assert.ok(dry.count >= 2);
    assert.ok(dry.deleted.includes("vpc-design"));
    assert.ok((await server.api.listSessions()).sessions.some((s) => s.name === "vpc-design"), "a dry run deletes nothing");
    const bad = await rpcError(server.api.cleanSessions({ olderThan: "1y" }));
    assert.equal(bad.code, ErrorCodes.InvalidDuration);
    const none = await server.api.cleanSessions({ olderThan: "52w" });
    assert.equal(none.count, 0);
  });

  it("reports its status", async () => {
    const status = await server.api.status();
    assert.equal(status.sessionsEnabled, true);
    assert.ok(status.configPath?.endsWith("atmos.yaml"));
  });
});

describe("compaction, and the transcript the chat view shows", () => {
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

  it("archives what a summary replaces and groups it under the summary", async () => {
    const { session } = await server.api.createSession({ name: "long" });
    // Long enough that a summary of them is shorter (a few words are not
    // compacted: no summary would save anything).
    const long = (q: string) => `${q}: ${"the staging VPC peers with shared services and must not overlap. ".repeat(6)}`;
    for (const q of ["one", "two", "three"]) {
      await server.api.chat({ id: session.id, message: long(q) });
    }
    const result = await server.api.compactSession({ id: session.id });
    assert.equal(result.compacted, true);
    assert.equal(result.usedAi, false);
    const archived = result.archivedIds;
    assert.ok(archived.length >= 2 && archived.length <= 4, `archived ${archived.length}`);
    assert.ok(result.summary?.isSummary);
    assert.deepEqual(result.summary.summaryRange, { from: archived[0], to: archived[archived.length - 1] });

    const all = await server.api.transcript({ id: session.id }, 2);
    assert.equal(all.length, 7, "six messages and the summary");
    assert.deepEqual(
      all.filter((m) => m.archived).map((m) => m.id),
      archived,
    );
    const entries = groupTranscript(all);
    assert.equal(entries.length, 1 + 6 - archived.length);
    const [summary, ...rest] = entries;
    assert.equal(summary.kind, "summary");
    if (summary.kind === "summary") {
      assert.equal(summary.summary.id, result.summary.id);
      assert.deepEqual(
        summary.children.map((c) => (c.kind === "message" ? c.message.id : "?")),
        archived,
      );
      assert.equal(summary.children[0].kind === "message" && summary.children[0].message.content, long("one"));
    }
    assert.ok(rest.every((e) => e.kind === "message" && !e.message.archived));
    assert.deepEqual(
      rest.slice(-2).map((e) => (e.kind === "message" ? e.message.content : "?")),
      [long("three"), `echo: ${long("three")}`],
    );

    // Compacting again until nothing is left: however summaries nest, every
    // archived message is inside one, and the top level is what is live.
    let rounds = 0;
    while ((await server.api.compactSession({ id: session.id })).compacted) {
      assert.ok(++rounds < 10, "compaction ends");
    }
    const again = await server.api.transcript({ id: session.id });
    const top = groupTranscript(again);
    const live = (e: Entry) => (e.kind === "message" ? !e.message.archived : !e.summary.archived);
    assert.ok(top.every(live), "only live entries at the top level");
    const inside = (e: Entry): number =>
      e.kind === "message" ? 1 : 1 + e.children.reduce((n, c) => n + inside(c), 0);
    assert.equal(
      top.reduce((n, e) => n + inside(e), 0),
      again.length,
      "every message is shown exactly once",
    );
  });
});

describe("sessions disabled", () => {
  let fake: FakeProvider;
  let server: Server;

  before(async () => {
    fake = await FakeProvider.start();
    server = await Server.start(fake, { sessionsEnabled: false });
  });

  after(async () => {
    await server?.stop();
    await fake?.stop();
  });

  it("answers 1004 to session methods", async () => {
    const err = await rpcError(server.api.listSessions());
    assert.equal(err.code, ErrorCodes.SessionsDisabled);
    assert.equal((err.data as { kind?: string }).kind, "sessionsDisabled");
    const status = await server.api.status();
    assert.equal(status.sessionsEnabled, false);
  });
});

/**
 * The live-update logic of the chat (`src/live.ts`), without a server: merging
 * `atmos/session/updated` into the transcript, the id to subscribe after, the
 * reply streaming elsewhere, and the one subscription a view keeps.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyUpdate, Follower, newestMessageId, replyStreamingElsewhere, type Subscriptions } from "../../src/live";
import type { Message, SubscribeParams, UnsubscribeParams } from "../../src/protocol";

function msg(id: number, role: Message["role"], content: string, extra: Partial<Message> = {}): Message {
  return {
    id: String(id),
    role,
    content,
    createdAt: "2026-11-24T09:30:00Z",
    archived: false,
    isSummary: false,
    interrupted: false,
    ...extra,
  };
}

const pick = (ms: Message[]) => ms.map((m) => [m.id, m.content, m.interrupted]);

describe("applyUpdate", () => {
  it("appends new messages in the order they came", () => {
    const shown = [msg(1, "user", "q1"), msg(2, "assistant", "a1")];
    const out = applyUpdate(shown, [msg(3, "user", "q2"), msg(4, "assistant", "a2")]);
    assert.deepEqual(pick(out), [
      ["1", "q1", false],
      ["2", "a1", false],
      ["3", "q2", false],
      ["4", "a2", false],
    ]);
    assert.equal(shown.length, 2, "the shown transcript is not changed in place");
  });

  it("replaces a message by id: a reply streaming elsewhere grows, then completes", () => {
    let shown = [msg(1, "user", "q1")];
    shown = applyUpdate(shown, [msg(2, "assistant", "Staging", { interrupted: true })]);
    shown = applyUpdate(shown, [msg(2, "assistant", "Staging uses 10.50", { interrupted: true })]);
    shown = applyUpdate(shown, [msg(2, "assistant", "Staging uses 10.50.0.0/16.")]);
    assert.deepEqual(pick(shown), [
      ["1", "q1", false],
      ["2", "Staging uses 10.50.0.0/16.", false],
    ]);
  });

  it("replaces and appends in one update, the last version of a repeated id winning", () => {
    const shown = [msg(1, "user", "q1"), msg(2, "assistant", "part", { interrupted: true })];
    const out = applyUpdate(shown, [
      msg(2, "assistant", "partial"),
      msg(3, "user", "q2"),
      msg(2, "assistant", "partial, then whole"),
    ]);
    assert.deepEqual(pick(out), [
      ["1", "q1", false],
      ["2", "partial, then whole", false],
      ["3", "q2", false],
    ]);
  });

  it("keeps the transcript as it is for an update without messages", () => {
    const shown = [msg(1, "user", "q1")];
    assert.deepEqual(applyUpdate(shown, []), shown);
  });
});

describe("newestMessageId", () => {
  it("is the newest message shown, not a summary written after it", () => {
    const summary = msg(9, "system", "s", { isSummary: true, summaryRange: { from: "1", to: "2" } });
    assert.equal(newestMessageId([msg(1, "user", "q"), msg(2, "assistant", "a"), summary]), "2");
    assert.equal(newestMessageId([summary]), undefined);
    assert.equal(newestMessageId([]), undefined);
  });
});

describe("replyStreamingElsewhere", () => {
  const partial = msg(2, "assistant", "Staging", { interrupted: true });
  it("is the newest assistant message, stored as interrupted, while the session replies elsewhere", () => {
    assert.equal(replyStreamingElsewhere([msg(1, "user", "q"), partial], true), "2");
  });
  it("is nothing once the reply is done, or for a reply that was really stopped", () => {
    assert.equal(replyStreamingElsewhere([msg(1, "user", "q"), partial], false), undefined);
    assert.equal(replyStreamingElsewhere([msg(1, "user", "q"), msg(2, "assistant", "done")], true), undefined);
    assert.equal(replyStreamingElsewhere([msg(1, "user", "q")], true), undefined);
  });
});

/** Records the calls; each subscribe answers when `release` is called (or at once). */
class FakeSubscriptions implements Subscriptions {
  calls: string[] = [];
  held = new Map<string, () => void>();
  hold = false;
  failUnsubscribe = false;

  async subscribe(p: SubscribeParams) {
    this.calls.push(`subscribe ${p.id}${p.after ? ` after ${p.after}` : ""}`);
    if (this.hold) {
      await new Promise<void>((r) => this.held.set(p.id!, r));
    }
    return {
      session: {
        id: p.id!,
        name: p.id!,
        provider: "anthropic",
        model: "m",
        skill: "general",
        createdAt: "",
        updatedAt: "",
        messageCount: 0,
        archivedCount: 0,
        summaryCount: 0,
        metadata: {},
      },
      replyingElsewhere: p.id === "busy",
    };
  }

  async unsubscribe(p: UnsubscribeParams) {
    this.calls.push(`unsubscribe ${p.id}`);
    if (this.failUnsubscribe) {
      throw new Error("session not found");
    }
    return { unsubscribed: true };
  }
}

describe("Follower", () => {
  it("subscribes after the newest message shown, and unsubscribes the session before when switching", async () => {
    const api = new FakeSubscriptions();
    const f = new Follower();
    const a = await f.follow(api, "a", "12");
    assert.equal(a?.replyingElsewhere, false);
    const busy = await f.follow(api, "busy");
    assert.equal(busy?.replyingElsewhere, true);
    assert.equal(f.sessionId, "busy");
    await f.unfollow();
    assert.equal(f.sessionId, undefined);
    assert.deepEqual(api.calls, ["subscribe a after 12", "unsubscribe a", "subscribe busy", "unsubscribe busy"]);
  });

  it("does not subscribe twice to the session it follows, unless asked to (a restarted server)", async () => {
    const api = new FakeSubscriptions();
    const f = new Follower();
    await f.follow(api, "a");
    assert.equal(await f.follow(api, "a"), undefined);
    assert.ok(await f.follow(api, "a", undefined, true));
    assert.deepEqual(api.calls, ["subscribe a", "subscribe a"]);
  });

  it("tells the same session on two servers apart", async () => {
    const one = new FakeSubscriptions();
    const two = new FakeSubscriptions();
    const f = new Follower();
    await f.follow(one, "a");
    await f.follow(two, "a");
    assert.ok(f.isFollowing(two, "a") && !f.isFollowing(one, "a"));
    assert.deepEqual(one.calls, ["subscribe a", "unsubscribe a"]);
  });

  it("lets the last call win when subscriptions overlap", async () => {
    const api = new FakeSubscriptions();
    api.hold = true;
    const f = new Follower();
    const first = f.follow(api, "a");
    const second = f.follow(api, "b");
    api.held.get("b")!();
    api.held.get("a")!();
    assert.equal(await first, undefined, "the older subscription's answer is dropped");
    assert.equal((await second)?.session.id, "b");
    assert.equal(f.sessionId, "b");
  });

  it("shrugs off an unsubscribe that fails (the session was deleted), and forgets a dead server's subscription", async () => {
    const api = new FakeSubscriptions();
    api.failUnsubscribe = true;
    const lines: string[] = [];
    const f = new Follower((l) => lines.push(l));
    await f.follow(api, "a");
    await f.unfollow();
    assert.match(lines.join("\n"), /session not found/);
    await f.follow(api, "b");
    f.forget();
    assert.equal(f.sessionId, undefined);
    assert.deepEqual(api.calls, ["subscribe a", "unsubscribe a", "subscribe b"]);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Message } from "../../src/protocol";
import { estimateTokens, formatTokens, groupTranscript, isUndoneSummary, type Entry } from "../../src/transcript";

function msg(id: number, role: "user" | "assistant", content: string, archived = false): Message {
  return {
    id: String(id),
    role,
    content,
    createdAt: `2026-11-01T10:00:${String(id).padStart(2, "0")}Z`,
    archived,
    isSummary: false,
    interrupted: false,
  };
}

function summary(id: number, from: number, to: number, content: string, archived = false): Message {
  return {
    ...msg(id, "user", content, archived),
    role: "system",
    isSummary: true,
    summaryRange: { from: String(from), to: String(to) },
  };
}

/** A compact picture of the entries: ids, summaries as [id, children]. */
function shape(entries: Entry[]): unknown[] {
  return entries.map((e) => (e.kind === "message" ? e.message.id : [e.summary.id, shape(e.children)]));
}

describe("groupTranscript", () => {
  it("keeps a transcript without summaries as it is", () => {
    const ms = [msg(1, "user", "a"), msg(2, "assistant", "b")];
    assert.deepEqual(shape(groupTranscript(ms)), ["1", "2"]);
  });

  it("puts the archived messages under the summary that replaced them, where they were", () => {
    const ms = [
      msg(1, "user", "q1", true),
      msg(2, "assistant", "a1", true),
      summary(3, 1, 2, "Decided: prod VPC 10.40.0.0/16."),
      msg(4, "user", "q2"),
      msg(5, "assistant", "a2"),
    ];
    assert.deepEqual(shape(groupTranscript(ms)), [["3", ["1", "2"]], "4", "5"]);
  });

  it("nests an earlier summary inside a later one that replaced it", () => {
    const ms = [
      msg(1, "user", "q1", true),
      msg(2, "assistant", "a1", true),
      summary(3, 1, 2, "first", true),
      msg(4, "user", "q2", true),
      msg(5, "assistant", "a2", true),
      summary(6, 3, 5, "second"),
      msg(7, "user", "q3"),
    ];
    assert.deepEqual(shape(groupTranscript(ms)), [["6", [["3", ["1", "2"]], "4", "5"]], "7"]);
  });

  it("shows a summary whose messages are not loaded on its own", () => {
    const ms = [summary(3, 1, 2, "older"), msg(4, "user", "q")];
    assert.deepEqual(shape(groupTranscript(ms)), [["3", []], "4"]);
  });

  it("leaves a pinned message in the range at the top level, after the summary (it was not compacted)", () => {
    const pinned = { ...msg(2, "assistant", "a1"), pinned: true };
    const ms = [msg(1, "user", "q1", true), pinned, msg(3, "user", "q2", true), summary(4, 1, 3, "s"), msg(5, "user", "q3")];
    assert.deepEqual(shape(groupTranscript(ms)), [["4", ["1", "3"]], "2", "5"]);
  });

  it("shows an undone compaction as an archived summary holding nothing, its messages live again", () => {
    const ms = [msg(1, "user", "q1"), msg(2, "assistant", "a1"), summary(3, 1, 2, "s", true), msg(4, "user", "q2")];
    const entries = groupTranscript(ms);
    assert.deepEqual(shape(entries), [["3", []], "1", "2", "4"]);
    assert.equal(isUndoneSummary(entries[0]), true);
    assert.equal(isUndoneSummary(entries[1]), false);
  });

  it("keeps an earlier summary folded in a later one whose compaction was undone", () => {
    const ms = [
      msg(1, "user", "q1"),
      msg(2, "assistant", "a1"),
      summary(3, 1, 2, "first", true),
      msg(4, "user", "q2"),
      summary(5, 3, 4, "second", true),
    ];
    // Uncompacting the second summary restores every message, the first summary stays archived.
    assert.deepEqual(shape(groupTranscript(ms)), [["5", [["3", []]]], "1", "2", "4"]);
  });

  it("takes the rest when the end of the range is missing", () => {
    const ms = [msg(1, "user", "q1", true), msg(2, "assistant", "a1", true), summary(9, 1, 8, "s")];
    assert.deepEqual(shape(groupTranscript(ms)), [["9", ["1", "2"]]]);
  });
});

describe("token estimate", () => {
  it("counts the summaries and the messages not archived, at ~4 characters a token", () => {
    const ms = [
      msg(1, "user", "x".repeat(400), true),
      summary(2, 1, 1, "y".repeat(40)),
      msg(3, "user", "z".repeat(81)),
    ];
    assert.equal(estimateTokens(ms), 10 + 21);
  });

  it("formats large numbers shortly", () => {
    assert.equal(formatTokens(999), "999");
    assert.equal(formatTokens(1234), "1.2k");
    assert.equal(formatTokens(45678), "46k");
  });
});

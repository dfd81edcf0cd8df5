/**
 * The transcript as the chat view shows it: pure logic, no VS Code import.
 *
 * The server keeps every message. A compaction stores a summary and archives
 * the messages it replaces (`summaryRange.from`..`to`, possibly earlier
 * summaries too); the view shows the summary as a collapsible block holding
 * what it replaced, where those messages were. Undoing a compaction makes those
 * messages live again and archives the summary: they show at the top level again.
 */
import type { Message } from "./protocol";

export type Entry =
  | { kind: "message"; message: Message }
  | { kind: "summary"; summary: Message; children: Entry[] };

function isArchived(entry: Entry): boolean {
  return entry.kind === "message" ? entry.message.archived : entry.summary.archived;
}

/**
 * A summary whose compaction was undone (`atmos/session/uncompact`): archived itself, yet
 * at the top level of the grouped transcript (not folded into a later summary).
 */
export function isUndoneSummary(entry: Entry): boolean {
  return entry.kind === "summary" && entry.summary.archived;
}

function covers(entry: Entry, id: string): boolean {
  if (entry.kind === "message") {
    return entry.message.id === id;
  }
  return entry.summary.id === id || entry.children.some((c) => covers(c, id));
}

/**
 * Groups a transcript (oldest first, as `atmos/session/messages` pages it
 * with `includeSummaries`) into entries: each summary holds the messages of
 * its range, nested when a later summary replaced an earlier one.
 */
export function groupTranscript(messages: readonly Message[]): Entry[] {
  const out: Entry[] = [];
  for (const m of messages) {
    if (!m.isSummary) {
      out.push({ kind: "message", message: m });
      continue;
    }
    const range = m.summaryRange;
    const from = range ? out.findIndex((e) => covers(e, range.from)) : -1;
    if (!range || from < 0) {
      // What it replaced is not in the loaded transcript: show it alone.
      out.push({ kind: "summary", summary: m, children: [] });
      continue;
    }
    let to = out.length - 1;
    while (to > from && !covers(out[to], range.to)) {
      to--;
    }
    if (!covers(out[to], range.to)) {
      // The end of the range is not loaded: everything after `from` is older than the summary.
      to = out.length - 1;
    }
    // The summary takes the place of the run of messages it replaces. What in the run
    // is still live (a pinned message, never compacted; all of it once the compaction
    // was undone) stays at the top level, after the summary.
    const run = out.splice(from, to - from + 1);
    const children = run.filter(isArchived);
    const live = run.filter((e) => !isArchived(e));
    out.splice(from, 0, { kind: "summary", summary: m, children }, ...live);
  }
  return out;
}

/** Rough tokens of a text: about four characters each (what the server estimates with too). */
export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * The tokens the next turn sends, estimated: the live summaries and the
 * messages not archived, at ~4 characters a token (skill prompt excluded).
 */
export function estimateTokens(messages: readonly Message[]): number {
  return messages
    .filter((m) => !m.archived)
    .reduce((n, m) => n + estimateTextTokens(m.content), 0);
}

/** 1234 → "1.2k". */
export function formatTokens(n: number): string {
  if (n < 1000) {
    return String(n);
  }
  if (n < 10000) {
    return `${(n / 1000).toFixed(1)}k`;
  }
  return `${Math.round(n / 1000)}k`;
}

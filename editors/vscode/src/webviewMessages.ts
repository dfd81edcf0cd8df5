/**
 * The messages between the extension and the chat webview (`postMessage`).
 * The extension owns the state; the webview renders it and reports input.
 */
import type { Usage } from "./cost";
import type { ForkedFrom } from "./protocol";
import type { Entry } from "./transcript";

export interface SessionOption {
  id: string;
  name: string;
  title?: string;
}

export interface HeaderSession {
  id: string;
  name: string;
  provider: string;
  model: string;
  skill: string;
  /** Shown next to the name (never instead of it). */
  title?: string;
  /** For a fork: the session it was forked from. */
  forkedFrom?: ForkedFrom;
  /** The tokens its turns used, and their cost when the provider has a pricing. */
  usage: Usage;
}

export interface ChatHeader {
  /** The current session; absent before the first message of a new chat. */
  session?: HeaderSession;
  /** What a new chat will use (the defaults, or what the pickers chose). */
  next: { provider: string; model: string; skill: string };
  sessions: SessionOption[];
  /** The token figure and what it is. */
  /** The estimate of what the next message sends (summaries and messages not archived). */
  tokens?: { count: number };
}

export interface InlineError {
  message: string;
  detail?: string;
}

/** A turn not yet reloaded from the server: what the user sent and the reply so far. */
export interface PendingTurn {
  user: string;
  /** What the user attached, for display ("selection: file.yaml:3-7"). */
  contextLabel?: string;
  reply: string;
  /** The reply is still streaming. */
  streaming: boolean;
  /** The user stopped it. */
  interrupted: boolean;
}

export interface ChatState {
  header: ChatHeader;
  entries: Entry[];
  pending?: PendingTurn;
  errors: InlineError[];
  /** Things to know that are not errors ("Masked 2 secrets before sending"). */
  notices: string[];
  /** Older messages are being loaded, or the server is starting. */
  loading: boolean;
  /** Another process (the terminal, another editor) holds the session's turn: no sending here. */
  replyingElsewhere: boolean;
  /** The message that is the reply streaming in that other process (stored as interrupted until done). */
  streamingElsewhereId?: string;
}

export type ToWebview =
  | { type: "state"; state: ChatState }
  | { type: "delta"; text: string }
  | { type: "focusInput" }
  | { type: "restoreInput"; text: string };

export type FromWebview =
  | { type: "ready" }
  | { type: "send"; text: string }
  | { type: "stop" }
  | { type: "selectSession"; id: string }
  | { type: "newSession" }
  | { type: "pickModel" }
  | { type: "pickSkill" }
  | { type: "copy"; text: string }
  | { type: "openLink"; href: string }
  /** "Fork from here": a new session with the history up to this message. */
  | { type: "fork"; messageId: string }
  | { type: "pin"; messageId: string; pinned: boolean }
  /** Undo the compaction of this (live) summary. */
  | { type: "uncompact"; summaryId: string }
  | { type: "setTitle" };

/**
 * The messages between the extension and the chat webview (`postMessage`).
 * The extension owns the state; the webview renders it and reports input.
 */
import type { Entry } from "./transcript";

export interface SessionOption {
  id: string;
  name: string;
}

export interface ChatHeader {
  /** The current session; absent before the first message of a new chat. */
  session?: { id: string; name: string; provider: string; model: string; skill: string };
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
  /** Older messages are being loaded, or the server is starting. */
  loading: boolean;
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
  | { type: "openLink"; href: string };

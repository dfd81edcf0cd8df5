/**
 * Following the session the chat shows while other processes (the TUI, another
 * editor, `atmos ai ask`) change it: `atmos/session/subscribe` and
 * `atmos/session/updated`. Pure logic, no VS Code import (unit-tested in Node
 * against the real server).
 */
import type { Message, SubscribeParams, SubscribeResult, UnsubscribeParams, UnsubscribeResult } from "./protocol";

/**
 * The id to subscribe `after`: the newest message the view shows (summaries
 * aside: they are written after the messages they replace, not in the turns'
 * order), or undefined for an empty transcript.
 */
export function newestMessageId(messages: readonly Message[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (!messages[i].isSummary) {
      return messages[i].id;
    }
  }
  return undefined;
}

/**
 * The transcript after an `atmos/session/updated`: a message whose id is shown
 * replaces it (a reply streaming elsewhere grows, then completes); the others
 * are new and go at the end, oldest first, as they came.
 */
export function applyUpdate(messages: readonly Message[], update: readonly Message[]): Message[] {
  if (update.length === 0) {
    return messages.slice();
  }
  const byId = new Map(update.map((m) => [m.id, m]));
  const out = messages.map((m) => {
    const changed = byId.get(m.id);
    if (changed) {
      byId.delete(m.id);
      return changed;
    }
    return m;
  });
  for (const m of update) {
    if (byId.get(m.id) === m) {
      out.push(m);
      byId.delete(m.id);
    }
  }
  return out;
}

/**
 * A reply another process is streaming shows as its newest assistant message,
 * stored as `interrupted` until it completes: the id of that message while the
 * session is replying elsewhere, so the view can show it as streaming there
 * rather than as stopped.
 */
export function replyStreamingElsewhere(messages: readonly Message[], replyingElsewhere: boolean): string | undefined {
  if (!replyingElsewhere) {
    return undefined;
  }
  const last = messages[messages.length - 1];
  return last && last.role === "assistant" && last.interrupted && !last.archived ? last.id : undefined;
}

/** What the follower needs of the API (`AtmosApi` has it). */
export interface Subscriptions {
  subscribe(params: SubscribeParams): Promise<SubscribeResult>;
  unsubscribe(params: UnsubscribeParams): Promise<UnsubscribeResult>;
}

/**
 * The one session a view follows. Following another unsubscribes the one
 * before (on its own server); the last call wins when they overlap.
 */
export class Follower {
  private current?: { api: Subscriptions; sessionId: string };
  private generation = 0;

  constructor(private readonly log: (line: string) => void = () => undefined) {}

  /** The session followed, if any. */
  get sessionId(): string | undefined {
    return this.current?.sessionId;
  }

  isFollowing(api: Subscriptions, sessionId: string): boolean {
    return this.current?.api === api && this.current.sessionId === sessionId;
  }

  /**
   * Subscribes to `sessionId` (after the message `after`), unsubscribing the
   * session followed before. Resolves to the server's answer, or undefined when
   * another `follow`/`unfollow` came meanwhile or it was already followed (unless
   * `again`: after the server restarted, say). Rejects when the subscription fails.
   */
  async follow(
    api: Subscriptions,
    sessionId: string,
    after?: string,
    again = false,
  ): Promise<SubscribeResult | undefined> {
    if (!again && this.isFollowing(api, sessionId)) {
      return undefined;
    }
    const generation = ++this.generation;
    const before = this.current;
    this.current = { api, sessionId };
    if (before && (before.api !== api || before.sessionId !== sessionId)) {
      void this.drop(before);
    }
    try {
      const result = await api.subscribe({ id: sessionId, after });
      return generation === this.generation ? result : undefined;
    } catch (e) {
      if (generation === this.generation) {
        this.current = undefined;
      }
      throw e;
    }
  }

  /** Stops following (unsubscribes). */
  async unfollow(): Promise<void> {
    this.generation++;
    const before = this.current;
    this.current = undefined;
    if (before) {
      await this.drop(before);
    }
  }

  /** Forgets the subscription without a request: its server is gone. */
  forget(): void {
    this.generation++;
    this.current = undefined;
  }

  private async drop(s: { api: Subscriptions; sessionId: string }): Promise<void> {
    try {
      await s.api.unsubscribe({ id: s.sessionId });
    } catch (e) {
      // The session was deleted, or its server stopped: nothing to undo.
      this.log(`[atmos] unsubscribing: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

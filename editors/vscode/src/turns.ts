/**
 * The parts of the chat view's turn handling that need no VS Code (unit-tested
 * in Node): which `atmos/sessions/changed` concerns the open session, whether a
 * failed turn kept the user's message, what to say about masked secrets, and
 * waiting for a stopped turn to be stored.
 */
import { ErrorCodes, type SessionsChangedParams } from "./protocol";

/** Whether a notification is about `session` (`evicted` names the session only). */
export function isAboutSession(
  params: SessionsChangedParams,
  session: { id: string; name: string } | undefined,
): boolean {
  if (!session) {
    return false;
  }
  if (params.sessionId !== undefined) {
    return params.sessionId === session.id;
  }
  return params.name !== undefined && params.name === session.name;
}

/**
 * After a turn failed (not cancelled): was the user's message stored? The server
 * stores it once the turn has begun, and then always announces
 * `atmos/sessions/changed` (`chat`) before the error; a provider failure (1005)
 * comes after the message is stored. Anything refused before (1001, 1004, 1006,
 * 1009, 1010, -32602, a dropped connection) stored nothing: the text goes back
 * in the input box.
 */
export function userMessageKept(code: number | undefined, announced: boolean): boolean {
  return announced || code === ErrorCodes.ProviderError;
}

/**
 * What the chat says when the server masked secrets in a message before storing
 * or sending it (`ChatResult.redacted`, `ai.sessions.redact`); undefined for none.
 */
export function redactionNotice(redacted: number | undefined): string | undefined {
  if (!redacted || redacted <= 0) {
    return undefined;
  }
  return `Masked ${redacted} secret${redacted === 1 ? "" : "s"} before sending`;
}

interface Waiting {
  resolve: () => void;
  timer: ReturnType<typeof setTimeout>;
  promise: Promise<void>;
}

/**
 * After `$/cancelRequest` the server answers -32800, then stores the partial
 * reply and announces it (`atmos/sessions/changed`, `chat`); the session is free
 * again only then. This waits, per session, for that announcement, or for a
 * timeout when it never comes.
 */
export class StoredWaiter {
  private readonly waiting = new Map<string, Waiting>();

  /** Resolves when `notify(sessionId)` is called or after `timeoutMs`. */
  wait(sessionId: string, timeoutMs: number): Promise<void> {
    const existing = this.waiting.get(sessionId);
    if (existing) {
      return existing.promise;
    }
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    const timer = setTimeout(() => this.settle(sessionId), timeoutMs);
    this.waiting.set(sessionId, { resolve, timer, promise });
    return promise;
  }

  /** The server said the session's turn is stored; true when a stopped turn was waiting for it. */
  notify(sessionId: string): boolean {
    return this.settle(sessionId);
  }

  isWaiting(sessionId: string): boolean {
    return this.waiting.has(sessionId);
  }

  private settle(sessionId: string): boolean {
    const w = this.waiting.get(sessionId);
    if (!w) {
      return false;
    }
    clearTimeout(w.timer);
    this.waiting.delete(sessionId);
    w.resolve();
    return true;
  }

  /** Releases every waiter (and its timer). */
  dispose(): void {
    for (const id of [...this.waiting.keys()]) {
      this.settle(id);
    }
  }
}

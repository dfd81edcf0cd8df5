/**
 * The chat view (`atmos.chat`): a webview in the panel. The extension owns the
 * state (current session, transcript, the turn in flight) and sends it to the
 * page, which renders it (`webview/main.ts`) and reports what the user does.
 */
import * as crypto from "node:crypto";
import * as path from "node:path";
import * as vscode from "vscode";
import type { AtmosClient, ClientManager } from "./client";
import type { ErrorReporter } from "./errors";
import { pricingOf, sessionUsage } from "./cost";
import { describeError, errorCode, isCancelled, UserError } from "./errorInfo";
import { applyUpdate, Follower, newestMessageId, replyStreamingElsewhere } from "./live";
import {
  type ContextRef,
  type Message,
  type ProviderInfo,
  type Session,
  type SessionUpdatedParams,
  type Target,
} from "./protocol";
import { estimateTokens, groupTranscript, type Entry } from "./transcript";
import { isAboutSession, redactionNotice, StoredWaiter, userMessageKept } from "./turns";
import type { ChatHeader, ChatState, FromWebview, InlineError, PendingTurn, SessionOption, ToWebview } from "./webviewMessages";

interface Turn {
  cts: vscode.CancellationTokenSource;
  token: string;
  sessionId: string;
  cancelled: boolean;
  /** The server already said the turn is stored (`atmos/sessions/changed`, `chat`). */
  stored: boolean;
  /** The `atmos/chat` request went out (before that, nothing is stored). */
  chatSent: boolean;
  /** Settles when `send` has finished with this turn. */
  done: Promise<void>;
}

/** How long to wait for the server to say a stopped turn is stored before reloading anyway. */
const STORED_TIMEOUT_MS = 3000;

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = "atmos.chat";

  private view?: vscode.WebviewView;
  private ready = false;
  /** Focus the message box once the page has loaded. */
  private focusWhenReady = false;
  /** The project of the current session (the active folder's until a session is chosen). */
  private client?: AtmosClient;
  private session?: Session;
  /** The whole transcript as loaded (oldest first, summaries included). */
  private messages: Message[] = [];
  /** The session whose transcript `messages` is (it lags behind `session` while one opens). */
  private messagesOf?: string;
  private entries: Entry[] = [];
  private pending?: PendingTurn;
  private errors: InlineError[] = [];
  private notices: string[] = [];
  private sessions: SessionOption[] = [];
  private next = { provider: "", model: "", skill: "" };
  /** The user picked these for the next new session (else the server's defaults). */
  private nextChosen = false;
  private tokens?: ChatHeader["tokens"];
  private loading = false;
  private turn?: Turn;
  private turnCount = 0;
  /** Stopped turns waiting for `atmos/sessions/changed` (`chat`) before reloading. */
  private readonly stored = new StoredWaiter();
  /** Settles once a stopped turn is stored and the view reloaded: the next turn waits for it. */
  private afterStop?: Promise<void>;
  /** Bumped by each `open`: an older one that finishes late does not win. */
  private openCount = 0;
  /** The subscription to the session shown (`atmos/session/subscribe`). */
  private readonly follower: Follower;
  /** Another process holds the shown session's turn (`replyingElsewhere`). */
  private replyingElsewhere = false;
  /** The providers (with their pricing) of each project, from `atmos/providers/list`. */
  private readonly providers = new WeakMap<AtmosClient, ProviderInfo[]>();
  /** The reload running, and the one queued behind it (changes coalesce into one). */
  private reloadRunning?: Promise<void>;
  private reloadNext?: Promise<void>;
  /** Updates that arrive while a reload runs, applied again on top of what it read. */
  private readonly reloadLogs = new Set<Message[][]>();
  /** The history was rewritten elsewhere during our own turn: reload after it. */
  private reloadAfterTurn = false;
  /** The listeners of the current webview, disposed with it. */
  private viewDisposables: vscode.Disposable[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private readonly stateChanged = new vscode.EventEmitter<void>();
  /** The current session changed (or its turn started or ended). */
  readonly onDidChangeState = this.stateChanged.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly clients: ClientManager,
    private readonly reporter: ErrorReporter,
  ) {
    this.follower = new Follower((line) => clients.output.appendLine(line));
    this.disposables.push(
      clients.onSessionUpdated(({ client, params }) => this.onSessionUpdated(client, params)),
      clients.onServerRestarted((client) => {
        // Its subscriptions went with the old process.
        if (client === this.client && this.session) {
          void this.follow(true);
        }
      }),
      clients.onChatDelta(({ client, params }) => {
        const turn = this.turn;
        if (!turn || client !== this.client || params.token !== turn.token || !this.pending) {
          return;
        }
        this.pending.reply += params.text;
        this.post({ type: "delta", text: params.text });
      }),
      clients.onSessionsChanged(({ client, params }) => {
        // A stopped turn (perhaps of a session no longer shown) is stored now.
        if (params.reason === "chat" && params.sessionId !== undefined && this.stored.notify(params.sessionId)) {
          return;
        }
        // With no session chosen yet, the dropdown lists the active folder's project.
        const mine = this.client
          ? client === this.client
          : client.folder?.uri.toString() === this.clients.activeFolder()?.uri.toString();
        if (!mine) {
          return;
        }
        void this.refreshSessionList();
        const current = this.session;
        if (!current || !isAboutSession(params, current)) {
          return;
        }
        switch (params.reason) {
          case "chat":
            if (this.turn?.sessionId === current.id) {
              this.turn.stored = true;
            } else if (!this.turn && !this.follower.isFollowing(client.api, current.id)) {
              // (A followed session's turns made elsewhere come as `atmos/session/updated`.)
              void this.reload();
            }
            return;
          case "renamed":
            if (params.name) {
              current.name = params.name;
              this.push();
            }
            return;
          case "updated":
            if (!this.turn) {
              void this.reload();
            }
            return;
          case "deleted":
          case "evicted":
          case "cleaned":
            this.stop();
            this.clearSession();
            this.errors = [{ message: `The session '${current.name}' was deleted; the next message starts a new one` }];
            this.push();
            return;
          default:
            return;
        }
      }),
      clients.onCompactStatus(({ client, params }) => {
        if (client !== this.client || params.sessionId !== this.session?.id) {
          return;
        }
        if (params.stage === "starting" || params.stage === "summarizing") {
          vscode.window.setStatusBarMessage(`$(sync~spin) Atmos: compacting ${params.messageCount} messages…`, 5000);
        } else if (params.stage === "failed") {
          vscode.window.setStatusBarMessage(`Atmos: compaction failed${params.error ? `: ${params.error}` : ""}`, 8000);
        } else {
          vscode.window.setStatusBarMessage(`Atmos: compacted ${params.messageCount} messages`, 5000);
        }
      }),
      clients.onRestarted(() => {
        if (this.client && !this.client.isDisposed) {
          // Another folder's server went away (a folder was removed): this one is fine.
          void this.refreshSessionList();
          return;
        }
        this.stop();
        this.follower.forget();
        this.client = undefined;
        this.clearSession();
        this.sessions = [];
        this.nextChosen = false;
        this.push();
        if (this.view) {
          void this.refreshSessionList();
          void this.loadDefaults();
        }
      }),
    );
  }

  // -------------------------------------------------------------------------
  // The view

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const dist = vscode.Uri.joinPath(this.extensionUri, "dist");
    const media = vscode.Uri.joinPath(this.extensionUri, "media");
    view.webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
    view.webview.html = this.html(view.webview);
    for (const d of this.viewDisposables) {
      d.dispose();
    }
    const disposables: vscode.Disposable[] = [];
    this.viewDisposables = disposables;
    view.webview.onDidReceiveMessage((m: FromWebview) => void this.onMessage(m), undefined, disposables);
    view.onDidDispose(
      () => {
        for (const d of disposables) {
          d.dispose();
        }
        if (this.view === view) {
          this.view = undefined;
          this.ready = false;
        }
      },
      undefined,
      disposables,
    );
  }

  /** Shows the chat view (resolving it if needed). */
  async reveal(focusInput = true): Promise<void> {
    await vscode.commands.executeCommand(`${ChatViewProvider.viewId}.focus`);
    if (focusInput) {
      if (this.ready) {
        this.post({ type: "focusInput" });
      } else {
        this.focusWhenReady = true;
      }
    }
  }

  /** Whether a reply is streaming. */
  get streaming(): boolean {
    return this.turn !== undefined;
  }

  /** The current session and the client it belongs to. */
  get current(): { client: AtmosClient; session: Session } | undefined {
    return this.client && this.session ? { client: this.client, session: this.session } : undefined;
  }

  private html(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(16).toString("base64");
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, "dist", "webview.js"));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, "media", "chat.css"));
    const csp = [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src ${webview.cspSource} 'nonce-${nonce}'`,
      `img-src ${webview.cspSource} data:`,
      `font-src ${webview.cspSource}`,
    ].join("; ");
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}" nonce="${nonce}">
<title>Atmos Chat</title>
</head>
<body data-state="idle">
<header class="chat-header">
  <select aria-label="Session" title="Session"></select>
  <button type="button" class="icon-button" aria-label="New Session" title="New session">+</button>
  <span class="provider-badge" title="Provider"></span>
  <button type="button" class="picker" aria-label="Model" title="Switch provider and model"></button>
  <button type="button" class="picker" aria-label="Skill" title="Switch skill"></button>
  <span class="tokens"></span>
</header>
<div class="session-info" hidden>
  <button type="button" class="session-title" aria-label="Title" title="The session's title (click to change it)"></button>
  <span class="forked-from"></span>
  <span class="usage"></span>
</div>
<main id="transcript" aria-live="polite"></main>
<div class="elsewhere" role="status" hidden></div>
<footer class="composer">
  <textarea aria-label="Message" rows="3" placeholder="Ask about your infrastructure (Enter sends, Shift+Enter for a new line)"></textarea>
  <div class="composer-buttons">
    <button type="button" aria-label="Send" title="Send (Enter)">Send</button>
    <button type="button" aria-label="Stop" title="Stop the reply" disabled>Stop</button>
  </div>
</footer>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  private post(message: ToWebview): void {
    if (this.view && this.ready) {
      void this.view.webview.postMessage(message);
    }
  }

  private state(): ChatState {
    const s = this.session;
    const pricing = s && this.client ? pricingOf(this.providers.get(this.client), s.provider) : undefined;
    return {
      header: {
        session: s
          ? {
              id: s.id,
              name: s.name,
              provider: s.provider,
              model: s.model,
              skill: s.skill,
              title: s.title,
              forkedFrom: s.forkedFrom,
              usage: sessionUsage(s, pricing),
            }
          : undefined,
        next: this.next,
        sessions: this.sessions,
        tokens: this.tokens,
      },
      entries: this.entries,
      pending: this.pending,
      errors: this.errors,
      notices: this.notices,
      loading: this.loading,
      replyingElsewhere: this.replyingElsewhere,
      streamingElsewhereId: replyStreamingElsewhere(this.messages, this.replyingElsewhere),
    };
  }

  /** Sends the whole state to the page. */
  private push(): void {
    this.post({ type: "state", state: this.state() });
    this.stateChanged.fire();
  }

  private async onMessage(m: FromWebview): Promise<void> {
    switch (m.type) {
      case "ready":
        this.ready = true;
        this.push();
        if (this.focusWhenReady) {
          this.focusWhenReady = false;
          this.post({ type: "focusInput" });
        }
        await Promise.all([this.refreshSessionList(), this.loadDefaults()]);
        return;
      case "send":
        await this.send(m.text);
        return;
      case "stop":
        this.stop();
        return;
      case "selectSession":
        if (m.id === "") {
          this.newSession();
        } else if (m.id !== this.session?.id) {
          await this.open(this.clientOrActive(), { id: m.id });
        }
        return;
      case "newSession":
        this.newSession();
        return;
      case "pickModel":
        await vscode.commands.executeCommand("atmos.switchModel");
        return;
      case "pickSkill":
        await vscode.commands.executeCommand("atmos.switchSkill");
        return;
      case "copy":
        await vscode.env.clipboard.writeText(m.text);
        vscode.window.setStatusBarMessage("Atmos: copied", 2000);
        return;
      case "openLink":
        if (/^(https?:|mailto:)/i.test(m.href)) {
          await vscode.env.openExternal(vscode.Uri.parse(m.href));
        }
        return;
      case "fork":
        await vscode.commands.executeCommand("atmos.forkSession", { messageId: m.messageId });
        return;
      case "pin":
        await this.pin(m.messageId, m.pinned);
        return;
      case "uncompact":
        await vscode.commands.executeCommand("atmos.uncompactSession", { summaryId: m.summaryId });
        return;
      case "setTitle":
        await vscode.commands.executeCommand("atmos.sessions.setTitle");
        return;
    }
  }

  // -------------------------------------------------------------------------
  // Sessions

  private clientOrActive(): AtmosClient {
    if (!this.client) {
      this.client = this.clients.get();
    }
    return this.client;
  }

  private clearSession(): void {
    this.session = undefined;
    this.messages = [];
    this.messagesOf = undefined;
    this.entries = [];
    this.pending = undefined;
    this.tokens = undefined;
    this.notices = [];
    this.replyingElsewhere = false;
    this.reloadAfterTurn = false;
    void this.follower.unfollow();
  }

  /** A new chat: the next message creates an anonymous session. */
  newSession(): void {
    if (this.turn) {
      this.stop();
    }
    this.clearSession();
    this.errors = [];
    this.client = undefined;
    this.push();
  }

  /** Opens a session in the chat: its whole transcript. */
  async open(client: AtmosClient, target: Target): Promise<void> {
    if (this.turn) {
      this.stop();
    }
    const opening = ++this.openCount;
    this.errors = [];
    this.notices = [];
    this.loading = true;
    this.push();
    try {
      const { session } = await client.api.resumeSession({ ...target, limit: 1 });
      if (opening !== this.openCount) {
        return; // another session was chosen meanwhile
      }
      if (this.client !== client || this.session?.id !== session.id) {
        this.replyingElsewhere = false;
        this.reloadAfterTurn = false;
      }
      this.client = client;
      this.session = session;
      this.pending = undefined;
      void this.loadPricing(client);
      await this.reload();
      if (opening === this.openCount) {
        await this.follow();
      }
    } catch (e) {
      if (opening === this.openCount) {
        this.showError(e, "opening the session");
      }
    } finally {
      if (opening === this.openCount) {
        this.loading = false;
        this.push();
      }
    }
  }

  /**
   * Reloads the current session and its whole transcript from the server. Calls
   * while one runs share a single reload after it.
   */
  reload(): Promise<void> {
    if (!this.reloadRunning) {
      return this.startReload();
    }
    if (!this.reloadNext) {
      this.reloadNext = this.reloadRunning.then(() => {
        this.reloadNext = undefined;
        return this.startReload();
      });
    }
    return this.reloadNext;
  }

  private startReload(): Promise<void> {
    const running = this.loadTranscript().finally(() => {
      if (this.reloadRunning === running) {
        this.reloadRunning = undefined;
      }
    });
    this.reloadRunning = running;
    return running;
  }

  private async loadTranscript(): Promise<void> {
    const client = this.client;
    const session = this.session;
    if (!client || !session) {
      this.push();
      return;
    }
    const log: Message[][] = [];
    this.reloadLogs.add(log);
    if (!this.turn) {
      this.reloadAfterTurn = false;
    }
    try {
      const [resumed, messages] = await Promise.all([
        client.api.resumeSession({ id: session.id, limit: 1 }),
        client.api.transcript({ id: session.id }),
      ]);
      if (this.session?.id !== session.id) {
        return; // another session was opened meanwhile
      }
      this.session = resumed.session;
      // What other processes changed while it was read is at least as new.
      this.setTranscript(log.reduce(applyUpdate, messages));
      this.messagesOf = session.id;
      if (!this.turn) {
        this.pending = undefined;
      }
    } catch (e) {
      this.showError(e, "loading the session");
    } finally {
      this.reloadLogs.delete(log);
    }
    this.push();
  }

  /**
   * Subscribes to the session shown (`after` its newest message) so that what other
   * processes do in it shows here; `again` after its server restarted.
   */
  private async follow(again = false): Promise<void> {
    const client = this.client;
    const session = this.session;
    if (!client || !session || (this.messagesOf !== session.id && this.messages.length > 0)) {
      return; // its transcript did not load: `after` would be wrong
    }
    try {
      // "0" when none is shown: every message stored meanwhile comes at once.
      const after = newestMessageId(this.messages) ?? "0";
      const result = await this.follower.follow(client.api, session.id, after, again);
      if (result && this.client === client && this.session?.id === session.id) {
        this.replyingElsewhere = result.replyingElsewhere;
        this.session = { ...this.session, ...result.session };
        this.push();
      }
    } catch (e) {
      // Without it the chat still works: it shows others' changes when reopened.
      this.clients.output.appendLine(`[atmos] following '${session.name}': ${describeError(e).message}`);
    }
  }

  /** Another process changed the session shown: its new and changed messages, or reload. */
  private onSessionUpdated(client: AtmosClient, params: SessionUpdatedParams): void {
    if (client !== this.client || !this.session || params.sessionId !== this.session.id) {
      return;
    }
    if (this.messagesOf !== undefined && this.messagesOf !== params.sessionId) {
      return; // its transcript is still loading: the reload reads all of it
    }
    this.session = params.session;
    this.replyingElsewhere = params.replyingElsewhere;
    if (params.messages.length > 0) {
      for (const log of this.reloadLogs) {
        log.push(params.messages);
      }
      this.setTranscript(applyUpdate(this.messages, params.messages));
    }
    if (params.reload) {
      if (this.turn) {
        this.reloadAfterTurn = true;
      } else {
        void this.reload();
      }
    }
    this.push();
  }

  /** The providers' pricing of a project, for the cost in the header. */
  private async loadPricing(client: AtmosClient): Promise<void> {
    if (this.providers.has(client)) {
      return;
    }
    try {
      const { providers } = await client.api.providers();
      this.providers.set(client, providers);
      if (client === this.client) {
        this.push();
      }
    } catch (e) {
      this.clients.output.appendLine(`[atmos] listing the providers: ${describeError(e).message}`);
    }
  }

  private setTranscript(messages: Message[]): void {
    this.messages = messages;
    this.entries = groupTranscript(messages);
    this.tokens = { count: estimateTokens(messages) };
  }

  /**
   * After a turn that did not compact: only the two messages it stored are fetched and
   * appended (a turn costs O(1) here, whatever the length of the session).
   */
  private async appendTurn(client: AtmosClient, sessionId: string): Promise<void> {
    const [resumed, page] = await Promise.all([
      client.api.resumeSession({ id: sessionId, limit: 1 }),
      client.api.messages({ id: sessionId, limit: 2 }),
    ]);
    if (this.session?.id !== sessionId) {
      return;
    }
    this.session = resumed.session;
    const known = new Set(this.messages.map((m) => m.id));
    this.setTranscript([...this.messages, ...page.messages.filter((m) => !known.has(m.id))]);
    if (!this.turn) {
      this.pending = undefined;
    }
  }

  /** The names in the session dropdown. */
  async refreshSessionList(): Promise<void> {
    try {
      // Without a session, the active folder's project (not pinned: the next message picks it then).
      const client = this.client ?? this.clients.get();
      const { sessions } = await client.api.listSessions({ limit: 200 });
      this.sessions = sessions.map((s) => ({ id: s.id, name: s.name, title: s.title }));
    } catch (e) {
      // The chat shows the error when it is used; here, only log it.
      this.clients.output.appendLine(`[atmos] listing sessions: ${describeError(e).message}`);
      this.sessions = [];
    }
    this.push();
  }

  /** The provider, model and skill a new session gets. */
  private async loadDefaults(): Promise<void> {
    if (this.nextChosen) {
      return;
    }
    try {
      const client = this.clientOrActive();
      const [providers, skills] = await Promise.all([client.api.providers(), client.api.skills()]);
      this.providers.set(client, providers.providers);
      const provider = providers.providers.find((p) => p.name === providers.default);
      this.next = { provider: providers.default, model: provider?.model ?? "", skill: skills.default };
    } catch (e) {
      const info = this.showError(e, "starting atmos ai serve");
      if (!info) {
        return;
      }
    }
    this.push();
  }

  /** Sets the provider and model (of the session, else of the next one). */
  async setModel(provider: string, model: string): Promise<void> {
    if (this.session && this.client) {
      try {
        this.session = await this.client.api.updateSession({ id: this.session.id, provider, model });
      } catch (e) {
        this.showError(e, "switching the model");
      }
    } else {
      this.next = { ...this.next, provider, model };
      this.nextChosen = true;
    }
    this.push();
  }

  /** Sets the skill (of the session, else of the next one). */
  async setSkill(skill: string): Promise<void> {
    if (this.session && this.client) {
      try {
        this.session = await this.client.api.updateSession({ id: this.session.id, skill });
      } catch (e) {
        this.showError(e, "switching the skill");
      }
    } else {
      this.next = { ...this.next, skill };
      this.nextChosen = true;
    }
    this.push();
  }

  /** What the model and skill pickers start from. */
  get selection(): { client: AtmosClient; provider: string; model: string; skill: string } {
    const client = this.clientOrActive();
    const s = this.session;
    return s
      ? { client, provider: s.provider, model: s.model, skill: s.skill }
      : { client, ...this.next };
  }

  // -------------------------------------------------------------------------
  // Turns

  /** Sends a message in the current session (creating one first when there is none). */
  async send(text: string, context?: ContextRef[], contextLabel?: string): Promise<void> {
    const message = text.trim();
    if (message === "") {
      return;
    }
    // A stopped turn ends when the server answers -32800, and its session is free
    // once the partial is stored (`atmos/sessions/changed`, `chat`): wait for both
    // instead of refusing the message or getting 1009.
    if (this.turn?.cancelled) {
      await this.turn.done;
    }
    if (this.afterStop) {
      await this.afterStop;
    }
    if (this.turn) {
      this.showError(new UserError("A reply is still streaming: press Stop (or wait for it), then send again"));
      this.post({ type: "restoreInput", text: message });
      return;
    }
    if (this.replyingElsewhere && this.session) {
      this.showError(
        new UserError(
          `'${this.session.name}' is replying elsewhere (in the terminal or another editor): send again when that reply is done`,
        ),
      );
      this.post({ type: "restoreInput", text: message });
      return;
    }
    this.errors = [];
    this.notices = [];
    this.pending = { user: message, contextLabel, reply: "", streaming: true, interrupted: false };
    const cts = new vscode.CancellationTokenSource();
    let finished!: () => void;
    const turn: Turn = {
      cts,
      token: `vscode-${++this.turnCount}-${Date.now()}`,
      sessionId: "",
      cancelled: false,
      stored: false,
      chatSent: false,
      done: new Promise<void>((r) => (finished = r)),
    };
    this.turn = turn;
    this.push();

    let client: AtmosClient | undefined;
    /** The view still shows the session of this turn (the user did not switch away). */
    const shown = (): boolean => turn.sessionId !== "" && this.session?.id === turn.sessionId && this.client === client;
    try {
      client = this.clientOrActive();
      if (!this.session) {
        const { session } = await client.api.createSession(
          this.nextChosen ? { provider: this.next.provider, model: this.next.model, skill: this.next.skill } : {},
        );
        void this.refreshSessionList();
        if (turn.cancelled) {
          // Stopped while the session was created: keep it unless another one is shown now.
          if (this.session === undefined && this.client === client) {
            this.session = session;
            this.nextChosen = false;
          }
          throw new vscode.CancellationError();
        }
        this.session = session;
        this.messagesOf = session.id;
        this.nextChosen = false;
        void this.loadPricing(client);
        // Followed before the first turn, so that nothing of it comes back as someone else's.
        await this.follow();
      }
      if (turn.cancelled) {
        throw new vscode.CancellationError();
      }
      turn.sessionId = this.session.id;
      turn.chatSent = true;
      const result = await client.api.chat(
        { id: this.session.id, message, context, token: turn.token },
        cts.token,
      );
      this.turn = undefined;
      if (!shown()) {
        // Another session (or a new chat) is shown now: the reply is stored, not shown here.
        this.push();
        return;
      }
      if (this.pending) {
        this.pending = { ...this.pending, reply: result.reply.content, streaming: false };
      }
      const masked = redactionNotice(result.redacted);
      if (masked) {
        // The stored (and sent) message has [REDACTED] in their place: it replaces the typed one below.
        this.notices = [...this.notices, masked];
        vscode.window.setStatusBarMessage(`$(shield) Atmos: ${masked}`, 8000);
      }
      this.push();
      const rewritten = this.reloadAfterTurn;
      this.reloadAfterTurn = false;
      if (result.compaction?.compacted || rewritten) {
        await this.reload(); // messages were archived under a new summary (or rewritten elsewhere)
      } else {
        await this.appendTurn(client, result.sessionId);
      }
      if (result.compaction?.compacted) {
        const c = result.compaction;
        void vscode.window.showInformationMessage(
          `Atmos compacted the session: ${c.archivedIds.length} messages folded into a summary (${c.tokensBefore} → ${c.tokensAfter} tokens)`,
        );
      }
      this.push();
    } catch (e) {
      this.turn = undefined;
      const cancelled = isCancelled(e) || e instanceof vscode.CancellationError || turn.cancelled;
      if (cancelled && !turn.chatSent) {
        // Stopped before the message went out: nothing was stored, give the text back.
        if (this.pending?.user === message && this.pending.streaming) {
          this.pending = undefined;
          this.post({ type: "restoreInput", text: message });
        }
        this.push();
      } else if (cancelled) {
        // The partial reply stays; the server stores it as interrupted and
        // then says so (`atmos/sessions/changed`, reason `chat`).
        if (shown() && this.pending) {
          this.pending = { ...this.pending, streaming: false, interrupted: this.pending.reply !== "" };
        }
        this.push();
        if (turn.stored) {
          if (shown()) {
            await this.reload();
          }
        } else {
          const sessionId = turn.sessionId;
          const after = this.stored.wait(sessionId, STORED_TIMEOUT_MS).then(async () => {
            if (this.session?.id === sessionId) {
              await this.reload();
            }
          });
          this.afterStop = after;
          void after.finally(() => {
            if (this.afterStop === after) {
              this.afterStop = undefined;
            }
          });
        }
      } else {
        this.showError(e, "chat");
        if (shown() || (turn.sessionId === "" && this.session === undefined)) {
          const kept = userMessageKept(errorCode(e), turn.stored);
          if (this.session) {
            await this.reload();
          }
          this.pending = undefined;
          this.push();
          if (!kept) {
            // Nothing was stored: give the text back to edit and send again.
            this.post({ type: "restoreInput", text: message });
          }
        }
      }
    } finally {
      cts.dispose();
      finished();
    }
  }

  /** Stops the reply that is streaming (the partial reply stays, marked interrupted). */
  stop(): void {
    const turn = this.turn;
    if (!turn) {
      return;
    }
    turn.cancelled = true;
    turn.cts.cancel();
  }

  /** Compacts the current session now. */
  async compact(): Promise<void> {
    const current = this.current;
    if (!current) {
      throw new UserError("Open a session first: there is nothing to compact in a new chat");
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Atmos: compacting '${current.session.name}'…` },
      () => current.client.api.compactSession({ id: current.session.id }),
    );
    if (result.compacted) {
      const how = result.usedAi
        ? "an AI summary"
        : `a plain summary${result.fallbackReason ? ` (${result.fallbackReason})` : ""}`;
      void vscode.window.showInformationMessage(
        `Compacted '${current.session.name}': ${result.archivedIds.length} messages folded into ${how}, ${result.tokensBefore} → ${result.tokensAfter} tokens`,
      );
    } else {
      void vscode.window.showInformationMessage(
        `Nothing to compact in '${current.session.name}' yet: the newest messages are always kept, and older ones only when a summary is shorter`,
      );
    }
    await this.reload();
  }

  /** Pins (or unpins) a message of the session shown: a pinned message is never compacted. */
  async pin(messageId: string, pinned: boolean): Promise<void> {
    const current = this.current;
    if (!current) {
      return;
    }
    try {
      const result = await current.client.api.pinMessage({ id: current.session.id, messageId, pinned });
      if (this.session?.id !== current.session.id) {
        return;
      }
      this.session = result.session;
      // Pinning an archived message makes it active again: it leaves its summary.
      this.setTranscript(applyUpdate(this.messages, [result.message]));
      this.push();
      vscode.window.setStatusBarMessage(
        pinned ? "Atmos: pinned: never compacted, always sent" : "Atmos: unpinned",
        4000,
      );
    } catch (e) {
      this.showError(e, pinned ? "pinning the message" : "unpinning the message");
    }
  }

  /** A session changed here (title, …): shown at once when it is the current one. */
  sessionChanged(client: AtmosClient, session: Session): void {
    if (client === this.client && this.session?.id === session.id) {
      this.session = session;
      this.push();
    }
  }

  /** Reports an error as a notification and inline in the chat; undefined for a cancellation. */
  private showError(e: unknown, what?: string): InlineError | undefined {
    const info = this.reporter.report(e, what);
    if (info.cancelled) {
      return undefined;
    }
    const inline = { message: info.message, detail: info.detail };
    this.errors = [...this.errors, inline];
    this.push();
    return inline;
  }

  /** A short label for a selection: `stacks/prod.yaml:3-7`. */
  static selectionLabel(uri: vscode.Uri, range: vscode.Range): string {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const name = folder ? path.relative(folder.uri.fsPath, uri.fsPath) : path.basename(uri.fsPath);
    const from = range.start.line + 1;
    const to = range.end.character === 0 && range.end.line > range.start.line ? range.end.line : range.end.line + 1;
    return `${name}:${from === to ? from : `${from}-${to}`}`;
  }

  dispose(): void {
    this.stop();
    this.stored.dispose();
    for (const d of [...this.disposables, ...this.viewDisposables]) {
      d.dispose();
    }
    this.stateChanged.dispose();
  }
}

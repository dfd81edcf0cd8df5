/**
 * Atmos AI for VS Code: a chat view and a sessions view over `atmos ai serve`.
 *
 * - `client.ts`: the language clients (one server per workspace folder);
 * - `api.ts` / `protocol.ts`: the typed protocol;
 * - `chatView.ts` + `webview/main.ts`: the chat;
 * - `live.ts`: following the session shown while other processes change it;
 * - `cost.ts`: a session's tokens and estimated cost;
 * - `sessionsView.ts`: the sessions tree;
 * - `errors.ts` / `errorInfo.ts`: failures as notifications with actions.
 */
import * as vscode from "vscode";
import { ChatViewProvider } from "./chatView";
import { ClientManager, type AtmosClient } from "./client";
import { ErrorReporter } from "./errors";
import { errorCode, UserError } from "./errorInfo";
import { ErrorCodes, type ContextRef, type ExportFormat, type ListedSession, type Session } from "./protocol";
import { SessionItem, SessionsProvider, shortDate } from "./sessionsView";

let manager: ClientManager | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel("Atmos");
  const clients = new ClientManager(output);
  manager = clients;
  const reporter = new ErrorReporter(output, () => clients);
  const chat = new ChatViewProvider(context.extensionUri, clients, reporter);
  const sessions = new SessionsProvider(clients);
  const tree = vscode.window.createTreeView("atmos.sessions", { treeDataProvider: sessions, showCollapseAll: false });
  sessions.attach(tree);

  context.subscriptions.push(
    output,
    chat,
    sessions,
    tree,
    vscode.window.registerWebviewViewProvider(ChatViewProvider.viewId, chat, {
      webviewOptions: { retainContextWhenHidden: true },
    }),
    chat.onDidChangeState(() => {
      void vscode.commands.executeCommand("setContext", "atmos.streaming", chat.streaming);
      void vscode.commands.executeCommand("setContext", "atmos.hasSession", chat.current !== undefined);
    }),
  );

  const register = (id: string, run: (...args: never[]) => unknown): void => {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: never[]) => {
        try {
          await run(...args);
        } catch (e) {
          reporter.report(e, id);
        }
      }),
    );
  };

  const openInChat = async (client: AtmosClient, session: { id: string }): Promise<void> => {
    await chat.reveal(false);
    await chat.open(client, { id: session.id });
    await chat.reveal();
  };

  const pickSession = async (
    client: AtmosClient,
    list: ListedSession[],
    title: string,
  ): Promise<ListedSession | undefined> => {
    const items = list.map((s) => ({
      label: s.name,
      description: `${s.provider} · ${s.messageCount} msgs · updated ${shortDate(s.updatedAt)}`,
      detail: s.snippet,
      session: s,
    }));
    const picked = await vscode.window.showQuickPick(items, {
      title,
      matchOnDescription: true,
      matchOnDetail: true,
      placeHolder: `${list.length} sessions in ${client.label}`,
    });
    return picked?.session;
  };

  // -- The chat ------------------------------------------------------------

  register("atmos.openChat", () => chat.reveal());

  register("atmos.newSession", async () => {
    const name = await vscode.window.showInputBox({
      title: "Atmos: New Session",
      prompt: "A name for the session, or leave it empty: the first message then creates one named after the time",
      placeHolder: "e.g. vpc-design",
    });
    if (name === undefined) {
      return;
    }
    if (name.trim() === "") {
      chat.newSession();
      await chat.reveal();
      return;
    }
    const client = clients.get();
    const { session } = await client.api.createSession({ name: name.trim() });
    await openInChat(client, session);
  });

  register("atmos.openSession", async () => {
    const client = clients.get();
    const { sessions: list } = await client.api.listSessions({ limit: 500 });
    if (list.length === 0) {
      void vscode.window.showInformationMessage("No sessions yet: open the chat and send a message to start one");
      return;
    }
    const s = await pickSession(client, list, "Atmos: Open Session");
    if (s) {
      await openInChat(client, s);
    }
  });

  register("atmos.askAboutSelection", async () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      throw new UserError("Open a file and select some text to ask about");
    }
    const doc = editor.document;
    const sel = editor.selection;
    const range = sel.isEmpty ? doc.lineAt(sel.active.line).range : new vscode.Range(sel.start, sel.end);
    const text = doc.getText(range);
    if (text.trim() === "") {
      throw new UserError("The selection is empty: select the text to ask about");
    }
    const label = ChatViewProvider.selectionLabel(doc.uri, range);
    const question = await vscode.window.showInputBox({
      title: `Atmos: Ask About ${label}`,
      prompt: "Your question about the selection",
      placeHolder: "e.g. What does this stack configure?",
    });
    if (question === undefined || question.trim() === "") {
      return;
    }
    const ref: ContextRef = {
      kind: "selection",
      uri: doc.uri.toString(),
      range: {
        start: { line: range.start.line, character: range.start.character },
        end: { line: range.end.line, character: range.end.character },
      },
      text,
    };
    await chat.reveal(false);
    await chat.send(question, [ref], label);
  });

  register("atmos.stopReply", () => {
    if (!chat.streaming) {
      void vscode.window.showInformationMessage("No reply is streaming");
      return;
    }
    chat.stop();
  });

  register("atmos.switchModel", async () => {
    const { client, provider, model } = chat.selection;
    const list = await client.api.providers();
    const items = list.providers.map((p) => ({
      label: p.name,
      description: `${p.name === provider ? model : p.model}${p.name === provider ? " · current" : ""}${p.name === list.default ? " · default" : ""}`,
      detail: p.configured ? undefined : `$(warning) ${p.reason ?? "not configured"}`,
      provider: p,
    }));
    const picked = await vscode.window.showQuickPick(items, {
      title: "Atmos: Switch Provider and Model",
      placeHolder: "The provider",
      matchOnDescription: true,
    });
    if (!picked) {
      return;
    }
    const p = picked.provider;
    if (!p.configured) {
      void vscode.window.showWarningMessage(`${p.name} is not configured yet: ${p.reason ?? "set its key"}`);
    }
    const chosenModel = await vscode.window.showInputBox({
      title: `Atmos: Model for ${p.name}`,
      prompt: "The model, as the provider names it",
      value: p.name === provider ? model : p.model,
      validateInput: (v) => (v.trim() === "" ? "Give a model name" : undefined),
    });
    if (chosenModel === undefined) {
      return;
    }
    await chat.setModel(p.name, chosenModel.trim());
  });

  register("atmos.switchSkill", async () => {
    const { client, skill } = chat.selection;
    const list = await client.api.skills();
    const picked = await vscode.window.showQuickPick(
      list.skills.map((s) => ({
        label: s.displayName,
        description: `${s.name}${s.name === skill ? " · current" : ""}${s.name === list.default ? " · default" : ""}`,
        detail: s.description,
        name: s.name,
      })),
      { title: "Atmos: Switch Skill", matchOnDescription: true, matchOnDetail: true },
    );
    if (picked) {
      await chat.setSkill(picked.name);
    }
  });

  register("atmos.compactSession", () => chat.compact());

  register("atmos.showOutput", () => output.show(true));

  // -- Sessions --------------------------------------------------------------

  register("atmos.refreshSessions", () => sessions.refresh());

  register("atmos.searchSessions", async () => {
    const query = await vscode.window.showInputBox({
      title: "Atmos: Search Sessions",
      prompt: "Words in a session's name or messages",
      placeHolder: "e.g. prod vpc",
    });
    if (query === undefined || query.trim() === "") {
      return;
    }
    const client = clients.get();
    const { sessions: found } = await client.api.listSessions({ query: query.trim(), limit: 100 });
    if (found.length === 0) {
      void vscode.window.showInformationMessage(`No session mentions "${query.trim()}"`);
      return;
    }
    const s = await pickSession(client, found, `Sessions matching "${query.trim()}"`);
    if (s) {
      await openInChat(client, s);
    }
  });

  register("atmos.cleanSessions", async () => {
    const olderThan = await vscode.window.showInputBox({
      title: "Atmos: Clean Sessions",
      prompt: "Delete the sessions not used for: a whole number and h, d, w or m (30-day months)",
      value: "30d",
      validateInput: (v) => (/^\d+[hdwm]$/.test(v.trim()) ? undefined : "Use a number and one unit, as in 30d, 12h, 2w, 6m"),
    });
    if (olderThan === undefined) {
      return;
    }
    const client = clients.get();
    const dry = await client.api.cleanSessions({ olderThan: olderThan.trim(), dryRun: true });
    if (dry.count === 0) {
      void vscode.window.showInformationMessage(`No session is older than ${olderThan.trim()}`);
      return;
    }
    const shown = dry.deleted.slice(0, 20).join(", ") + (dry.count > 20 ? `, and ${dry.count - 20} more` : "");
    const ok = await vscode.window.showWarningMessage(
      `Delete ${dry.count} session${dry.count === 1 ? "" : "s"} not used for ${olderThan.trim()}?`,
      { modal: true, detail: `${shown}\n\nTheir messages and summaries are deleted too; this cannot be undone.` },
      "Delete",
    );
    if (ok !== "Delete") {
      return;
    }
    const done = await client.api.cleanSessions({ olderThan: olderThan.trim() });
    void vscode.window.showInformationMessage(`Deleted ${done.count} session${done.count === 1 ? "" : "s"}`);
    sessions.refresh();
  });

  const itemOrPick = async (item: SessionItem | undefined, title: string): Promise<SessionItem | undefined> => {
    if (item instanceof SessionItem) {
      return item;
    }
    const selected = tree.selection[0];
    if (selected) {
      return selected;
    }
    const client = clients.get();
    const { sessions: list } = await client.api.listSessions({ limit: 500 });
    const s = await pickSession(client, list, title);
    return s ? new SessionItem(client, s) : undefined;
  };

  register("atmos.sessions.open", async (item?: SessionItem) => {
    const it = await itemOrPick(item, "Open which session?");
    if (it) {
      await openInChat(it.client, it.session);
    }
  });

  register("atmos.sessions.rename", async (item?: SessionItem) => {
    const it = await itemOrPick(item, "Rename which session?");
    if (!it) {
      return;
    }
    const newName = await vscode.window.showInputBox({
      title: `Rename '${it.session.name}'`,
      prompt: "The new name",
      value: it.session.name,
      valueSelection: [0, it.session.name.length],
      validateInput: (v) => (v.trim() === "" ? "Give a name" : undefined),
    });
    if (newName === undefined || newName.trim() === it.session.name) {
      return;
    }
    await it.client.api.renameSession({ id: it.session.id, newName: newName.trim() });
    sessions.refresh();
  });

  register("atmos.sessions.delete", async (item?: SessionItem) => {
    const it = await itemOrPick(item, "Delete which session?");
    if (!it) {
      return;
    }
    const s = it.session;
    const ok = await vscode.window.showWarningMessage(
      `Delete the session '${s.name}'?`,
      {
        modal: true,
        detail: `${s.messageCount} messages, created ${shortDate(s.createdAt)}. Its messages and summaries are deleted too; this cannot be undone.`,
      },
      "Delete",
    );
    if (ok !== "Delete") {
      return;
    }
    await it.client.api.deleteSession({ id: s.id });
    sessions.refresh();
  });

  /**
   * The session a command acts on: the tree's row it was run on, else the chat's
   * session, else one the user picks.
   */
  const sessionFor = async (
    arg: unknown,
    title: string,
  ): Promise<{ client: AtmosClient; session: Session } | undefined> => {
    if (arg instanceof SessionItem) {
      return { client: arg.client, session: arg.session };
    }
    const current = chat.current;
    if (current) {
      return current;
    }
    const it = await itemOrPick(undefined, title);
    return it ? { client: it.client, session: it.session } : undefined;
  };

  register("atmos.forkSession", async (arg?: SessionItem | { messageId?: string }) => {
    const target = await sessionFor(arg, "Fork which session?");
    if (!target) {
      return;
    }
    const { client, session } = target;
    const at = arg instanceof SessionItem ? undefined : arg?.messageId;
    const newName = await vscode.window.showInputBox({
      title: at ? `Fork '${session.name}' from this message` : `Fork '${session.name}'`,
      prompt: `A name for the new session with the history ${at ? "up to this message" : "so far"} (empty: ${session.name}-fork)`,
      placeHolder: `${session.name}-fork`,
    });
    if (newName === undefined) {
      return;
    }
    const { session: fork } = await client.api.forkSession({
      id: session.id,
      at,
      newName: newName.trim() === "" ? undefined : newName.trim(),
    });
    vscode.window.setStatusBarMessage(`Atmos: forked '${session.name}' as '${fork.name}'`, 5000);
    await openInChat(client, fork);
  });

  register("atmos.uncompactSession", async (arg?: SessionItem | { summaryId?: string }) => {
    const target = await sessionFor(arg, "Uncompact which session?");
    if (!target) {
      return;
    }
    const { client, session } = target;
    const summaryId = arg instanceof SessionItem ? undefined : arg?.summaryId;
    let restored: string[];
    try {
      ({ restored } = await client.api.uncompactSession({ id: session.id, summaryId }));
    } catch (e) {
      if (errorCode(e) === ErrorCodes.InvalidParams) {
        void vscode.window.showInformationMessage(
          `Nothing to uncompact in '${session.name}': it has no live summary (compact it first, or it was undone already)`,
        );
        return;
      }
      throw e;
    }
    void vscode.window.showInformationMessage(
      `Uncompacted '${session.name}': ${restored.length} message${restored.length === 1 ? " is" : "s are"} active again (the summary is kept, archived)`,
    );
    if (chat.current?.client === client && chat.current.session.id === session.id) {
      await chat.reload();
    }
  });

  register("atmos.sessions.setTitle", async (arg?: SessionItem) => {
    const target = await sessionFor(arg, "Set the title of which session?");
    if (!target) {
      return;
    }
    const { client, session } = target;
    const title = await vscode.window.showInputBox({
      title: `Title of '${session.name}'`,
      prompt: "A short title, shown next to the name (empty clears it)",
      value: session.title ?? "",
    });
    if (title === undefined || title.trim() === (session.title ?? "")) {
      return;
    }
    const updated = await client.api.updateSession({ id: session.id, title: title.trim() });
    chat.sessionChanged(client, updated);
    sessions.refresh();
  });

  register("atmos.backupSessions", async () => {
    const client = chat.current?.client ?? clients.get();
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "Atmos: backing up the sessions database…" },
      () => client.api.backup({}),
    );
    void vscode.window
      .showInformationMessage(`Backed up the sessions database to ${result.path} (${formatBytes(result.bytes)})`, "Copy Path")
      .then((picked) => (picked ? vscode.env.clipboard.writeText(result.path) : undefined));
  });

  register("atmos.sessions.export", async (item?: SessionItem) => {
    const it = await itemOrPick(item, "Export which session?");
    if (!it) {
      return;
    }
    const formats: { label: ExportFormat; description: string; language: string }[] = [
      { label: "markdown", description: "for reading and sharing", language: "markdown" },
      { label: "json", description: "lossless: can be imported again", language: "json" },
      { label: "yaml", description: "lossless: can be imported again", language: "yaml" },
    ];
    const format = await vscode.window.showQuickPick(formats, { title: `Export '${it.session.name}' as` });
    if (!format) {
      return;
    }
    const { content } = await it.client.api.exportSession({ id: it.session.id, format: format.label });
    const doc = await vscode.workspace.openTextDocument({ content, language: format.language });
    await vscode.window.showTextDocument(doc, { preview: false });
  });

  output.appendLine("[atmos] extension activated");
}

/** 1536 → "1.5 KB". */
function formatBytes(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} bytes`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** Stops the servers (`shutdown`, `exit`), waiting for them. */
export function deactivate(): Promise<void> | undefined {
  const m = manager;
  manager = undefined;
  return m?.dispose();
}

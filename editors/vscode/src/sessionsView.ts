/**
 * The Sessions view (`atmos.sessions`): the sessions of the active folder's
 * project, newest first, refreshed on `atmos/sessions/changed`.
 */
import * as vscode from "vscode";
import type { AtmosClient, ClientManager } from "./client";
import { formatCost, pricingOf, sessionUsage } from "./cost";
import { describeError, SESSIONS_ENABLED_YAML, errorCode } from "./errorInfo";
import { ErrorCodes, type ListedSession, type Pricing, type ProviderInfo } from "./protocol";

/** `2026-11-24T09:30:00Z` → a short local date and time. */
export function shortDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return iso;
  }
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * A tree row's description: the title first (it says what the session is about),
 * then where it was forked from, the provider, messages and creation date.
 */
export function sessionDescription(s: ListedSession): string {
  const msgs = s.messageCount === 1 ? "1 msg" : `${s.messageCount} msgs`;
  return [
    s.title,
    s.forkedFrom ? `forked from ${s.forkedFrom.name}` : undefined,
    s.provider,
    msgs,
    new Date(s.createdAt).toLocaleDateString(),
  ]
    .filter((part) => part !== undefined && part !== "")
    .join(" · ");
}

/** One session in the tree. */
export class SessionItem extends vscode.TreeItem {
  constructor(
    readonly client: AtmosClient,
    readonly session: ListedSession,
    pricing?: Pricing,
  ) {
    super(session.name, vscode.TreeItemCollapsibleState.None);
    const s = session;
    this.id = `${client.folder?.uri.toString() ?? ""}#${s.id}`;
    this.description = sessionDescription(s);
    const tip = new vscode.MarkdownString(undefined, false);
    tip.appendMarkdown(`**${escapeMd(s.name)}**${s.title ? ` — ${escapeMd(s.title)}` : ""}\n\n`);
    if (s.forkedFrom) {
      tip.appendMarkdown(
        `- Forked from: ${escapeMd(s.forkedFrom.name)}${s.forkedFrom.at ? ` (at message ${escapeMd(s.forkedFrom.at)})` : ""}\n`,
      );
    }
    tip.appendMarkdown(`- Provider: ${escapeMd(s.provider)} (${escapeMd(s.model)})\n`);
    tip.appendMarkdown(`- Skill: ${escapeMd(s.skill)}\n`);
    tip.appendMarkdown(`- Created: ${escapeMd(shortDate(s.createdAt))}\n`);
    tip.appendMarkdown(`- Updated: ${escapeMd(shortDate(s.updatedAt))}\n`);
    tip.appendMarkdown(
      `- Messages: ${s.messageCount}${s.archivedCount > 0 ? ` (${s.archivedCount} archived, ${s.summaryCount} summaries)` : ""}\n`,
    );
    const usage = sessionUsage(s, pricing);
    tip.appendMarkdown(
      `- Tokens: ${usage.inputTokens.toLocaleString("en-US")} in, ${usage.outputTokens.toLocaleString("en-US")} out\n`,
    );
    if (usage.cost !== undefined) {
      tip.appendMarkdown(`- Estimated cost: ${escapeMd(formatCost(usage.cost))}\n`);
    }
    if (s.snippet) {
      tip.appendMarkdown(`\n> ${escapeMd(s.snippet)}\n`);
    }
    this.tooltip = tip;
    this.iconPath = new vscode.ThemeIcon("comment-discussion");
    this.contextValue = "atmosSession";
    this.command = { command: "atmos.sessions.open", title: "Open", arguments: [this] };
  }
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}

export class SessionsProvider implements vscode.TreeDataProvider<SessionItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SessionItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private view?: vscode.TreeView<SessionItem>;
  private timer?: NodeJS.Timeout;
  private folderKey?: string;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly clients: ClientManager) {
    this.disposables.push(
      clients.onSessionsChanged(() => this.refreshSoon()),
      clients.onRestarted(() => this.refresh()),
      vscode.window.onDidChangeActiveTextEditor(() => {
        const key = clients.activeFolder()?.uri.toString() ?? "";
        if (key !== this.folderKey) {
          this.refresh();
        }
      }),
    );
  }

  attach(view: vscode.TreeView<SessionItem>): void {
    this.view = view;
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  /** Coalesces the bursts of notifications (clean, eviction) into one refresh. */
  private refreshSoon(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh();
    }, 150);
  }

  getTreeItem(item: SessionItem): vscode.TreeItem {
    return item;
  }

  async getChildren(parent?: SessionItem): Promise<SessionItem[]> {
    if (parent) {
      return [];
    }
    const folder = this.clients.activeFolder();
    this.folderKey = folder?.uri.toString() ?? "";
    try {
      const client = this.clients.get(folder);
      const [{ sessions, total }, providers] = await Promise.all([
        client.api.listSessions({ limit: 500 }),
        // Only for the cost in the tooltips: the list shows without it.
        client.api.providers().then(
          (r): ProviderInfo[] => r.providers,
          (): ProviderInfo[] => [],
        ),
      ]);
      this.setMessage(
        total > sessions.length ? `Showing the newest ${sessions.length} of ${total} sessions` : undefined,
      );
      if (this.view) {
        this.view.description = (vscode.workspace.workspaceFolders?.length ?? 0) > 1 ? client.label : undefined;
      }
      return sessions.map((s) => new SessionItem(client, s, pricingOf(providers, s.provider)));
    } catch (e) {
      const info = describeError(e);
      this.clients.output.appendLine(`[atmos] listing sessions: ${info.message}`);
      this.setMessage(
        errorCode(e) === ErrorCodes.SessionsDisabled
          ? `Sessions are disabled in atmos.yaml; enable them with ${SESSIONS_ENABLED_YAML.replace(/\n\s*/g, " ")}`
          : info.message,
      );
      return [];
    }
  }

  private setMessage(message: string | undefined): void {
    if (this.view) {
      this.view.message = message;
    }
  }

  dispose(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    for (const d of this.disposables) {
      d.dispose();
    }
    this.changed.dispose();
  }
}

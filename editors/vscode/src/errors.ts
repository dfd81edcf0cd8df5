/**
 * Shows failures as VS Code notifications, with the server's message and the
 * action that fits (open atmos.yaml, show the output, open the settings).
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { Actions, describeError, SESSIONS_ENABLED_YAML, type ActionId, type ErrorInfo } from "./errorInfo";
import type { ClientManager } from "./client";

export class ErrorReporter {
  constructor(
    private readonly output: vscode.OutputChannel,
    private readonly clients: () => ClientManager,
  ) {}

  /** Reports `e` (unless it is a cancellation) and returns what was shown. */
  report(e: unknown, what?: string): ErrorInfo {
    const info = describeError(e);
    if (info.cancelled) {
      return info;
    }
    this.output.appendLine(`[atmos] ${what ? `${what}: ` : ""}${info.message}${info.code !== undefined ? ` (${info.code})` : ""}`);
    const buttons = info.actions.map((a) => Actions[a]);
    void vscode.window.showErrorMessage(info.message, ...buttons).then((chosen) => {
      const action = (Object.keys(Actions) as ActionId[]).find((k) => Actions[k] === chosen);
      if (action) {
        void this.run(action);
      }
    });
    return info;
  }

  async run(action: ActionId): Promise<void> {
    switch (action) {
      case "showOutput":
        this.output.show(true);
        return;
      case "openSettings":
        await vscode.commands.executeCommand("workbench.action.openSettings", "atmos.path");
        return;
      case "copyYaml":
        await vscode.env.clipboard.writeText(`${SESSIONS_ENABLED_YAML}\n`);
        void vscode.window.showInformationMessage("Copied; paste it into atmos.yaml");
        return;
      case "openConfig":
        await this.openConfig();
        return;
    }
  }

  /** Opens the project's atmos.yaml: the server says where it is; else the folder's. */
  private async openConfig(): Promise<void> {
    let file: string | undefined;
    try {
      const status = await this.clients().get().api.status();
      file = status.configPath ?? path.join(status.projectRoot, "atmos.yaml");
    } catch {
      const folder = this.clients().activeFolder();
      file = folder ? path.join(folder.uri.fsPath, "atmos.yaml") : undefined;
    }
    if (!file) {
      void vscode.window.showWarningMessage("Open a folder with an atmos.yaml first");
      return;
    }
    const uri = vscode.Uri.file(file);
    try {
      await vscode.window.showTextDocument(uri);
    } catch {
      // Not there yet: open an untitled editor for it.
      await vscode.window.showTextDocument(uri.with({ scheme: "untitled" }));
    }
  }
}

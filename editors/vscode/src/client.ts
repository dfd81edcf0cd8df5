/**
 * The language clients: one `atmos ai serve` per workspace folder, started on
 * first use with `vscode-languageclient` (stdio), its stderr in the "Atmos"
 * output channel. The rest of the extension talks to the server through
 * `AtmosApi` (one function per method) and the events of `ClientManager`.
 */
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import { AtmosApi } from "./api";
import { resolveBinary } from "./binary";
import {
  ChatDelta,
  CompactStatus,
  SessionsChanged,
  SessionUpdated,
  type AtmosInitializationOptions,
  type ChatDeltaParams,
  type CompactStatusParams,
  type SessionsChangedParams,
  type SessionUpdatedParams,
} from "./protocol";

/** A notification, with the client (project) it came from. */
export interface FromClient<T> {
  client: AtmosClient;
  params: T;
}

interface Emitters {
  changed: vscode.EventEmitter<FromClient<SessionsChangedParams>>;
  delta: vscode.EventEmitter<FromClient<ChatDeltaParams>>;
  compact: vscode.EventEmitter<FromClient<CompactStatusParams>>;
  updated: vscode.EventEmitter<FromClient<SessionUpdatedParams>>;
  /** A server started again after it had stopped (its subscriptions are gone). */
  restartedServer: vscode.EventEmitter<AtmosClient>;
}

function expand(value: string, folder: vscode.WorkspaceFolder | undefined): string {
  let v = value.trim();
  if (folder) {
    v = v.replace(/\$\{workspaceFolder\}/g, folder.uri.fsPath);
  }
  if (v === "~" || v.startsWith("~/")) {
    v = path.join(os.homedir(), v.slice(1));
  }
  return v;
}

/** One `atmos ai serve` for one workspace folder (or none). */
export class AtmosClient implements vscode.Disposable {
  readonly api: AtmosApi;
  private readonly client: LanguageClient;
  private starting?: Promise<void>;
  private disposed = false;

  constructor(
    readonly folder: vscode.WorkspaceFolder | undefined,
    private readonly output: vscode.OutputChannel,
    emitters: Emitters,
  ) {
    const config = vscode.workspace.getConfiguration("atmos", folder?.uri);
    const cwd = folder?.uri.fsPath ?? os.homedir();
    const command = resolveBinary(expand(config.get<string>("path", "atmos"), folder), cwd);
    const configPath = expand(config.get<string>("configPath", ""), folder);

    const serverOptions: ServerOptions = {
      command,
      args: ["ai", "serve"],
      options: { cwd },
    };
    const initializationOptions: AtmosInitializationOptions = {
      configPath: configPath === "" ? undefined : configPath,
      clientName: "vscode",
    };
    const clientOptions: LanguageClientOptions = {
      // Not a language server for documents: no document is synced.
      documentSelector: [],
      workspaceFolder: folder,
      outputChannel: output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions,
      initializationFailedHandler: (error) => {
        this.output.appendLine(`[atmos] initialize failed: ${String(error)}`);
        return false;
      },
      errorHandler: {
        error: (_error, _message, count) => ({
          action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
          handled: true,
        }),
        closed: () => {
          if (!this.disposed) {
            this.output.appendLine("[atmos] the server stopped; it starts again with the next request");
          }
          this.starting = undefined;
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
    const label = folder ? `Atmos (${folder.name})` : "Atmos";
    this.client = new LanguageClient("atmos", label, serverOptions, clientOptions);
    this.client.onNotification(SessionsChanged, (params) => emitters.changed.fire({ client: this, params }));
    this.client.onNotification(ChatDelta, (params) => emitters.delta.fire({ client: this, params }));
    this.client.onNotification(CompactStatus, (params) => emitters.compact.fire({ client: this, params }));
    this.client.onNotification(SessionUpdated, (params) => emitters.updated.fire({ client: this, params }));
    let startedBefore = false;
    this.client.onDidChangeState(({ newState }) => {
      if (newState === State.Running) {
        if (startedBefore && !this.disposed) {
          emitters.restartedServer.fire(this);
        }
        startedBefore = true;
      }
    });

    this.api = new AtmosApi(async (type, params, token) => {
      await this.start();
      return this.client.sendRequest(type, params, token);
    });
    this.output.appendLine(`[atmos] ${command} ai serve (in ${cwd}${configPath ? `, config ${configPath}` : ""})`);
  }

  /** Stopped for good (settings changed, folder removed): a new client replaces it. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** A name for messages: the folder's. */
  get label(): string {
    return this.folder?.name ?? "no folder";
  }

  /** Starts the server once (again after it stopped). */
  start(): Promise<void> {
    if (this.disposed) {
      return Promise.reject(new Error("the Atmos client was stopped"));
    }
    if (this.client.state === State.Running) {
      return Promise.resolve();
    }
    if (!this.starting) {
      this.starting = this.client.start().catch((e: unknown) => {
        this.starting = undefined;
        throw new Error(
          `atmos ai serve did not start: ${e instanceof Error ? e.message : String(e)}; see the Atmos output`,
        );
      });
    }
    return this.starting;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.client.state !== State.Stopped) {
      try {
        await this.client.stop(2000);
      } catch (e) {
        this.output.appendLine(`[atmos] stopping the server: ${String(e)}`);
      }
    }
  }
}

/** The clients of the open folders, made on demand, restarted when the settings change. */
export class ClientManager implements vscode.Disposable {
  private readonly clients = new Map<string, AtmosClient>();
  private readonly emitters: Emitters = {
    changed: new vscode.EventEmitter(),
    delta: new vscode.EventEmitter(),
    compact: new vscode.EventEmitter(),
    updated: new vscode.EventEmitter(),
    restartedServer: new vscode.EventEmitter(),
  };
  private readonly restarted = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [];

  readonly onSessionsChanged = this.emitters.changed.event;
  readonly onChatDelta = this.emitters.delta.event;
  readonly onCompactStatus = this.emitters.compact.event;
  /** Another process changed a session this client subscribed to (`atmos/session/updated`). */
  readonly onSessionUpdated = this.emitters.updated.event;
  /** One client's server started again after it stopped: subscribe again. */
  readonly onServerRestarted = this.emitters.restartedServer.event;
  /** The clients were thrown away (new settings, folders changed). */
  readonly onRestarted = this.restarted.event;

  constructor(readonly output: vscode.OutputChannel) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("atmos.path") || e.affectsConfiguration("atmos.configPath")) {
          this.output.appendLine("[atmos] settings changed: restarting the servers");
          void this.reset();
        }
      }),
      vscode.workspace.onDidChangeWorkspaceFolders((e) => {
        for (const f of e.removed) {
          const c = this.clients.get(f.uri.toString());
          this.clients.delete(f.uri.toString());
          void c?.dispose();
        }
        if (e.removed.length > 0) {
          this.restarted.fire();
        }
      }),
    );
  }

  /** The folder the user works in: the active editor's, else the first. */
  activeFolder(): vscode.WorkspaceFolder | undefined {
    const uri = vscode.window.activeTextEditor?.document.uri;
    const folder = uri ? vscode.workspace.getWorkspaceFolder(uri) : undefined;
    return folder ?? vscode.workspace.workspaceFolders?.[0];
  }

  /** The client of a folder (the active one by default). Throws `BinaryMissingError`. */
  get(folder: vscode.WorkspaceFolder | undefined = this.activeFolder()): AtmosClient {
    const key = folder?.uri.toString() ?? "";
    let client = this.clients.get(key);
    if (!client) {
      client = new AtmosClient(folder, this.output, this.emitters);
      this.clients.set(key, client);
    }
    return client;
  }

  private async reset(): Promise<void> {
    const old = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(old.map((c) => c.dispose()));
    this.restarted.fire();
  }

  async dispose(): Promise<void> {
    for (const d of this.disposables) {
      d.dispose();
    }
    await Promise.all([...this.clients.values()].map((c) => c.dispose()));
    this.clients.clear();
    this.emitters.changed.dispose();
    this.emitters.delta.dispose();
    this.emitters.compact.dispose();
    this.emitters.updated.dispose();
    this.emitters.restartedServer.dispose();
    this.restarted.dispose();
  }
}

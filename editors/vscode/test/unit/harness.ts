/**
 * The real server for the protocol tests: the fake provider, a temp project
 * whose atmos.yaml points at it, and `$ATMOS_BIN ai serve` connected with
 * `vscode-jsonrpc` over the child's stdio. No VS Code.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { pathToFileURL } from "node:url";
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from "vscode-jsonrpc/node";
import { AtmosApi } from "../../src/api";
import type { AtmosCapabilities } from "../../src/protocol";

/** The repository root: this file runs from editors/vscode/out/unit/. */
const REPO = path.resolve(__dirname, "..", "..", "..", "..");

export const ATMOS_BIN = process.env.ATMOS_BIN ?? path.join(REPO, "target", "debug", "atmos");
export const FAKE_PROVIDER_BIN = process.env.FAKE_PROVIDER_BIN ?? path.join(REPO, "target", "debug", "fake-provider");

function requireBinary(file: string, variable: string): void {
  if (!fs.existsSync(file)) {
    throw new Error(`${file} does not exist: build it (cargo build) or set ${variable}`);
  }
}

export interface FakeRequest {
  method: string;
  path: string;
  body: { messages?: { role: string; content: unknown }[] } & Record<string, unknown>;
}

export class FakeProvider {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(): Promise<FakeProvider> {
    requireBinary(FAKE_PROVIDER_BIN, "FAKE_PROVIDER_BIN");
    const child = spawn(FAKE_PROVIDER_BIN, [], { stdio: ["ignore", "pipe", "inherit"] });
    const lines = readline.createInterface({ input: child.stdout! });
    const [first] = (await Promise.race([
      once(lines, "line"),
      once(child, "exit").then(() => {
        throw new Error("fake-provider exited before printing its URL");
      }),
    ])) as [string];
    lines.close();
    child.stdout!.resume();
    return new FakeProvider(first.trim(), child);
  }

  private async call(method: "GET" | "POST", route: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url}${route}`, {
      method,
      headers: body === undefined ? undefined : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) {
      throw new Error(`${method} ${route}: HTTP ${res.status}`);
    }
    const text = await res.text();
    return text === "" ? undefined : (JSON.parse(text) as unknown);
  }

  requests(): Promise<FakeRequest[]> {
    return this.call("GET", "/__fake/requests") as Promise<FakeRequest[]>;
  }

  async reply(deltas: string[], delayMs = 0): Promise<void> {
    await this.call("POST", "/__fake/reply", { deltas, delayMs });
  }

  async reset(): Promise<void> {
    await this.call("POST", "/__fake/reset");
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, "exit");
      this.child.kill("SIGTERM");
      await exited;
    }
  }
}

export interface ServerOptions {
  /** Extra YAML under `ai.sessions` (indented four spaces). */
  sessionsYaml?: string;
  /** `ai.sessions.enabled`. */
  sessionsEnabled?: boolean;
  /** Extra YAML under `ai.providers.anthropic` (indented six spaces), e.g. its `pricing`. */
  providerYaml?: string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A project with an atmos.yaml pointing at the fake, and `atmos ai serve` in it. */
export class Server {
  readonly api: AtmosApi;
  stderr = "";
  capabilities?: AtmosCapabilities;

  private constructor(
    readonly dir: string,
    readonly child: ChildProcess,
    readonly connection: MessageConnection,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.api = new AtmosApi((type, params, token) => connection.sendRequest(type, params, token));
  }

  static async start(fake: FakeProvider, options: ServerOptions = {}): Promise<Server> {
    requireBinary(ATMOS_BIN, "ATMOS_BIN");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atmos-vscode-unit-"));
    const yaml = [
      "ai:",
      "  default_provider: anthropic",
      "  providers:",
      "    anthropic:",
      `      base_url: ${fake.url}`,
      options.providerYaml ?? "",
      "  sessions:",
      `    enabled: ${options.sessionsEnabled ?? true}`,
      options.sessionsYaml ?? "",
      "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "atmos.yaml"), yaml);
    const env: NodeJS.ProcessEnv = { ...process.env, ANTHROPIC_API_KEY: "test-key" };
    // Other providers stay unconfigured, whatever this machine has.
    delete env.OPENAI_API_KEY;
    delete env.ATMOS_CLI_CONFIG_PATH;
    const child = spawn(ATMOS_BIN, ["ai", "serve"], { cwd: dir, env, stdio: ["pipe", "pipe", "pipe"] });
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout!),
      new StreamMessageWriter(child.stdin!),
    );
    const server = new Server(dir, child, connection, env);
    child.stderr!.on("data", (d: Buffer) => {
      server.stderr += d.toString();
    });
    connection.listen();
    const result = await connection.sendRequest<{
      capabilities: { experimental: { atmos: AtmosCapabilities } };
      serverInfo: { name: string; version: string };
    }>("initialize", {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      capabilities: {},
      initializationOptions: { clientName: "vscode-unit-tests" },
    });
    server.capabilities = result.capabilities.experimental.atmos;
    await connection.sendNotification("initialized", {});
    return server;
  }

  /**
   * Runs `$ATMOS_BIN ARGS…` in the project as another process would (the terminal:
   * `atmos ai ask --session NAME …`), with the server's environment.
   */
  run(args: string[], timeoutMs = 20000): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(ATMOS_BIN, args, { cwd: this.dir, env: this.env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`atmos ${args.join(" ")} took more than ${timeoutMs} ms`));
      }, timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** `shutdown`, `exit`, then waits for the process and removes the project. */
  async stop(): Promise<void> {
    try {
      if (this.child.exitCode === null) {
        const exited = once(this.child, "exit");
        await this.connection.sendRequest("shutdown");
        await this.connection.sendNotification("exit");
        const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
    } finally {
      this.connection.dispose();
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Resolves when `check` holds, polling; fails after `ms`. */
export async function waitFor(check: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

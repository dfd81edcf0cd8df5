/**
 * One function per method of the editor protocol, over anything that can send
 * a typed request: the extension's `LanguageClient`, or a plain
 * `MessageConnection` in the Node unit tests. No VS Code import here.
 */
import type { CancellationToken, RequestType } from "vscode-jsonrpc";
import * as p from "./protocol";

/** Sends one request; `token` cancels it (`$/cancelRequest`). */
export type Send = <P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken) => Promise<R>;

export class AtmosApi {
  constructor(private readonly send: Send) {}

  createSession(params: p.CreateParams = {}): Promise<p.CreateResult> {
    return this.send(p.SessionCreate, params);
  }

  resumeSession(params: p.ResumeParams): Promise<p.ResumeResult> {
    return this.send(p.SessionResume, params);
  }

  messages(params: p.MessagesParams): Promise<p.MessagesResult> {
    return this.send(p.SessionMessages, params);
  }

  /**
   * The whole transcript of a session, summaries and archived messages
   * included, oldest first: every page of `atmos/session/messages`.
   */
  async transcript(target: p.Target, pageSize = 200): Promise<p.Message[]> {
    let all: p.Message[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await this.messages({
        ...target,
        before,
        limit: pageSize,
        includeArchived: true,
        includeSummaries: true,
      });
      all = page.messages.concat(all);
      before = page.messages[0]?.id;
      if (!page.hasMore || before === undefined) {
        return all;
      }
    }
  }

  listSessions(params: p.ListParams = {}): Promise<p.ListResult> {
    return this.send(p.SessionList, params);
  }

  renameSession(params: p.RenameParams): Promise<p.Session> {
    return this.send(p.SessionRename, params);
  }

  updateSession(params: p.UpdateParams): Promise<p.Session> {
    return this.send(p.SessionUpdate, params);
  }

  deleteSession(params: p.DeleteParams): Promise<p.DeleteResult> {
    return this.send(p.SessionDelete, params);
  }

  cleanSessions(params: p.CleanParams): Promise<p.CleanResult> {
    return this.send(p.SessionClean, params);
  }

  exportSession(params: p.ExportParams): Promise<p.ExportResult> {
    return this.send(p.SessionExport, params);
  }

  importSession(params: p.ImportParams): Promise<p.CreateResult> {
    return this.send(p.SessionImport, params);
  }

  compactSession(params: p.CompactParams): Promise<p.CompactionResult> {
    return this.send(p.SessionCompact, params);
  }

  /** A new session with the history up to and including message `at` (default the newest). */
  forkSession(params: p.ForkParams): Promise<p.CreateResult> {
    return this.send(p.SessionFork, params);
  }

  /** Undoes a compaction: what the summary replaced is active again. */
  uncompactSession(params: p.UncompactParams): Promise<p.UncompactResult> {
    return this.send(p.SessionUncompact, params);
  }

  /** Pins (or unpins, with `pinned: false`) a message. */
  pinMessage(params: p.PinParams): Promise<p.PinResult> {
    return this.send(p.SessionPin, params);
  }

  /** Follows a session: then `atmos/session/updated` reports other processes' changes to it. */
  subscribe(params: p.SubscribeParams): Promise<p.SubscribeResult> {
    return this.send(p.SessionSubscribe, params);
  }

  unsubscribe(params: p.UnsubscribeParams): Promise<p.UnsubscribeResult> {
    return this.send(p.SessionUnsubscribe, params);
  }

  /** An online backup of the sessions database. */
  backup(params: p.BackupParams = {}): Promise<p.BackupResult> {
    return this.send(p.Backup, params);
  }

  /** One turn; the reply streams as `atmos/chat/delta` carrying `params.token`. */
  chat(params: p.ChatParams, token?: CancellationToken): Promise<p.ChatResult> {
    return this.send(p.Chat, params, token);
  }

  providers(): Promise<p.ProvidersResult> {
    return this.send(p.ProvidersList, {});
  }

  skills(): Promise<p.SkillsResult> {
    return this.send(p.SkillsList, {});
  }

  status(): Promise<p.StatusResult> {
    return this.send(p.Status, {});
  }
}

/**
 * The editor protocol of `atmos ai serve`, typed for TypeScript.
 *
 * This file mirrors `docs/protocol.schema.json`, the JSON Schema generated
 * from the protocol's one declaration in `server/protocol` (method and
 * notification names, params and results), with `docs/protocol.md` as the
 * prose (the wire contract, with examples captured from the real server).
 * Error codes and `data` follow `server/rpc/src/errors.rs`, which the schema
 * does not cover. `test/unit/protocolSchema.test.ts` checks this file against
 * the schema (names, properties, optionality, loosely types, enums), so a
 * change to the protocol that is not made here too fails the unit tests.
 *
 * It imports only from `vscode-jsonrpc`, never from `vscode`, so the Node unit
 * tests use the same types against the real binary without VS Code.
 */
import { NotificationType, RequestType } from "vscode-jsonrpc";

/** The protocol version this client was written against (`capabilities.experimental.atmos.protocolVersion`). */
export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------
// Objects

/** A session as the server describes it. Times are RFC 3339 in UTC. */
export interface Session {
  id: string;
  name: string;
  provider: string;
  model: string;
  skill: string;
  createdAt: string;
  updatedAt: string;
  /** Every stored user and assistant message, archived ones included. */
  messageCount: number;
  /** The messages folded into summaries. */
  archivedCount: number;
  summaryCount: number;
  metadata: Record<string, unknown>;
  /** For a fork: the origin's name when it was forked, and the message id it was forked at. */
  forkedFrom?: ForkedFrom;
  /** Tokens its turns sent and received (reported, or estimated). */
  inputTokens?: number;
  outputTokens?: number;
  /**
   * A short title (the first line of the first question, an AI title, or set by the
   * user); absent until the first exchange. Shown next to the name, never instead of it.
   */
  title?: string;
}

export interface ForkedFrom {
  name: string;
  at?: string;
}

/** A session in an `atmos/session/list` result: with `snippet` when matched by its text. */
export interface ListedSession extends Session {
  snippet?: string;
}

export type Role = "user" | "assistant" | "system";

/** The first and last message a summary replaces (message ids). */
export interface SummaryRange {
  from: string;
  to: string;
}

export interface Message {
  id: string;
  role: Role;
  content: string;
  createdAt: string;
  archived: boolean;
  isSummary: boolean;
  interrupted: boolean;
  summaryRange?: SummaryRange;
  /** Present (and true) only on a pinned message: never compacted, always sent. */
  pinned?: boolean;
}

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type ContextKind = "file" | "selection" | "text";

/** What the editor attaches to a turn: the open file, a selection, some text. */
export interface ContextRef {
  kind: ContextKind;
  uri?: string;
  range?: Range;
  text: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** True when the provider did not report the figures. */
  estimated: boolean;
}

export interface CompactionResult {
  compacted: boolean;
  summary?: Message;
  archivedIds: string[];
  tokensBefore: number;
  tokensAfter: number;
  usedAi: boolean;
  fallbackReason?: string;
}

/** A method that targets one session takes exactly one of `name` and `id`. */
export type Target = { name: string; id?: undefined } | { id: string; name?: undefined };

export type ExportFormat = "json" | "yaml" | "markdown";

// ---------------------------------------------------------------------------
// initialize

export interface AtmosInitializationOptions {
  /** An `atmos.yaml` (or a folder holding one), relative to the root. */
  configPath?: string;
  /** Only logged by the server. */
  clientName?: string;
}

export interface AtmosCapabilities {
  methods: string[];
  notifications: string[];
  protocolVersion: number;
}

// ---------------------------------------------------------------------------
// Requests: params and results

export interface CreateParams {
  name?: string | null;
  provider?: string;
  model?: string;
  skill?: string;
  metadata?: Record<string, unknown>;
}
export interface CreateResult {
  session: Session;
  /** Sessions deleted because the project went past `ai.sessions.max_sessions`. */
  evicted: string[];
}

export type ResumeParams = Target & {
  createIfMissing?: boolean;
  provider?: string;
  model?: string;
  skill?: string;
  limit?: number;
};
export interface ResumeResult {
  session: Session;
  /** The history as the model sees it: summaries first, then the unarchived messages. */
  messages: Message[];
  created: boolean;
  evicted: string[];
}

export type MessagesParams = Target & {
  /** A message id: the page just older than it. */
  before?: string;
  /** Default 100. */
  limit?: number;
  /** Default true. */
  includeArchived?: boolean;
  /** Default false. */
  includeSummaries?: boolean;
};
export interface MessagesResult {
  /** One page, oldest first. */
  messages: Message[];
  /** Older messages exist. */
  hasMore: boolean;
}

export interface ListParams {
  provider?: string;
  limit?: number;
  offset?: number;
  /** Matches names and message text, ignoring case. */
  query?: string;
}
export interface ListResult {
  /** Most recently updated first. */
  sessions: ListedSession[];
  total: number;
}

export type RenameParams = Target & { newName: string };
/** Fork at message `at` (default the newest), as `newName` (default `NAME-fork`). */
export type ForkParams = Target & { at?: string; newName?: string };

export type UpdateParams = Target & {
  /** The session's title; `""` clears it. */
  title?: string;
  skill?: string;
  provider?: string;
  model?: string;
  metadata?: Record<string, unknown>;
};

export type DeleteParams = Target;
export interface DeleteResult {
  deleted: true;
}

export interface CleanParams {
  /** A whole number and one unit of h, d, w or m (30-day months), as in `30d`. */
  olderThan: string;
  dryRun?: boolean;
}
export interface CleanResult {
  /** The names deleted (or, with `dryRun`, that would be). */
  deleted: string[];
  count: number;
}

export type ExportParams = Target & { format: ExportFormat };
export interface ExportResult {
  content: string;
}

export interface ImportParams {
  content: string;
  format?: "json" | "yaml";
  name?: string;
}

export type CompactParams = Target;

export type ChatParams = Target & {
  message: string;
  context?: ContextRef[];
  /** Default true: the reply streams as `atmos/chat/delta`. */
  stream?: boolean;
  /** Echoed in each delta so a client can tell its turns apart. */
  token?: string | number;
  /** Ask the session's last question again (`message` ignored); its reply is archived. */
  retry?: boolean;
};
export interface ChatResult {
  sessionId: string;
  reply: Message;
  usage: Usage;
  compaction?: CompactionResult;
  /** Secrets masked in the message before it was stored or sent (ai.sessions.redact). */
  redacted?: number;
}

export interface ProviderInfo {
  name: string;
  model: string;
  /** False, with a `reason`, when the provider's key variable is unset. */
  configured: boolean;
  reason?: string;
  /** Prices per million tokens, when atmos.yaml gives them. */
  pricing?: Pricing;
}
export interface Pricing {
  input: number;
  output: number;
}
export interface ProvidersResult {
  default: string;
  providers: ProviderInfo[];
}

export interface SkillInfo {
  name: string;
  displayName: string;
  description: string;
}
export interface SkillsResult {
  default: string;
  skills: SkillInfo[];
}

/** Pin (or, with `pinned: false`, unpin) one message; pinning an archived message makes it active again. */
export type PinParams = Target & {
  messageId: string;
  /** Default true. */
  pinned?: boolean;
};
export interface PinResult {
  session: Session;
  message: Message;
}

/**
 * Follow a session: `atmos/session/updated` then reports what other processes change in
 * it. `after` is the newest message id the client shows; anything newer comes at once.
 */
export type SubscribeParams = Target & { after?: string };
export interface SubscribeResult {
  session: Session;
  /** Another process holds the session's turn (a reply is streaming there). */
  replyingElsewhere: boolean;
}

export type UnsubscribeParams = Target;
export interface UnsubscribeResult {
  unsubscribed: boolean;
}

/** An online backup of the whole sessions database, to `path` (default `.atmos/sessions/sessions.db.backup`). */
export interface BackupParams {
  path?: string;
}
export interface BackupResult {
  /** Where the copy was written. */
  path: string;
  bytes: number;
}

export interface StatusResult {
  projectRoot: string;
  configPath: string | null;
  databasePath: string;
  sessionsEnabled: boolean;
  sessionCount: number;
  schemaVersion: number;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type NoParams = {};

// ---------------------------------------------------------------------------
// Requests

export const SessionCreate = new RequestType<CreateParams, CreateResult, void>("atmos/session/create");
export const SessionResume = new RequestType<ResumeParams, ResumeResult, void>("atmos/session/resume");
export const SessionMessages = new RequestType<MessagesParams, MessagesResult, void>("atmos/session/messages");
export const SessionList = new RequestType<ListParams, ListResult, void>("atmos/session/list");
export const SessionRename = new RequestType<RenameParams, Session, void>("atmos/session/rename");
export const SessionFork = new RequestType<ForkParams, CreateResult, void>("atmos/session/fork");
/** Undo a compaction: what summary `summaryId` (default the live one) replaced is active again. */
export type UncompactParams = Target & { summaryId?: string };
export interface UncompactResult {
  session: Session;
  /** Ids of the messages active again, oldest first. */
  restored: string[];
}
export const SessionUncompact = new RequestType<UncompactParams, UncompactResult, void>(
  "atmos/session/uncompact",
);
export const SessionUpdate = new RequestType<UpdateParams, Session, void>("atmos/session/update");
export const SessionDelete = new RequestType<DeleteParams, DeleteResult, void>("atmos/session/delete");
export const SessionClean = new RequestType<CleanParams, CleanResult, void>("atmos/session/clean");
export const SessionExport = new RequestType<ExportParams, ExportResult, void>("atmos/session/export");
export const SessionImport = new RequestType<ImportParams, CreateResult, void>("atmos/session/import");
export const SessionCompact = new RequestType<CompactParams, CompactionResult, void>("atmos/session/compact");
export const Chat = new RequestType<ChatParams, ChatResult, void>("atmos/chat");
export const ProvidersList = new RequestType<NoParams, ProvidersResult, void>("atmos/providers/list");
export const SkillsList = new RequestType<NoParams, SkillsResult, void>("atmos/skills/list");
export const Status = new RequestType<NoParams, StatusResult, void>("atmos/status");
export const SessionPin = new RequestType<PinParams, PinResult, void>("atmos/session/pin");
export const SessionSubscribe = new RequestType<SubscribeParams, SubscribeResult, void>("atmos/session/subscribe");
export const SessionUnsubscribe = new RequestType<UnsubscribeParams, UnsubscribeResult, void>(
  "atmos/session/unsubscribe",
);
export const Backup = new RequestType<BackupParams, BackupResult, void>("atmos/backup");

/** Every request method, as the server lists them in `capabilities.experimental.atmos.methods`. */
export const METHODS: readonly string[] = [
  SessionCreate,
  SessionResume,
  SessionMessages,
  SessionList,
  SessionRename,
  SessionFork,
  SessionUpdate,
  SessionDelete,
  SessionClean,
  SessionExport,
  SessionImport,
  SessionUncompact,
  SessionCompact,
  Chat,
  ProvidersList,
  SkillsList,
  Status,
  SessionPin,
  SessionSubscribe,
  SessionUnsubscribe,
  Backup,
].map((t) => t.method);

// ---------------------------------------------------------------------------
// Notifications (server → client)

export interface ChatDeltaParams {
  sessionId: string;
  token?: string | number;
  /** 0, 1, 2, … in order. */
  index: number;
  text: string;
}

export type CompactStage = "starting" | "summarizing" | "completed" | "failed";
export interface CompactStatusParams {
  sessionId: string;
  stage: CompactStage;
  messageCount: number;
  estimatedSavings: number;
  error?: string;
}

export type SessionsChangedReason =
  | "chat"
  | "created"
  | "renamed"
  | "deleted"
  | "updated"
  | "cleaned"
  | "imported"
  | "evicted";
export interface SessionsChangedParams {
  reason: SessionsChangedReason;
  sessionId?: string;
  name?: string;
}

/**
 * What another process (the TUI, another editor's server, `atmos ai ask`) changed in a
 * subscribed session. `messages`: new or changed messages, oldest first; one whose id
 * the client shows replaces it (a reply streaming elsewhere comes with `interrupted:
 * true` and partial text, then again with more, finally complete). `reload`: the history
 * was rewritten (compaction, uncompaction, retry, pin): read it again.
 */
export interface SessionUpdatedParams {
  sessionId: string;
  session: Session;
  messages: Message[];
  replyingElsewhere: boolean;
  reload: boolean;
}

export const ChatDelta = new NotificationType<ChatDeltaParams>("atmos/chat/delta");
export const SessionUpdated = new NotificationType<SessionUpdatedParams>("atmos/session/updated");
export const CompactStatus = new NotificationType<CompactStatusParams>("atmos/compact/status");
export const SessionsChanged = new NotificationType<SessionsChangedParams>("atmos/sessions/changed");

/** Every notification, as the server lists them in `capabilities.experimental.atmos.notifications`. */
export const NOTIFICATIONS: readonly string[] = [ChatDelta, CompactStatus, SessionsChanged, SessionUpdated].map(
  (t) => t.method,
);

// ---------------------------------------------------------------------------
// Errors

/** `error.code` values: JSON-RPC's and the server's own (1001–1011). */
export enum ErrorCodes {
  ParseError = -32700,
  InvalidRequest = -32600,
  MethodNotFound = -32601,
  InvalidParams = -32602,
  InternalError = -32603,
  ServerNotInitialized = -32002,
  RequestCancelled = -32800,
  SessionNotFound = 1001,
  SessionExists = 1002,
  InvalidName = 1003,
  SessionsDisabled = 1004,
  ProviderError = 1005,
  ProviderNotConfigured = 1006,
  StorageError = 1007,
  InvalidDuration = 1008,
  Busy = 1009,
  ConfigInvalid = 1010,
  InvalidImport = 1011,
}

/** `error.data` of the server's errors; `kind` names the error for 1001–1011. */
export interface ErrorData {
  kind?:
    | "sessionNotFound"
    | "sessionExists"
    | "invalidName"
    | "sessionsDisabled"
    | "providerError"
    | "providerNotConfigured"
    | "storageError"
    | "invalidDuration"
    | "busy"
    | "configInvalid"
    | "invalidImport";
  /** -32602: the offending parameter's path. */
  field?: string;
  name?: string;
  id?: string;
  rule?: string;
  configPath?: string;
  provider?: string;
  status?: number;
  retryable?: boolean;
  retryAfterMs?: number;
  missing?: string;
  path?: string;
  hint?: string;
  value?: unknown;
  sessionId?: string;
  key?: string;
  format?: string;
  reason?: string;
}

/**
 * The chat page: renders the state the extension sends and reports input.
 * Markdown comes from `renderMarkdown` (everything escaped); all other text
 * goes in with `textContent`.
 */
import { formatUsage } from "../src/cost";
import { renderMarkdown } from "../src/markdown";
import type { Entry } from "../src/transcript";
import { formatTokens } from "../src/transcript";
import type { ChatState, FromWebview, PendingTurn, ToWebview } from "../src/webviewMessages";
import type { Message } from "../src/protocol";

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): { draft?: string } | undefined;
  setState(state: { draft?: string }): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

function el<T extends HTMLElement>(selector: string): T {
  const e = document.querySelector<T>(selector);
  if (!e) {
    throw new Error(`missing ${selector}`);
  }
  return e;
}

const transcript = el<HTMLElement>("#transcript");
const input = el<HTMLTextAreaElement>('textarea[aria-label="Message"]');
const sendButton = el<HTMLButtonElement>('button[aria-label="Send"]');
const stopButton = el<HTMLButtonElement>('button[aria-label="Stop"]');
const sessionSelect = el<HTMLSelectElement>('select[aria-label="Session"]');
const newButton = el<HTMLButtonElement>('button[aria-label="New Session"]');
const providerBadge = el<HTMLElement>(".provider-badge");
const modelButton = el<HTMLButtonElement>('button[aria-label="Model"]');
const skillButton = el<HTMLButtonElement>('button[aria-label="Skill"]');
const tokens = el<HTMLElement>(".tokens");
const sessionInfo = el<HTMLElement>(".session-info");
const titleButton = el<HTMLButtonElement>('button[aria-label="Title"]');
const forkedFrom = el<HTMLElement>(".forked-from");
const usage = el<HTMLElement>(".usage");
const elsewhere = el<HTMLElement>(".elsewhere");

let state: ChatState | undefined;
/** The summaries the user opened, kept open across renders. */
const openSummaries = new Set<string>();
let pendingFrame = 0;

function post(m: FromWebview): void {
  vscode.postMessage(m);
}

function make<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) {
    e.className = className;
  }
  if (text !== undefined) {
    e.textContent = text;
  }
  return e;
}

function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function roleLabel(role: Message["role"]): string {
  return role === "user" ? "You" : role === "assistant" ? "Atmos" : "System";
}

function content(markdown: string): HTMLElement {
  const div = make("div", "content");
  // renderMarkdown escapes raw HTML and limits links: safe to insert.
  div.innerHTML = renderMarkdown(markdown);
  return div;
}

/** A small button of a message's action bar; clicks are handled on #transcript. */
function actionButton(action: string, label: string, title: string): HTMLButtonElement {
  const b = make("button", "msg-action", label);
  b.type = "button";
  b.dataset.action = action;
  b.setAttribute("aria-label", label);
  b.title = title;
  return b;
}

function messageElement(m: Message): HTMLElement {
  /** The reply another process is streaming: stored as interrupted until it is done. */
  const elsewhereReply = state?.streamingElsewhereId === m.id;
  const classes = ["message", m.role];
  if (elsewhereReply) {
    classes.push("streaming", "elsewhere-reply");
  } else if (m.interrupted) {
    classes.push("interrupted");
  }
  if (m.archived) {
    classes.push("archived");
  }
  if (m.pinned) {
    classes.push("pinned");
  }
  const article = make("article", classes.join(" "));
  article.dataset.id = m.id;
  const meta = make("div", "meta");
  meta.append(make("span", "role", roleLabel(m.role)), make("span", "time", time(m.createdAt)));
  if (elsewhereReply) {
    meta.append(make("span", "badge", "replying elsewhere…"));
  } else if (m.interrupted) {
    meta.append(make("span", "badge interrupted-mark", "interrupted"));
  }
  if (m.pinned) {
    meta.append(make("span", "badge pinned-mark", "pinned"));
  }
  if (m.archived) {
    meta.append(make("span", "badge archived-mark", "archived"));
  }
  if (!elsewhereReply) {
    const actions = make("span", "msg-actions");
    actions.append(
      m.pinned
        ? actionButton("unpin", "Unpin", "Unpin: compaction may fold this message into a summary again")
        : actionButton("pin", "Pin", "Pin: never compacted, always sent to the model"),
      actionButton("fork", "Fork from here", "A new session with the history up to this message"),
    );
    meta.append(actions);
  }
  article.append(meta, content(m.content));
  return article;
}

function countMessages(entries: Entry[]): number {
  return entries.reduce((n, e) => n + (e.kind === "message" ? 1 : countMessages(e.children)), 0);
}

/** An entry; `top`: at the top level of the transcript (not inside a summary). */
function entryElement(entry: Entry, top: boolean): HTMLElement {
  if (entry.kind === "message") {
    return messageElement(entry.message);
  }
  const s = entry.summary;
  // Archived at the top level: its compaction was undone (the messages are live again).
  const undone = top && s.archived;
  const details = make("details", `message summary${s.archived ? " archived" : ""}${undone ? " undone" : ""}`);
  details.dataset.id = s.id;
  details.open = openSummaries.has(s.id);
  details.addEventListener("toggle", () => {
    if (details.open) {
      openSummaries.add(s.id);
    } else {
      openSummaries.delete(s.id);
    }
  });
  const n = countMessages(entry.children);
  const summary = make("summary", "meta");
  summary.append(
    make("span", "role", "Summary"),
    make("span", "time", time(s.createdAt)),
    undone
      ? make("span", "badge archived-mark", "undone: its messages are live again")
      : make("span", "badge", n === 1 ? "replaces 1 message" : `replaces ${n} messages`),
  );
  if (top && !s.archived) {
    const actions = make("span", "msg-actions");
    actions.append(actionButton("uncompact", "Uncompact", "Undo this compaction: the messages it replaced are sent again"));
    summary.append(actions);
  }
  details.append(summary, content(s.content));
  if (entry.children.length > 0) {
    const archived = make("div", "archived-messages");
    archived.setAttribute("aria-label", "Archived messages");
    for (const c of entry.children) {
      archived.append(entryElement(c, false));
    }
    details.append(archived);
  }
  return details;
}

function pendingElements(p: PendingTurn): HTMLElement[] {
  const user = make("article", "message user pending");
  const userMeta = make("div", "meta");
  userMeta.append(make("span", "role", "You"));
  if (p.contextLabel) {
    userMeta.append(make("span", "badge context", p.contextLabel));
  }
  user.append(userMeta, content(p.user));
  const classes = ["message", "assistant", "pending"];
  if (p.streaming) {
    classes.push("streaming");
  }
  if (p.interrupted) {
    classes.push("interrupted");
  }
  const reply = make("article", classes.join(" "));
  const meta = make("div", "meta");
  meta.append(make("span", "role", "Atmos"));
  if (p.streaming) {
    meta.append(make("span", "badge", p.reply === "" ? "thinking…" : "streaming…"));
  }
  if (p.interrupted) {
    meta.append(make("span", "badge interrupted-mark", "interrupted"));
  }
  reply.append(meta, content(p.reply));
  if (!p.streaming && !p.interrupted && p.reply === "") {
    return [user];
  }
  return [user, reply];
}

function nearBottom(): boolean {
  return transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 48;
}

function renderHeader(s: ChatState): void {
  const h = s.header;
  const current = h.session;
  sessionSelect.replaceChildren();
  const fresh = make("option", undefined, current ? "New chat…" : "New chat");
  fresh.value = "";
  sessionSelect.append(fresh);
  const names = h.sessions.slice();
  if (current && !names.some((o) => o.id === current.id)) {
    names.unshift({ id: current.id, name: current.name });
  }
  for (const o of names) {
    const name = o.id === current?.id ? current.name : o.name;
    const title = o.id === current?.id ? current.title : o.title;
    const option = make("option", undefined, title ? `${name} — ${short(title, 40)}` : name);
    option.value = o.id;
    sessionSelect.append(option);
  }
  sessionSelect.value = current?.id ?? "";

  const provider = current?.provider ?? h.next.provider;
  const model = current?.model ?? h.next.model;
  const skill = current?.skill ?? h.next.skill;
  providerBadge.textContent = provider || "…";
  providerBadge.title = `Provider: ${provider}`;
  modelButton.textContent = model || "model";
  modelButton.title = `Model: ${model} (click to switch provider and model)`;
  skillButton.textContent = skill || "skill";
  skillButton.title = `Skill: ${skill} (click to switch)`;
  sessionInfo.hidden = !current;
  if (current) {
    titleButton.textContent = current.title ?? "Add a title…";
    titleButton.classList.toggle("placeholder", current.title === undefined);
    titleButton.title = current.title
      ? `${current.name} — ${current.title} (click to change the title)`
      : "No title yet (it is made from the first question): click to set one";
    forkedFrom.textContent = current.forkedFrom ? `forked from ${current.forkedFrom.name}` : "";
    forkedFrom.title = current.forkedFrom
      ? `A fork of '${current.forkedFrom.name}'${current.forkedFrom.at ? ` at message ${current.forkedFrom.at}` : ""}`
      : "";
    forkedFrom.hidden = !current.forkedFrom;
    usage.textContent = formatUsage(current.usage);
    usage.title =
      `Used by this session's turns: ${current.usage.inputTokens} tokens sent, ${current.usage.outputTokens} received` +
      (current.usage.cost === undefined
        ? " (no pricing for this provider in atmos.yaml: ai.providers.NAME.pricing)"
        : "; the cost is estimated with the provider's pricing in atmos.yaml (USD per million tokens)");
  }
  if (h.tokens) {
    const n = formatTokens(h.tokens.count);
    tokens.textContent = `≈${n} tokens`;
    tokens.title =
      "Estimated tokens of the history the next message sends (summaries and messages not archived, ~4 characters a token)";
  } else {
    tokens.textContent = "";
    tokens.title = "";
  }
}

function short(text: string, max: number): string {
  const line = text.split("\n")[0];
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function render(s: ChatState): void {
  const stick = nearBottom();
  renderHeader(s);
  const children: HTMLElement[] = [];
  for (const e of s.entries) {
    children.push(entryElement(e, true));
  }
  if (s.pending) {
    children.push(...pendingElements(s.pending));
  }
  if (children.length === 0 && s.errors.length === 0) {
    const empty = make("div", "empty");
    empty.append(
      make("p", undefined, s.loading ? "Loading…" : "Ask about your stacks, components and infrastructure."),
      make(
        "p",
        "hint",
        "The first message starts a session; it is saved in the project and shared with the terminal (atmos ai) and Neovim.",
      ),
    );
    children.push(empty);
  }
  for (const notice of s.notices) {
    const box = make("div", "notice");
    box.setAttribute("role", "status");
    box.append(make("p", undefined, notice));
    children.push(box);
  }
  for (const err of s.errors) {
    const box = make("div", "error");
    box.setAttribute("role", "alert");
    box.append(make("p", undefined, err.message));
    if (err.detail) {
      box.append(make("pre", undefined, err.detail));
    }
    children.push(box);
  }
  transcript.replaceChildren(...children);
  if (stick || s.pending?.streaming) {
    transcript.scrollTop = transcript.scrollHeight;
  }

  const streaming = s.pending?.streaming === true;
  document.body.dataset.state = streaming ? "streaming" : "idle";
  document.body.dataset.replyingElsewhere = String(s.replyingElsewhere);
  stopButton.disabled = !streaming;
  sendButton.disabled = streaming || s.replyingElsewhere;
  elsewhere.hidden = !s.replyingElsewhere;
  elsewhere.textContent = s.replyingElsewhere
    ? "Replying elsewhere… another process (the terminal, another editor) is answering in this session. Its reply shows here as it comes; Send is back when it is done."
    : "";
}

/** Shows a delta: the streaming reply is re-rendered once per frame. */
function onDelta(text: string): void {
  if (!state?.pending) {
    return;
  }
  state.pending.reply += text;
  if (pendingFrame !== 0) {
    return;
  }
  pendingFrame = requestAnimationFrame(() => {
    pendingFrame = 0;
    const p = state?.pending;
    const node = transcript.querySelector<HTMLElement>(".message.assistant.streaming");
    if (!p || !node) {
      return;
    }
    const stick = nearBottom();
    node.querySelector(".content")?.replaceWith(content(p.reply));
    const badge = node.querySelector(".meta .badge");
    if (badge) {
      badge.textContent = "streaming…";
    }
    if (stick) {
      transcript.scrollTop = transcript.scrollHeight;
    }
  });
}

function send(): void {
  const text = input.value;
  if (text.trim() === "" || document.body.dataset.state === "streaming" || state?.replyingElsewhere) {
    return;
  }
  post({ type: "send", text });
  input.value = "";
  vscode.setState({ draft: "" });
}

input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});
input.addEventListener("input", () => vscode.setState({ draft: input.value }));
sendButton.addEventListener("click", send);
stopButton.addEventListener("click", () => post({ type: "stop" }));
newButton.addEventListener("click", () => post({ type: "newSession" }));
modelButton.addEventListener("click", () => post({ type: "pickModel" }));
skillButton.addEventListener("click", () => post({ type: "pickSkill" }));
titleButton.addEventListener("click", () => post({ type: "setTitle" }));
sessionSelect.addEventListener("change", () => post({ type: "selectSession", id: sessionSelect.value }));

transcript.addEventListener("click", (e) => {
  const target = e.target instanceof Element ? e.target : null;
  const copy = target?.closest<HTMLButtonElement>("button.copy-code");
  if (copy) {
    const code = copy.closest(".code-block")?.querySelector("code")?.textContent ?? "";
    post({ type: "copy", text: code });
    copy.textContent = "Copied";
    setTimeout(() => (copy.textContent = "Copy"), 1500);
    return;
  }
  const action = target?.closest<HTMLButtonElement>("button.msg-action");
  if (action) {
    e.preventDefault(); // inside a summary's <summary>: do not toggle it
    const id = action.closest<HTMLElement>("[data-id]")?.dataset.id;
    if (id === undefined) {
      return;
    }
    switch (action.dataset.action) {
      case "pin":
      case "unpin":
        post({ type: "pin", messageId: id, pinned: action.dataset.action === "pin" });
        return;
      case "fork":
        post({ type: "fork", messageId: id });
        return;
      case "uncompact":
        post({ type: "uncompact", summaryId: id });
        return;
    }
    return;
  }
  const link = target?.closest<HTMLAnchorElement>("a[href]");
  if (link) {
    e.preventDefault();
    post({ type: "openLink", href: link.getAttribute("href") ?? "" });
  }
});

window.addEventListener("message", (event: MessageEvent<ToWebview>) => {
  const m = event.data;
  switch (m.type) {
    case "state":
      state = m.state;
      render(m.state);
      return;
    case "delta":
      onDelta(m.text);
      return;
    case "focusInput":
      input.focus();
      return;
    case "restoreInput":
      if (input.value.trim() === "") {
        input.value = m.text;
        vscode.setState({ draft: m.text });
      }
      input.focus();
      return;
  }
});

const saved = vscode.getState();
if (saved?.draft) {
  input.value = saved.draft;
}
post({ type: "ready" });

/**
 * Markdown → HTML for the chat view, shared by the webview bundle and the
 * unit tests (no DOM, no VS Code).
 *
 * Nothing in a reply can run: raw HTML is escaped (`html: false`), links are
 * limited to http(s) and mailto, images are not rendered (the webview's CSP
 * would block remote ones anyway), and code is escaped or highlighted by
 * highlight.js, which escapes too.
 */
import MarkdownIt from "markdown-it";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import diff from "highlight.js/lib/languages/diff";
import dockerfile from "highlight.js/lib/languages/dockerfile";
import go from "highlight.js/lib/languages/go";
import ini from "highlight.js/lib/languages/ini";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import makefile from "highlight.js/lib/languages/makefile";
import markdown from "highlight.js/lib/languages/markdown";
import plaintext from "highlight.js/lib/languages/plaintext";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import shell from "highlight.js/lib/languages/shell";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

const languages = {
  bash,
  diff,
  dockerfile,
  go,
  ini,
  javascript,
  json,
  makefile,
  markdown,
  plaintext,
  python,
  rust,
  shell,
  sql,
  typescript,
  xml,
  yaml,
};
for (const [name, lang] of Object.entries(languages)) {
  hljs.registerLanguage(name, lang);
}
// Infrastructure code that highlight.js has no grammar for: close enough.
hljs.registerAliases(["hcl", "tf", "terraform", "toml"], { languageName: "ini" });
hljs.registerAliases(["sh", "zsh", "console"], { languageName: "bash" });
hljs.registerAliases(["yml"], { languageName: "yaml" });

const SAFE_LINK = /^(https?:|mailto:)/i;

function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** The code, highlighted when its language is known; always escaped. */
export function highlight(code: string, lang: string): string {
  if (lang && hljs.getLanguage(lang)) {
    try {
      return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
    } catch {
      // fall through to plain text
    }
  }
  return escapeHtml(code);
}

function createRenderer(): MarkdownIt {
  const md = new MarkdownIt({
    html: false,
    linkify: false,
    breaks: false,
    typographer: false,
  });
  md.disable("image");
  md.validateLink = (url: string) => SAFE_LINK.test(url.trim());

  // Code blocks: highlighted, with a toolbar naming the language and a Copy button.
  md.renderer.rules.fence = (tokens, idx) => {
    const token = tokens[idx];
    const info = token.info ? md.utils.unescapeAll(token.info).trim() : "";
    const lang = (info.split(/\s+/)[0] ?? "").toLowerCase().replace(/[^\w+#-]/g, "");
    const known = lang !== "" && hljs.getLanguage(lang) !== undefined;
    const body = highlight(token.content, known ? lang : "");
    const cls = known ? ` class="hljs language-${escapeHtml(lang)}"` : ' class="hljs"';
    return (
      `<div class="code-block">` +
      `<div class="code-toolbar"><span class="code-lang">${escapeHtml(lang)}</span>` +
      `<button type="button" class="copy-code" aria-label="Copy code" title="Copy code">Copy</button></div>` +
      `<pre><code${cls}>${body}</code></pre></div>\n`
    );
  };

  // Links open outside the webview (the extension checks the scheme again).
  const defaultLinkOpen =
    md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    tokens[idx].attrSet("rel", "noreferrer noopener");
    return defaultLinkOpen(tokens, idx, options, env, self);
  };
  return md;
}

const renderer = createRenderer();

/** A message's markdown as safe HTML. */
export function renderMarkdown(text: string): string {
  return renderer.render(text);
}

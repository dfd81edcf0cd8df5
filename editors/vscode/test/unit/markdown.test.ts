import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderMarkdown } from "../../src/markdown";

describe("renderMarkdown", () => {
  it("escapes raw HTML: a <script> in a reply is text", () => {
    const html = renderMarkdown('Look: <script>document.body.dataset.pwned = "1"</script> <img src=x onerror=alert(1)>');
    assert.ok(!html.includes("<script"), html);
    assert.ok(!html.includes("<img"), html);
    assert.match(html, /&lt;script&gt;/);
  });

  it("escapes HTML inside code blocks and inline code", () => {
    const html = renderMarkdown("`<b>x</b>`\n\n```\n<script>alert(1)</script>\n```\n");
    assert.ok(!html.includes("<script"), html);
    assert.ok(!html.includes("<b>"), html);
  });

  it("drops javascript: and data: links, keeps http(s)", () => {
    const html = renderMarkdown("[a](javascript:alert(1)) [b](data:text/html,x) [c](https://atmos.tools)");
    assert.ok(!/href="javascript/i.test(html), html);
    assert.ok(!/href="data/i.test(html), html);
    assert.match(html, /<a href="https:\/\/atmos.tools" rel="noreferrer noopener">c<\/a>/);
  });

  it("does not load images", () => {
    const html = renderMarkdown("![x](https://example.com/x.png)");
    assert.ok(!html.includes("<img"), html);
  });

  it("highlights a known language, with a Copy button and the language named", () => {
    const html = renderMarkdown("```yaml\nvpc:\n  cidr: 10.40.0.0/16\n```\n");
    assert.match(html, /<div class="code-block">/);
    assert.match(html, /<span class="code-lang">yaml<\/span>/);
    assert.match(html, /<button type="button" class="copy-code" aria-label="Copy code"/);
    assert.match(html, /class="hljs language-yaml"/);
    assert.match(html, /hljs-attr/);
  });

  it("escapes an unknown language and a hostile info string", () => {
    const html = renderMarkdown('```"><script>x</script>\n<i>a</i>\n```\n');
    assert.ok(!html.includes("<script"), html);
    assert.ok(!html.includes("<i>"), html);
  });

  it("renders ordinary markdown", () => {
    const html = renderMarkdown("# Title\n\n- **bold** and `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
    assert.match(html, /<h1>Title<\/h1>/);
    assert.match(html, /<strong>bold<\/strong>/);
    assert.match(html, /<table>/);
  });
});

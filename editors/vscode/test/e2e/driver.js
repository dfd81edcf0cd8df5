// End-to-end checks of the atmos-ai extension in a real VS Code (code-server),
// driven through headless Chromium with playwright-core. Started by run.sh, which
// provides: CS_URL, WORKSPACE, FAKE_URL, ATMOS_BIN, ARTIFACTS, E2E_CACHE.
// Prints "ok - NAME" / "not ok - NAME: WHY" per check and "N passed, N failed";
// exits 1 on any failure (with failure.png in ARTIFACTS).
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const env = (k) => {
  if (!process.env[k]) { console.error(`driver.js: ${k} is not set (start it through run.sh)`); process.exit(2); }
  return process.env[k];
};
const CS_URL = env('CS_URL');
const WORKSPACE = env('WORKSPACE');
const FAKE_URL = env('FAKE_URL');
const ATMOS_BIN = env('ATMOS_BIN');
const ARTIFACTS = env('ARTIFACTS');
const E2E_CACHE = env('E2E_CACHE');
const STATE = env('STATE');
const { chromium } = require(path.join(E2E_CACHE, 'tools/node_modules/playwright-core'));

const T = 45000;                        // default per-step timeout
const t0 = Date.now();
const ts = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const log = (...a) => console.log(`# [${ts()}]`, ...a);
const sleep = (n) => new Promise((r) => setTimeout(r, n));

// The whole run must stay well under 3 minutes; never hang CI.
const WATCHDOG_MS = 170000;
setTimeout(() => {
  console.log(`not ok - watchdog: the run took more than ${WATCHDOG_MS / 1000} s`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, WATCHDOG_MS).unref();

let passed = 0;
let failed = 0;
let skipRest = '';
let page;
let browser;

async function shot(name) {
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file });
  return file;
}

// One named check. critical: later checks depend on it, so skip them if it fails.
async function check(name, fn, { critical = false } = {}) {
  if (skipRest) { failed++; console.log(`not ok - ${name}: skipped (${skipRest} failed)`); return; }
  const s = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok - ${name} (${((Date.now() - s) / 1000).toFixed(1)}s)`);
  } catch (e) {
    failed++;
    const why = String((e && e.message) || e).split('\n').filter(Boolean).slice(0, 4).join(' | ');
    console.log(`not ok - ${name}: ${why}`);
    if (page) {
      const f = failed === 1 ? 'failure.png' : `failure-${failed}.png`;
      await shot(f).then((p) => console.log(`# screenshot of the failure: ${p}`)).catch(() => {});
    }
    if (critical) skipRest = name;
  }
}

// Poll fn() until it returns a truthy value; the error says what was last seen.
async function until(what, fn, timeout = T, every = 150) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try { const v = await fn(); if (v) return v; last = v; } catch (e) { last = e.message.split('\n')[0]; }
    if (Date.now() > end) throw new Error(`timed out after ${timeout / 1000}s waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(every);
  }
}

function atmos(...args) {
  const r = spawnSync(ATMOS_BIN, args, {
    cwd: WORKSPACE, encoding: 'utf8', timeout: 20000,
    env: { ...process.env, ANTHROPIC_API_KEY: 'test-key' },
  });
  if (r.status !== 0) throw new Error(`atmos ${args.join(' ')} exited ${r.status}: ${(r.stderr || '').trim()}`);
  return JSON.parse(r.stdout);
}
const sessionNames = () => atmos('ai', 'sessions', 'list', '--format', 'json').sessions.map((s) => s.name);

async function fake(method, p, body) {
  const r = await fetch(FAKE_URL + p, {
    method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${p}: HTTP ${r.status}`);
  const text = await r.text();
  return text ? JSON.parse(text) : null;
}

// The chat webview: iframe.webview (gets class "ready" once its service worker is up)
// holding iframe#active-frame with the extension's HTML. Only the webview that has the
// message box counts (in case another webview is open).
const chat = () => page.frameLocator('iframe.webview.ready:visible').frameLocator('iframe#active-frame');
const textarea = () => chat().locator('textarea[aria-label="Message"]');
const lastAssistant = () => chat().locator('#transcript .message.assistant').last();
const bodyState = () => chat().locator('body').getAttribute('data-state', { timeout: 2000 });

// Command palette by keyboard. The command may be missing right after the workbench
// renders (the extension host registers contributions a moment later and an open
// palette never refreshes): wait ~3 s for the row, else Escape and reopen.
async function runCommand(title) {
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Escape');
    await page.locator('.part.editor').click({ position: { x: 20, y: 20 } });
    await page.keyboard.press('F1');
    const qi = page.locator('.quick-input-widget input');
    await qi.waitFor({ state: 'visible', timeout: 10000 });
    await qi.fill('>');
    await qi.pressSequentially(title, { delay: 5 });
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ timeout: 3000 });
      break;
    } catch (e) {
      if (attempt >= 10) throw new Error(`"${title}" never appeared in the command palette`);
      log(`palette: "${title}" not listed yet (attempt ${attempt}), retrying`);
      await page.keyboard.press('Escape');
      await sleep(1000);
    }
  }
  await page.keyboard.press('Enter');
}

// Type a message in the chat and send it with Enter.
async function send(text) {
  const box = textarea();
  await box.waitFor({ timeout: T });
  await box.click();
  await box.fill(text);
  await box.press('Enter');
}

// `atmos ARGS…` in the workspace as another process (the terminal), not waited for.
function atmosInBackground(...args) {
  const child = spawn(ATMOS_BIN, args, {
    cwd: WORKSPACE, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ANTHROPIC_API_KEY: 'test-key' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const done = new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { child, done };
}

// The quick input (input box) the workbench shows: fill it and press Enter.
async function answerInputBox(text) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(text);
  await input.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 10000 });
}

async function waitIdle(timeout = T) {
  await until('body data-state "idle"', async () => (await bodyState()) === 'idle', timeout);
}

// Send a message and wait for the reply to finish; returns the last assistant message's text.
async function sendAndWait(text, expectFn, what) {
  const before = await chat().locator('#transcript .message.assistant').count();
  await send(text);
  await until(`a new assistant message (${what})`, async () =>
    (await chat().locator('#transcript .message.assistant').count()) > before);
  const content = await until(what, async () => {
    const t = await lastAssistant().locator('.content').innerText({ timeout: 2000 });
    return expectFn(t) ? t : false;
  });
  await waitIdle();
  return content;
}

(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const consoleLog = fs.createWriteStream(path.join(ARTIFACTS, 'browser-console.log'));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
    // else Chromium writes ~/.config/chromium and ~/.cache/dconf
    env: { ...process.env, XDG_CONFIG_HOME: path.join(STATE, 'xdg-config'), XDG_CACHE_HOME: path.join(STATE, 'xdg-cache') },
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('console', (m) => consoleLog.write(`[${ts()}] ${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => consoleLog.write(`[${ts()}] pageerror: ${e.message}\n`));

  const first = 'hello from the e2e test';
  const second = 'and a second message';
  let sessionName;

  await check('workbench opens and "Atmos: Open Chat" shows the chat view', async () => {
    await page.goto(`${CS_URL}/?folder=${encodeURIComponent(WORKSPACE)}`);
    await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 60000 });
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60000 });
    log('workbench rendered');
    await runCommand('Atmos: Open Chat');
    await textarea().waitFor({ timeout: T });
    await chat().locator('#transcript').waitFor({ state: 'attached', timeout: T });
    await waitIdle();
  }, { critical: true });

  await check('first message gets the streamed reply in the webview', async () => {
    const t = await sendAndWait(first, (x) => x.includes(`echo: ${first}`), `"echo: ${first}"`);
    const users = await chat().locator('#transcript .message.user .content').allInnerTexts();
    if (!users.some((u) => u.includes(first))) throw new Error(`user message not in transcript: ${JSON.stringify(users)}`);
    log('reply:', JSON.stringify(t));
  }, { critical: true });

  await check('second message: reply shown and the provider got the history (3 messages)', async () => {
    await sendAndWait(second, (x) => x.includes(`echo: ${second}`), `"echo: ${second}"`);
    const reqs = await fake('GET', '/__fake/requests');
    const withMsgs = reqs.filter((r) => r.body && Array.isArray(r.body.messages));
    const last = withMsgs[withMsgs.length - 1];
    if (!last) throw new Error(`no provider request with messages in ${JSON.stringify(reqs).slice(0, 300)}`);
    const n = last.body.messages.length;
    if (n !== 3) throw new Error(`last request had ${n} messages, want 3: ${JSON.stringify(last.body.messages).slice(0, 300)}`);
    const hist = JSON.stringify(last.body.messages);
    if (!hist.includes(first) || !hist.includes(`echo: ${first}`) || !hist.includes(second)) {
      throw new Error(`history is not [user, assistant, user]: ${hist.slice(0, 300)}`);
    }
    const names = sessionNames();
    if (names.length !== 1) throw new Error(`want exactly 1 stored session, got ${JSON.stringify(names)}`);
    sessionName = names[0];
    log('session:', sessionName);
  });

  await check('Stop on a slow reply keeps the partial reply, marked interrupted (webview and store)', async () => {
    const deltas = Array.from({ length: 20 }, (_, i) => `piece${String(i + 1).padStart(2, '0')} `);
    await fake('POST', '/__fake/reply', { deltas, delayMs: 400 });
    const before = await chat().locator('#transcript .message.assistant').count();
    await send('please answer slowly');
    await until('the streaming reply', async () =>
      (await chat().locator('#transcript .message.assistant').count()) > before);
    await until('the first piece to show', async () =>
      (await lastAssistant().locator('.content').innerText({ timeout: 2000 })).includes('piece01'), 20000, 50);
    if ((await bodyState()) !== 'streaming') throw new Error(`body data-state is ${await bodyState()} while streaming`);
    await chat().locator('button[aria-label="Stop"]').click({ timeout: 5000 });
    await until('class "interrupted" on the reply', async () =>
      /\binterrupted\b/.test(await lastAssistant().getAttribute('class', { timeout: 2000 })), 15000);
    await waitIdle(15000);
    const shown = await lastAssistant().locator('.content').innerText();
    if (shown.includes('piece20')) throw new Error('the whole reply arrived: Stop did not stop it');
    const cls = await lastAssistant().getAttribute('class');
    if (/\bstreaming\b/.test(cls)) throw new Error(`reply still has class streaming: "${cls}"`);
    if (!(await chat().locator('button[aria-label="Stop"]').isDisabled())) throw new Error('Stop is still enabled when idle');
    if (!sessionName) sessionName = sessionNames()[0];
    const stored = await until('the interrupted reply in the store', () => {
      const ex = atmos('ai', 'sessions', 'export', sessionName, '--format', 'json');
      const a = ex.messages.filter((m) => m.role === 'assistant').pop();
      return a && a.interrupted === true ? a : false;
    }, 15000, 300);
    if (!stored.content.includes('piece01') || stored.content.includes('piece20')) {
      throw new Error(`stored partial reply is not the partial text: ${JSON.stringify(stored.content)}`);
    }
    log('stored partial:', JSON.stringify(stored.content));
  });

  await check('a <script> and an onerror handler in a reply do not run and show as text', async () => {
    const evil = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> **bold**';
    await fake('POST', '/__fake/reply', { deltas: [evil.slice(0, 12), evil.slice(12, 40), evil.slice(40, 70), evil.slice(70)], delayMs: 50 });
    const t = await sendAndWait('show me something dangerous', (x) => x.includes('bold'), 'the XSS reply');
    await sleep(500);  // give an injected handler time to fire
    const pwned = await chat().locator('body').evaluate(() => window.__pwned);
    if (pwned !== undefined) throw new Error(`window.__pwned = ${pwned}: the reply ran code`);
    const bad = await chat().locator('#transcript').evaluate((el) =>
      el.querySelectorAll('script, img[onerror], [onerror], img').length);
    if (bad) throw new Error(`${bad} script/img/onerror elements inside #transcript`);
    if (!t.includes('<script>')) throw new Error(`"<script>" is not shown as text: ${JSON.stringify(t)}`);
    const csp = await chat().locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content', { timeout: 2000 });
    const scriptSrc = (/(?:^|;)\s*script-src ([^;]*)/.exec(csp || '') || [])[1];
    const loose = ["'unsafe-inline'", "'unsafe-eval'", '*', 'http:', 'https:', 'data:', 'blob:'];
    if (!scriptSrc || scriptSrc.split(/\s+/).some((t) => loose.includes(t))) {
      throw new Error(`the webview's Content Security Policy does not restrict scripts: ${JSON.stringify(csp)}`);
    }
    log('webview CSP:', csp);
    const strong = await lastAssistant().locator('.content strong').allInnerTexts();
    if (!strong.includes('bold')) throw new Error(`markdown not rendered (no <strong>bold</strong>): ${JSON.stringify(t)}`);
  });

  await check('Sessions view lists the session; rename from its context menu', async () => {
    if (!sessionName) sessionName = sessionNames()[0];
    if (!sessionName) throw new Error('no session stored');
    await runCommand('Atmos: Focus on Sessions View');
    const tree = page.locator('.part.sidebar');
    const row = tree.locator('.monaco-list-row', { hasText: sessionName }).first();
    await row.waitFor({ timeout: T });
    // A context menu ignores a click that comes right after it opens: wait for it to
    // settle, and retry if the rename box does not show up.
    const input = page.locator('.quick-input-widget input');
    for (let attempt = 1; ; attempt++) {
      await row.click({ button: 'right' });
      const item = page.locator('.monaco-menu .action-item:not(.disabled) .action-label', { hasText: 'Rename' }).first();
      await item.waitFor({ timeout: 10000 });
      await sleep(400);
      await item.click();
      try { await input.waitFor({ state: 'visible', timeout: 4000 }); break; } catch (e) {
        if (attempt >= 3) throw new Error('the rename box never showed after choosing "Rename…"');
        log(`context menu: "Rename…" did not open the input box (attempt ${attempt}), retrying`);
        await page.keyboard.press('Escape');
        await sleep(300);
      }
    }
    const prefilled = await input.inputValue();
    if (prefilled !== sessionName) throw new Error(`rename box prefilled with ${JSON.stringify(prefilled)}, want ${JSON.stringify(sessionName)}`);
    const newName = 'vpc-design';
    await input.fill(newName);
    await input.press('Enter');
    await tree.locator('.monaco-list-row', { hasText: newName }).first().waitFor({ timeout: T });
    await until(`the CLI to list ${newName}`, () => {
      const n = sessionNames();
      return n.includes(newName) && !n.includes(sessionName);
    }, 15000, 300);
    sessionName = newName;
  });

  await check('a turn made by `atmos ai ask` in the terminal shows in the panel by itself ("replying elsewhere…" meanwhile)', async () => {
    if (!sessionName) throw new Error('no session stored');
    const question = 'asked from the terminal';
    const deltas = Array.from({ length: 10 }, (_, i) => `terminal${String(i + 1).padStart(2, '0')} `);
    await fake('POST', '/__fake/reply', { deltas, delayMs: 300 });
    const userCount = await chat().locator('#transcript .message.user').count();
    const ask = atmosInBackground('ai', 'ask', '--session', sessionName, question);
    try {
      await until('"replying elsewhere…" in the panel', async () =>
        (await chat().locator('body').getAttribute('data-replying-elsewhere', { timeout: 2000 })) === 'true', 15000, 50);
      const banner = await chat().locator('.elsewhere').innerText({ timeout: 2000 });
      if (!/replying elsewhere/i.test(banner)) throw new Error(`the banner says ${JSON.stringify(banner)}`);
      if (!(await chat().locator('button[aria-label="Send"]').isDisabled())) throw new Error('Send is enabled while the session replies elsewhere');
      await until('the question from the terminal in the transcript', async () =>
        (await chat().locator('#transcript .message.user').count()) > userCount &&
        (await chat().locator('#transcript .message.user .content').last().innerText({ timeout: 2000 })).includes(question), 15000, 100);
      await until('the reply streaming in (a part of it, marked as replying elsewhere)', async () => {
        const reply = chat().locator('#transcript .message.assistant.elsewhere-reply');
        return (await reply.count()) > 0 && (await reply.locator('.content').innerText({ timeout: 2000 })).includes('terminal01');
      }, 15000, 50);
      await until('the whole reply from the terminal', async () =>
        (await lastAssistant().locator('.content').innerText({ timeout: 2000 })).includes('terminal10'), 20000, 100);
      await until('"replying elsewhere…" to go away', async () =>
        (await chat().locator('body').getAttribute('data-replying-elsewhere', { timeout: 2000 })) === 'false', 10000, 100);
      if (await chat().locator('button[aria-label="Send"]').isDisabled()) throw new Error('Send is still disabled');
      const cls = await lastAssistant().getAttribute('class');
      if (/\binterrupted\b|\belsewhere-reply\b/.test(cls)) throw new Error(`the finished reply has class "${cls}"`);
      const { code, stderr } = await ask.done;
      if (code !== 0) throw new Error(`atmos ai ask exited ${code}: ${stderr.trim()}`);
    } finally {
      ask.child.kill();
    }
  });

  await check('the title shows in the header and the Sessions view; setting it from the header', async () => {
    const titleButton = chat().locator('button[aria-label="Title"]');
    await titleButton.waitFor({ timeout: T });
    const made = await until('a title made from the first exchange', async () => {
      const t = (await titleButton.innerText({ timeout: 2000 })).trim();
      return t && !(await titleButton.getAttribute('class')).includes('placeholder') ? t : false;
    }, 15000);
    // use_ai_summary is off in the workspace: the title is the first line of the first question.
    if (made !== first) throw new Error(`the title made from the first exchange is ${JSON.stringify(made)}, want ${JSON.stringify(first)}`);
    await titleButton.click();
    await answerInputBox('Production VPC layout');
    await until('the new title in the header', async () =>
      (await titleButton.innerText({ timeout: 2000 })).trim() === 'Production VPC layout', 10000);
    await runCommand('Atmos: Focus on Sessions View');
    await page.locator('.part.sidebar .monaco-list-row', { hasText: 'Production VPC layout' }).first().waitFor({ timeout: T });
    const stored = atmos('ai', 'sessions', 'list', '--format', 'json').sessions.find((s) => s.name === sessionName);
    if (!stored || stored.title !== 'Production VPC layout') throw new Error(`the stored title is ${JSON.stringify(stored && stored.title)}`);
    const usage = await chat().locator('.session-info .usage').innerText({ timeout: 2000 });
    if (!/[\d.]+k? in · [\d.]+k? out/.test(usage)) throw new Error(`the header shows no token usage: ${JSON.stringify(usage)}`);
    log('usage:', usage);
  });

  await check('Pin a message, then "Fork from here": the fork opens, "forked from" in the header', async () => {
    const firstUser = chat().locator('#transcript > .message.user').first();
    await firstUser.locator('button.msg-action[data-action="pin"]').click({ timeout: 5000 });
    await until('the message marked pinned', async () =>
      /\bpinned\b/.test(await chat().locator('#transcript > .message.user').first().getAttribute('class', { timeout: 2000 })), 10000);
    await chat().locator('#transcript > .message.user').first().locator('button.msg-action[data-action="unpin"]').waitFor({ timeout: 5000 });
    const firstReply = chat().locator('#transcript > .message.assistant').first();
    await firstReply.locator('button.msg-action[data-action="fork"]').click({ timeout: 5000 });
    await answerInputBox('');
    const forkName = `${sessionName}-fork`;
    await until('the fork open in the panel', async () =>
      (await chat().locator('.forked-from').innerText({ timeout: 2000 })).includes(`forked from ${sessionName}`), 15000);
    const n = await chat().locator('#transcript > .message').count();
    if (n !== 2) throw new Error(`the fork shows ${n} messages, want 2 (up to the first reply)`);
    if (!sessionNames().includes(forkName)) throw new Error(`${forkName} is not stored: ${JSON.stringify(sessionNames())}`);
    if (!/\bpinned\b/.test(await chat().locator('#transcript > .message.user').first().getAttribute('class'))) {
      log('note: the fork did not keep the pin');
    }
    sessionName = forkName;
  });

  await check('a secret in a message is masked: "Masked 1 secret before sending"', async () => {
    await sendAndWait('why does this fail? password: hunter2secret', (x) => x.includes('echo:'), 'the reply to the secret');
    await until('the notice', async () =>
      (await chat().locator('#transcript .notice').innerText({ timeout: 2000 })).includes('Masked 1 secret before sending'), 10000);
    const users = await chat().locator('#transcript .message.user .content').allInnerTexts();
    if (users.some((u) => u.includes('hunter2secret'))) throw new Error('the transcript still shows the secret');
    const reqs = await fake('GET', '/__fake/requests');
    if (JSON.stringify(reqs).includes('hunter2secret')) throw new Error('the provider got the secret');
  });

  await check('"Atmos: Back Up Sessions Database" says where the copy is', async () => {
    await runCommand('Atmos: Back Up Sessions Database');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Backed up the sessions database to' }).first();
    await toast.waitFor({ timeout: T });
    const text = await toast.innerText();
    const m = /Backed up the sessions database to (.+) \(\d/.exec(text);
    if (!m) throw new Error(`the notification says ${JSON.stringify(text)}`);
    const file = path.isAbsolute(m[1]) ? m[1] : path.join(WORKSPACE, m[1]);
    if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
    log('backup:', file);
    await page.keyboard.press('Escape');
  });

  await check('screenshot sessions.png: the Sessions view', async () => {
    // widen the side bar so the row's description (provider, messages, created) fits
    const sb = await page.locator('.part.sidebar').boundingBox();
    if (sb) {
      const x = sb.x + sb.width + 1, y = sb.y + sb.height / 2;
      await page.mouse.move(x, y);
      await page.mouse.down();
      await page.mouse.move(x + 160, y, { steps: 8 });
      await page.mouse.up();
    }
    await page.locator('.part.sidebar .monaco-list-row', { hasText: sessionName }).first().click();
    await sleep(400);
    log('saved', await shot('sessions.png'));
  });

  await check('screenshot chat.png: a conversation with a highlighted code block', async () => {
    await runCommand('View: Toggle Maximized Panel');
    const reply = [
      'A VPC for production, as an Atmos stack:\n\n',
      '```yaml\ncomponents:\n  terraform:\n    vpc:\n      vars:\n',
      '        ipv4_primary_cidr_block: 10.100.0.0/18\n        availability_zones: [a, b, c]\n',
      '        nat_gateway_enabled: true\n```\n\n',
      'Each zone gets a **public** subnet for the load balancers and a **private** one for the EKS nodes.',
    ];
    await fake('POST', '/__fake/reply', { deltas: reply, delayMs: 50 });
    await sendAndWait('How should I lay out the production VPC?', (x) => x.includes('EKS nodes'), 'the code block reply');
    const code = lastAssistant().locator('.content pre code').first();
    await code.waitFor({ timeout: 5000 });
    if (!(await code.innerText()).includes('ipv4_primary_cidr_block')) throw new Error('code block not rendered');
    const tokens = await code.locator('span[class*="hljs-"]').count();
    if (!tokens) throw new Error('code block is not highlighted (no hljs-* spans)');
    const colors = await code.evaluate((el) => [...new Set([el, ...el.querySelectorAll('span')]
      .map((n) => getComputedStyle(n).color))]);
    log(`code block: ${tokens} highlighted tokens in ${colors.length} colors ${colors.join(' ')}`);
    const copy = await lastAssistant().locator('button[aria-label*="Copy" i], button[title*="Copy" i]').count();
    if (!copy) throw new Error('code block has no Copy button');
    await sleep(400);
    log('saved', await shot('chat.png'));
  });

  await browser.close().catch(() => {});
  browser = null;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch(async (e) => {
  console.log(`not ok - driver: ${e && e.stack || e}`);
  if (page) await shot('failure.png').then((p) => console.log(`# screenshot: ${p}`)).catch(() => {});
  if (browser) await browser.close().catch(() => {});
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});

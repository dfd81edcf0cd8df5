"""Live sessions, fork, pin, uncompact, titles, cost, redaction and backup: a real Neovim
against the real server, with other processes (`atmos ai ask`, `atmos ai sessions …`) on the
same project acting on the sessions it shows."""

import json
import os
import subprocess

from conftest import ATMOS, write_config

CHAT = "require('atmos.chat').current"


def open_chat(nvim, name):
    nvim.cmd(f"AtmosChat {name}")
    nvim.wait(f"{CHAT} and {CHAT}.session.name == {json.dumps(name)} and {CHAT}.loaded",
              what=f"the chat of {name}")


def header(nvim):
    return nvim.lua(f"return vim.b[{CHAT}.buf].atmos_header")


def noted(nvim, text):
    """Waits for a notification containing `text` (plain); returns it."""
    return nvim.wait(f"(vim.iter(_G.test_notes):find(function(n) return n.msg:find({json.dumps(text)}, 1, true) end) or {{}}).msg",
                     what=f"a notification with {text!r}")


def text_has(text):
    return f"table.concat(vim.api.nvim_buf_get_lines({CHAT}.buf, 0, -1, false), '\\n'):find({json.dumps(text)}, 1, true) ~= nil"


def cursor_on(nvim, text):
    """Puts the cursor of the transcript window on the first line containing `text`."""
    nvim.lua(f"""
      local c = {CHAT}
      local win = vim.fn.win_findbuf(c.buf)[1]
      vim.api.nvim_set_current_win(win)
      for i, l in ipairs(vim.api.nvim_buf_get_lines(c.buf, 0, -1, false)) do
        if l:find(..., 1, true) then vim.api.nvim_win_set_cursor(win, {{ i, 0 }}) return end
      end
      error('no line has ' .. ...)""", text)


def long(q):
    # Long enough that a summary of it is shorter (a few words are never compacted).
    return f"{q}: " + "the staging VPC peers with shared services and must not overlap. " * 6


def ask_elsewhere(project, session, question):
    """`atmos ai ask --session` in another process, on the same project."""
    return subprocess.Popen([ATMOS, "ai", "ask", "--session", session, question], cwd=project.root,
                            env=project.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_a_turn_taken_in_another_process_appears_live(nvim, fake, project):
    open_chat(nvim, "shared")
    nvim.wait(f"{CHAT}.live == 'on'", what="the subscription")

    # A slow reply, asked from the terminal while Neovim shows the session.
    fake.reply([f"part{i} " for i in range(12)], delay_ms=250)
    ask = ask_elsewhere(project, "shared", "asked in the terminal")
    try:
        nvim.wait(text_has("asked in the terminal"), what="the question from elsewhere")
        nvim.wait(f"{CHAT}.replying_elsewhere == true", what="replying elsewhere")
        assert "replying elsewhere…" in header(nvim)
        # The reply streams in before the other process is done.
        nvim.wait(text_has("part2 "), what="the reply streaming in")
        assert ask.poll() is None, "the reply came in only once the other process had finished"
        assert "replying elsewhere…" in nvim.chat_text(), "the streaming reply's heading says so"
        # Sending meanwhile is refused clearly; the message stays in the input.
        nvim.type_and_send("me too")
        noted(nvim, "replying elsewhere")
        assert nvim.lua(f"return vim.api.nvim_buf_get_lines({CHAT}.input, 0, -1, false)") == ["me too"]
        assert ask.wait(timeout=30) == 0, ask.stderr.read()
    finally:
        if ask.poll() is None:
            ask.kill()
            ask.wait()

    nvim.wait(f"{CHAT}.replying_elsewhere == false and " + text_has("part11"), what="the whole reply")
    assert "replying elsewhere" not in header(nvim)
    assert "replying elsewhere" not in nvim.chat_text()
    text = nvim.chat_text()
    assert text.count("asked in the terminal") == 1 and text.count("part0 ") == 1, text
    stored = project.export("shared")["messages"]
    shown = nvim.lua(f"return vim.tbl_map(function(m) return {{ m.id and tostring(m.id) or '', m.content }} end, {CHAT}.messages)")
    assert [m["content"] for m in stored] == [c for _, c in shown]
    assert "2 msgs" in header(nvim)

    # Free again: the message waiting in the input goes now.
    nvim.type_and_send("me too")
    nvim.idle()
    assert "echo: me too" in nvim.chat_text()

    # Two more turns elsewhere, then a compaction elsewhere rewrites the history: the chat
    # reads it again and shows the summary fold.
    for q in ("one", "two"):
        ask = ask_elsewhere(project, "shared", long(q))
        assert ask.wait(timeout=30) == 0, ask.stderr.read()
    nvim.wait(text_has("echo: two:"), what="the second turn from elsewhere")
    project.atmos("ai", "sessions", "compact", "shared")
    nvim.wait(f"vim.iter(vim.api.nvim_buf_get_lines({CHAT}.buf, 0, -1, false)):any(function(l) return l:find('^## Summary') end)",
              what="the summary of the compaction made elsewhere")
    assert nvim.lua(f"return #vim.tbl_filter(function(m) return m.archived end, {CHAT}.messages)") > 0
    errs, _ = nvim.errors()
    assert errs == [], errs


def test_hidden_chats_are_unsubscribed_and_catch_up_when_shown(nvim, fake, project):
    open_chat(nvim, "away")
    nvim.wait(f"{CHAT}.live == 'on'")
    nvim.n.input("<Esc>q")  # close the chat windows (in the input window)
    nvim.wait(f"{CHAT}.live == 'off'", what="the unsubscription")
    project.atmos("ai", "ask", "--session", "away", "while you were away")
    nvim.cmd("AtmosChat away")
    nvim.wait(f"{CHAT}.live == 'on'")
    nvim.wait(text_has("echo: while you were away"), what="the turn made while hidden")
    assert nvim.chat_text().count("while you were away") == 2  # the question and the echo


def test_renames_and_deletes_made_elsewhere_reach_the_chat(nvim, project):
    open_chat(nvim, "moving")
    project.atmos("ai", "sessions", "rename", "moving", "moved")
    nvim.wait(f"vim.api.nvim_buf_get_name({CHAT}.buf) == 'atmos://chat/moved'", what="the rename made elsewhere")
    assert header(nvim).startswith("moved")
    # The session list is read again each time it opens: a session made elsewhere is there.
    project.atmos("ai", "sessions", "create", "made-elsewhere")
    nvim.cmd("AtmosSessions")
    nvim.wait("_G.test_prompts[1] ~= nil")
    items = nvim.lua("return _G.test_prompts[1].items")
    assert any(i.startswith("made-elsewhere") for i in items) and any(i.startswith("moved") for i in items), items
    project.atmos("ai", "sessions", "delete", "moved", "--yes")
    nvim.wait(f"{CHAT}.deleted == true", what="the delete made elsewhere")
    assert "deleted" in header(nvim)


def test_fork_at_the_message_under_the_cursor(nvim, project):
    open_chat(nvim, "base")
    for q in ("first question", "second question"):
        nvim.type_and_send(q)
        nvim.idle()
    # The ids of what this chat sent are known once the turn is stored.
    nvim.wait(f"vim.iter({CHAT}.messages):all(function(m) return m.id ~= nil end)", what="the message ids")

    cursor_on(nvim, "echo: first question")
    nvim.cmd("AtmosFork alt")
    nvim.wait(f"{CHAT}.session.name == 'alt' and {CHAT}.loaded", what="the fork's chat")
    noted(nvim, "forked base at message")
    assert "forked from base" in header(nvim)
    nvim.wait(f"#{CHAT}.messages == 2")
    text = nvim.chat_text()
    assert "first question" in text and "echo: first question" in text and "second question" not in text
    stored = project.export("alt")["messages"]
    assert [m["content"] for m in stored] == ["first question", "echo: first question"]

    # From the input window: at the newest message; named NAME-fork by the server.
    nvim.cmd("AtmosChat base")
    nvim.wait(f"{CHAT}.session.name == 'base'")
    nvim.cmd("AtmosFork")
    nvim.wait(f"{CHAT}.session.name == 'base-fork' and {CHAT}.loaded", what="the default-named fork")
    nvim.wait(f"#{CHAT}.messages == 4")
    assert project.sessions()["base-fork"]["forkedFrom"]["name"] == "base"


def test_pin_marks_the_message_and_keeps_it_out_of_compaction(nvim, project):
    open_chat(nvim, "pins")
    for q in ("one", "two", "three"):
        nvim.type_and_send(long(q))
        nvim.idle()
    nvim.wait(f"vim.iter({CHAT}.messages):all(function(m) return m.id ~= nil end)", what="the message ids")

    cursor_on(nvim, "echo: one:")
    nvim.cmd("AtmosPin")
    nvim.wait(f"{CHAT}.messages[2].pinned == true", what="the pin")
    noted(nvim, "pinned")
    assert any(line.startswith("## Assistant") and "📌 pinned" in line for line in nvim.chat_text().split("\n"))
    pinned_id = nvim.lua(f"return {CHAT}.messages[2].id")
    listed = nvim.lua(f"""
      local c = {CHAT}
      return require('atmos.client').request_sync(c.root, 'atmos/session/messages', {{ id = c.session.id }})""")
    assert [m["id"] for m in listed["messages"] if m.get("pinned")] == [pinned_id]

    # The key in the transcript toggles it too (here on the first question).
    cursor_on(nvim, long("one")[:40])
    nvim.n.input("gp")
    nvim.wait(f"{CHAT}.messages[1].pinned == true", what="the pin by key")
    nvim.n.input("gp")
    nvim.wait(f"not {CHAT}.messages[1].pinned", what="the unpin by key")

    # Compaction keeps the pinned message active (and still marked).
    nvim.cmd("AtmosCompact")
    noted(nvim, "compacted")
    nvim.wait(f"vim.iter(vim.api.nvim_buf_get_lines({CHAT}.buf, 0, -1, false)):any(function(l) return l:find('^## Summary') end)")
    pinned = nvim.lua(f"return vim.tbl_filter(function(m) return m.id == {json.dumps(pinned_id)} end, {CHAT}.messages)[1]")
    assert pinned["pinned"] is True and not pinned.get("archived"), pinned
    assert nvim.lua(f"return vim.tbl_filter(function(m) return m.archived end, {CHAT}.messages)"), "something was compacted"
    assert "📌 pinned" in nvim.chat_text()

    # A summary cannot be pinned: said clearly, nothing sent.
    cursor_on(nvim, "## Summary")
    nvim.cmd("AtmosPin")
    noted(nvim, "a summary cannot be pinned")


def test_uncompact_restores_the_messages_and_dims_the_summary(nvim, project):
    open_chat(nvim, "undo")
    for q in ("one", "two", "three"):
        nvim.type_and_send(long(q))
        nvim.idle()
    nvim.cmd("AtmosCompact")
    noted(nvim, "compacted")
    nvim.wait(f"vim.iter({CHAT}.messages):any(function(m) return m.archived end)", what="archived messages")

    nvim.cmd("AtmosUncompact")
    noted(nvim, "restored")
    nvim.wait(f"not vim.iter({CHAT}.messages):any(function(m) return m.archived and not m.isSummary end)",
              what="the messages restored")
    lines = nvim.chat_text().split("\n")
    summary = next(i for i, line in enumerate(lines) if line.startswith("## Summary of messages"))
    assert "undone (archived)" in lines[summary], lines[summary]
    # The undone summary is dimmed (an AtmosArchived highlight over its lines).
    dimmed = nvim.lua(f"""
      local c = {CHAT}
      local ns = vim.api.nvim_get_namespaces()['atmos.archived']
      local rows = {{}}
      for _, m in ipairs(vim.api.nvim_buf_get_extmarks(c.buf, ns, 0, -1, {{ details = true }})) do
        if m[4].hl_group == 'AtmosArchived' then table.insert(rows, m[2]) end
      end
      return rows""")
    assert summary in dimmed, (summary, dimmed)
    # The restored messages are plain messages again, in their place.
    for q in ("one", "two", "three"):
        assert f"echo: {q}:" in nvim.chat_text()


def test_titles_in_the_header_and_the_picker(nvim, project):
    open_chat(nvim, "titled")
    nvim.type_and_send("How should I lay out the production VPC?\nWith three AZs.")
    nvim.idle()
    # The title is made from the first exchange: the first line of the first question.
    nvim.wait(f"{CHAT}.session.title ~= nil", what="the title")
    assert "titled — How should I lay out the production VPC?" in header(nvim)

    nvim.cmd("AtmosTitle Production VPC layout")
    nvim.wait(f"{CHAT}.session.title == 'Production VPC layout'")
    assert header(nvim).startswith("titled — Production VPC layout")
    assert project.sessions()["titled"]["title"] == "Production VPC layout"
    nvim.cmd("AtmosSessions")
    nvim.wait("_G.test_prompts[1] ~= nil")
    assert any(i.startswith("titled — Production VPC layout") for i in nvim.lua("return _G.test_prompts[1].items"))

    nvim.cmd("AtmosTitle!")
    nvim.wait(f"{CHAT}.session.title == nil", what="the title cleared")
    assert header(nvim).startswith("titled · ")


def test_the_header_shows_tokens_and_cost(nvim, fake, project):
    write_config(project.root, fake.url, pricing=(3.0, 15.0))
    open_chat(nvim, "priced")
    fake.reply(["a priced answer"], input_tokens=1000, output_tokens=200)
    nvim.type_and_send("how much?")
    nvim.idle()
    # (1000 × 3 + 200 × 15) / 1e6 = $0.0060
    nvim.wait(f"vim.b[{CHAT}.buf].atmos_header:find('$0.0060', 1, true) ~= nil", what="the cost")
    assert "used 1000 in / 200 out" in header(nvim)
    winbar = nvim.lua(f"return vim.wo[vim.fn.win_findbuf({CHAT}.buf)[1]].winbar")
    assert "$0.0060" in winbar


def test_no_cost_without_pricing(nvim, project):
    open_chat(nvim, "unpriced")
    nvim.type_and_send("free?")
    nvim.idle()
    nvim.wait(f"vim.b[{CHAT}.buf].atmos_header:find(' in / ', 1, true) ~= nil", what="the token counters")
    assert "$" not in header(nvim)


def test_masked_secrets_are_announced(nvim, fake, project):
    write_config(project.root, fake.url, redact=True)
    open_chat(nvim, "secrets")
    nvim.type_and_send("connect with password: hunter2 to the db")
    nvim.idle()
    msg = noted(nvim, "masked 1 secret")
    assert "hunter2" not in msg
    assert "hunter2" not in json.dumps(fake.requests()[-1]["body"])
    # The transcript shows the question as it was stored: masked.
    nvim.wait(text_has("[REDACTED]"), what="the masked question")
    assert "hunter2" not in nvim.chat_text()
    # Nothing to mask: nothing said.
    nvim.type_and_send("nothing secret here")
    nvim.idle()
    assert sum("masked" in n["msg"] for n in nvim.notes()) == 1


def test_backup_writes_the_database_and_says_where(nvim, project, tmp_path):
    project.atmos("ai", "sessions", "create", "keep-me")
    nvim.cmd("AtmosBackup")
    msg = noted(nvim, "backed up the sessions database to")
    path = msg.split(" to ", 1)[1].rsplit(" (", 1)[0]
    assert path == str(project.root / ".atmos" / "sessions" / "sessions.db.backup"), path
    assert os.path.getsize(path) > 0

    target = tmp_path / "copy.db"
    nvim.cmd(f"AtmosBackup {target}")
    msg = noted(nvim, str(target))
    assert target.exists() and f"({target.stat().st_size} bytes)" in msg, msg


def test_headings_carry_pins_and_archived_messages_are_dimmed(nvim):
    def msg(i, role, **kw):
        base = dict(id=str(i), role=role, content=f"m{i}", createdAt="2026-11-01T10:00:00Z",
                    archived=False, isSummary=False, interrupted=False)
        return {**base, **kw}

    messages = [
        msg(1, "user", pinned=True), msg(2, "assistant", archived=True),
        msg(3, "system", content="S1", isSummary=True, archived=True, summaryRange={"from": "1", "to": "2"}),
        msg(4, "user"), msg(5, "assistant", interrupted=True),
    ]
    out = nvim.lua("""
      local msgs, streaming = ...
      local lines, _, r = require('atmos.transcript').render(msgs, { streaming = streaming })
      return { lines = lines, marks = vim.tbl_map(function(m) return { m.line, m.msg.id } end, r.marks), dim = r.dim }""",
                   messages, True)
    lines = out["lines"]
    assert lines[0] == "## You · 2026-11-01 10:00 · 📌 pinned"
    # The undone summary stays where it was, with the archived message it had replaced.
    assert "## Summary of messages 1–2 · 2026-11-01 10:00 · undone (archived)" in lines
    assert "### Assistant · 2026-11-01 10:00 · archived" in lines
    # The newest reply, still written elsewhere, says so instead of "interrupted".
    assert lines[out["marks"][-1][0] - 1] == "## Assistant · 2026-11-01 10:00 · replying elsewhere…"
    # Every heading is marked with its message; the archived ones are dimmed.
    assert [m[1] for m in out["marks"]] == ["1", "3", "2", "4", "5"]
    for line, _ in out["marks"]:
        assert lines[line - 1].startswith("#")
    dimmed = {line for first, last in out["dim"] for line in range(first, last + 1)}
    heading = {i: line for line, i in out["marks"]}
    assert heading["2"] in dimmed and heading["3"] in dimmed
    assert heading["1"] not in dimmed and heading["4"] not in dimmed


def test_updates_from_elsewhere_are_drawn_in_place(nvim, project):
    """`atmos/session/updated` as the server sends it, through the plugin's own handler:
    new messages are appended, a message already shown is replaced by id, and the heading
    of a reply still written elsewhere says so until it is done."""
    open_chat(nvim, "drawn")
    nvim.type_and_send("hello")
    nvim.idle()
    nvim.wait(f"vim.iter({CHAT}.messages):all(function(m) return m.id ~= nil end)", what="the message ids")
    nvim.lua(f"{CHAT}.live = 'on'")  # as subscribed (whatever this server supports)
    session = nvim.lua(f"return {CHAT}.session")
    base = dict(createdAt="2026-11-01T10:00:00Z", archived=False, isSummary=False, interrupted=False)

    def updated(replying, *messages):
        gen = nvim.lua(f"return {CHAT}.gen")
        nvim.lua(f"""
          local c = {CHAT}
          local s = require('atmos.client').server(c.root)
          vim.lsp.get_client_by_id(s.client_id).handlers['atmos/session/updated'](nil, ...,
            {{ client_id = s.client_id, method = 'atmos/session/updated' }})""",
                 dict(sessionId=session["id"], session=session, replyingElsewhere=replying, reload=False,
                      messages=list(messages)))
        return nvim.wait(f"{CHAT}.gen > {gen} and table.concat(vim.api.nvim_buf_get_lines({CHAT}.buf, 0, -1, false), '\\n')")

    updated(True, dict(base, id="100", role="user", content="from afar"))
    updated(True, dict(base, id="101", role="assistant", content="partial", interrupted=True))
    text = updated(True, dict(base, id="101", role="assistant", content="partial and more\nlines", interrupted=True))
    assert text.endswith("## You · 2026-11-01 10:00\n\nfrom afar\n\n"
                         "## Assistant · 2026-11-01 10:00 · replying elsewhere…\n\npartial and more\nlines\n"), text
    assert "replying elsewhere…" in header(nvim)
    text = updated(False, dict(base, id="101", role="assistant", content="partial and more\nlines, done"))
    assert text.count("from afar") == 1 and text.count("partial") == 1, text
    assert text.endswith("## Assistant · 2026-11-01 10:00\n\npartial and more\nlines, done\n"), text
    assert "replying elsewhere" not in header(nvim)
    assert nvim.lua(f"return vim.tbl_map(function(m) return m.id end, {CHAT}.messages)") == ["1", "2", "100", "101"]
    # The view followed the end; each line knows its message.
    win = nvim.lua(f"return vim.fn.win_findbuf({CHAT}.buf)[1]")
    assert nvim.lua(f"return vim.api.nvim_win_get_cursor({win})[1] == vim.api.nvim_buf_line_count({CHAT}.buf)")
    last = nvim.lua(f"local c = {CHAT}; return require('atmos.marks').message_at(c, vim.api.nvim_buf_line_count(c.buf) - 1).id")
    assert last == "101"

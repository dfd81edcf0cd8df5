"""The Neovim plugin end to end: a real Neovim, the real `atmos ai serve`, the fake provider."""

import json
from pathlib import Path

from conftest import ATMOS, Nvim, write_config

CHAT = "require('atmos.chat').current"


def open_chat(nvim, name):
    nvim.cmd(f"AtmosChat {name}")
    nvim.wait(f"{CHAT} and {CHAT}.session.name == {json.dumps(name)}", what=f"the chat of {name}")


def last_request_text(fake):
    return json.dumps(fake.requests()[-1]["body"])


def test_chat_streams_the_reply_and_sends_the_history(nvim, fake, project):
    open_chat(nvim, "vpc-design")
    assert nvim.lua(f"return vim.api.nvim_buf_get_name({CHAT}.buf)") == "atmos://chat/vpc-design"
    assert nvim.lua(f"return vim.bo[{CHAT}.buf].filetype") == "markdown"

    # A slow reply shows its first pieces before the last one has arrived.
    fake.reply(["Use three ", "availability zones ", "for production."], delay_ms=400)
    nvim.type_and_send("How should I lay out the production VPC?")
    nvim.wait(f"{CHAT}.reply_text:find('Use three', 1, true) ~= nil", what="the first delta")
    assert "for production." not in nvim.chat_text(), "the reply was not streamed"
    nvim.idle()
    text = nvim.chat_text()
    assert "How should I lay out the production VPC?" in text
    assert "Use three availability zones for production." in text
    assert nvim.lua(f"return vim.api.nvim_buf_get_lines({CHAT}.input, 0, -1, false)") == [""]

    # The view follows the end while the reply streams...
    win = nvim.lua(f"return vim.fn.win_findbuf({CHAT}.buf)[1]")
    cursor = f"vim.api.nvim_win_get_cursor({win})[1]"
    last = f"vim.api.nvim_buf_line_count({CHAT}.buf)"
    fake.reply(["a\n", "b\n", "c\n", "d"], delay_ms=300)
    nvim.type_and_send("follow me")
    nvim.wait(f"{CHAT}.reply_text:find('b', 1, true) ~= nil")
    assert nvim.lua(f"return {cursor} == {last}")
    # ...unless the reader moved up: then it stays where they are.
    nvim.lua(f"vim.api.nvim_win_set_cursor({win}, {{ 1, 0 }})")
    nvim.idle()
    assert nvim.lua(f"return {cursor}") == 1
    # The second turn sent the history: user, assistant, user.
    assert len(fake.requests()[-1]["body"]["messages"]) == 3

    nvim.type_and_send("and staging?")
    nvim.idle()
    assert "echo: and staging?" in nvim.chat_text()
    # The third turn sent the whole conversation: user, assistant, user, assistant, user.
    assert len(fake.requests()[-1]["body"]["messages"]) == 5

    header = nvim.lua(f"return vim.b[{CHAT}.buf].atmos_header")
    for part in ("vpc-design", "[anthropic] claude-sonnet-4-5", "skill general", "6 msgs", "tokens"):
        assert part in header, header
    winbar = nvim.lua(f"return vim.wo[vim.fn.win_findbuf({CHAT}.buf)[1]].winbar")
    assert "vpc-design" in winbar

    stored = project.export("vpc-design")["messages"]
    assert [m["role"] for m in stored] == ["user", "assistant"] * 3


def test_cancel_keeps_the_partial_reply_marked_interrupted(nvim, fake, project):
    open_chat(nvim, "slow")
    fake.reply([f"piece{i} " for i in range(30)], delay_ms=300)
    nvim.type_and_send("write a long answer")
    nvim.wait(f"{CHAT}.reply_text:find('piece1 ', 1, true) ~= nil", what="two deltas")
    nvim.n.input("<C-c>")  # in the input window, normal mode
    nvim.wait(f"{CHAT}.request == nil", what="the cancel")
    assert "## Assistant" in nvim.chat_text() and "interrupted" in nvim.chat_text()

    def stored():
        msgs = project.export("slow")["messages"]
        return msgs[-1] if msgs and msgs[-1]["role"] == "assistant" else None

    import time
    deadline = time.monotonic() + 15
    while not stored() and time.monotonic() < deadline:
        time.sleep(0.1)
    reply = stored()
    assert reply, "the partial reply was not stored"
    assert reply.get("interrupted") is True
    assert reply["content"].startswith("piece0 piece1 ")
    assert "piece29" not in reply["content"]
    # The transcript is reloaded from what the server stored, still marked.
    nvim.wait(f"table.concat(vim.api.nvim_buf_get_lines({CHAT}.buf, 0, -1, false), '\\n'):find('interrupted', 1, true) ~= nil")
    assert any("stopped" in n["msg"] for n in nvim.notes())

    # Stop, then send at once: the message waits for the stopped turn to be stored
    # instead of failing as busy.
    fake.reply([f"more{i} " for i in range(30)], delay_ms=300)
    nvim.type_and_send("another long one")
    nvim.wait(f"{CHAT}.reply_text:find('more0', 1, true) ~= nil")
    nvim.n.input("<C-c>")
    nvim.type_and_send("short question")
    nvim.wait("require('atmos.chat').current.messages[#require('atmos.chat').current.messages].content == 'echo: short question'",
              what="the queued message's reply")
    errs, _ = nvim.errors()
    assert errs == [], errs
    roles = [(m["role"], m.get("interrupted", False)) for m in project.export("slow")["messages"]]
    assert roles[-4:] == [("user", False), ("assistant", True), ("user", False), ("assistant", False)], roles


def test_sessions_picker_opens_renames_and_deletes(nvim, project):
    project.atmos("ai", "sessions", "create", "alpha")
    project.atmos("ai", "sessions", "create", "beta")

    nvim.answer("alpha", "Open")
    nvim.cmd("AtmosSessions")
    nvim.wait(f"{CHAT} and {CHAT}.session.name == 'alpha'", what="alpha opened")
    items = nvim.lua("return _G.test_prompts[1].items")
    assert any("alpha" in i and "[anthropic]" in i and "0 msgs" in i for i in items), items
    assert nvim.lua("return _G.test_prompts[2].items") == [
        "Open", "Rename", "Delete", "Export as JSON", "Export as YAML", "Export as Markdown"]

    nvim.answer("beta", "Rename", "beta-2")
    nvim.cmd("AtmosSessions")
    nvim.wait("vim.iter(_G.test_notes):any(function(n) return n.msg:find('renamed beta to beta%-2') end)")
    assert "beta-2" in project.sessions() and "beta" not in project.sessions()

    nvim.answer("beta-2", "Delete", "Delete")
    nvim.cmd("AtmosSessions")
    nvim.wait("vim.iter(_G.test_notes):any(function(n) return n.msg:find('deleted session beta%-2') end)")
    assert set(project.sessions()) == {"alpha"}
    confirm = nvim.lua("return _G.test_prompts[#_G.test_prompts].prompt")
    assert "cannot be undone" in confirm

    nvim.answer("alpha", "Export as YAML")
    nvim.cmd("AtmosSessions")
    nvim.wait("vim.bo.filetype == 'yaml'", what="the export buffer")
    assert "name: alpha" in "\n".join(nvim.n.current.buffer[:])


def test_search_shows_snippets_and_opens_the_pick(nvim, project):
    project.atmos("ai", "ask", "--session", "tgw", "how do I attach the transit gateway?")
    project.atmos("ai", "sessions", "create", "other")
    nvim.answer("tgw")
    nvim.cmd("AtmosSearch transit gateway")
    nvim.wait(f"{CHAT} and {CHAT}.session.name == 'tgw'", what="tgw opened")
    items = nvim.lua("return _G.test_prompts[1].items")
    assert len(items) == 1 and "transit gateway" in items[0], items
    nvim.wait(f"table.concat(vim.api.nvim_buf_get_lines({CHAT}.buf, 0, -1, false)):find('echo: how do I attach', 1, true)")


def test_skill_and_model_switch_are_remembered_by_a_second_neovim(nvim, make_nvim, fake):
    open_chat(nvim, "review")
    nvim.answer("Security review")
    nvim.cmd("AtmosSkill")
    nvim.wait(f"{CHAT}.session.skill == 'security'")
    nvim.answer("openai", "gpt-4o-mini")
    nvim.cmd("AtmosModel")
    nvim.wait(f"{CHAT}.session.model == 'gpt-4o-mini'")
    providers = nvim.lua("return _G.test_prompts[#_G.test_prompts - 1].items")
    assert any(p.startswith("  gemini") and "GEMINI_API_KEY" in p for p in providers), providers

    other = make_nvim()
    open_chat(other, "review")
    header = other.lua(f"return vim.b[{CHAT}.buf].atmos_header")
    assert "[openai] gpt-4o-mini" in header and "skill security" in header, header
    other.type_and_send("check this IAM policy")
    other.idle()
    req = fake.requests()[-1]
    assert req["path"].endswith("/chat/completions") and req["body"]["model"] == "gpt-4o-mini"
    assert "You review AWS security settings." in json.dumps(req["body"])


def test_a_selection_goes_along_as_context(nvim, fake, project):
    stacks = project.root / "stacks"
    stacks.mkdir()
    f = stacks / "prod.yaml"
    f.write_text("components:\n  vpc:\n    cidr: 10.40.0.0/16\n    azs: 3\n")
    nvim.cmd(f"edit {f}")
    nvim.cmd("2,3AtmosAsk which CIDR is this?")
    nvim.wait(f"{CHAT} and {CHAT}.request == nil and #{CHAT}.messages == 2", what="the answer")
    body = last_request_text(fake)
    assert "cidr: 10.40.0.0/16" in body and "which CIDR is this?" in body
    assert "azs: 3" not in body, "only the selected lines go along"
    user = project.export(nvim.lua(f"return {CHAT}.session.name"))["messages"][0]
    ctx = user["context"][0]
    assert ctx["kind"] == "selection" and ctx["uri"].endswith("/stacks/prod.yaml")
    assert ctx["text"] == "  vpc:\n    cidr: 10.40.0.0/16"


def test_server_errors_are_notifications_not_tracebacks(nvim, fake, project, tmp_path):
    open_chat(nvim, "errors")
    fake.fault(401)
    nvim.type_and_send("hello?")
    nvim.wait("vim.iter(_G.test_notes):any(function(n) return n.level == vim.log.levels.ERROR end)")
    errs, _ = nvim.errors()
    assert any("anthropic" in e.lower() for e in errs), errs
    # The message is stored (the provider failed, the question stays); the chat is usable again.
    nvim.idle()
    nvim.type_and_send("second try")
    nvim.idle()
    # The provider is sent both questions (the failed turn's message was kept).
    assert nvim.lua(f"return {CHAT}.messages[#{CHAT}.messages].content").endswith("second try")
    assert "hello?" in nvim.lua(f"return {CHAT}.messages[#{CHAT}.messages].content")

    # Sessions disabled: the notification says how to turn them on.
    off = tmp_path / "off"
    off.mkdir()
    write_config(off, fake.url, sessions_enabled=False)
    nvim.cmd(f"cd {off}")
    nvim.cmd("wincmd t | enew")  # from a chat's buffer, commands act on that chat's project
    nvim.cmd("AtmosChat nope")
    nvim.wait("vim.iter(_G.test_notes):any(function(n) return n.msg:find('enabled: true', 1, true) end)")

    # A busy session (a turn running in another process) is refused clearly.
    nvim.cmd(f"cd {project.root}")
    fake.reply(["slow "] * 20, delay_ms=200)
    import subprocess
    busy = subprocess.Popen([ATMOS, "ai", "ask", "--session", "errors", "long one"], cwd=project.root,
                            env=project.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import time
        time.sleep(0.8)
        nvim.type_and_send("while busy")
        nvim.wait("vim.iter(_G.test_notes):any(function(n) return n.msg:find('busy', 1, true) or n.msg:find('another', 1, true) end)")
        assert nvim.lua(f"return vim.api.nvim_buf_get_lines({CHAT}.input, 0, -1, false)") == ["while busy"], \
            "the refused message goes back into the input"
    finally:
        busy.kill()
        busy.wait()


def test_commands_new_rename_compact_delete_clean(nvim, project):
    nvim.cmd("AtmosNew scratch")
    nvim.wait(f"{CHAT} and {CHAT}.session.name == 'scratch'")
    # Long enough that a summary of them is shorter (a few words are not
    # compacted: no summary would save anything).
    for q in ("one", "two", "three"):
        nvim.type_and_send(f"{q}: " + "the staging VPC peers with shared services and must not overlap. " * 6)
        nvim.idle()
    nvim.cmd("AtmosCompact")
    nvim.wait("vim.iter(_G.test_notes):any(function(n) return n.msg:find('compacted %d+ message') end)")
    # The summary and the messages it replaced form a closed fold.
    nvim.wait(f"vim.iter(vim.api.nvim_buf_get_lines({CHAT}.buf, 0, -1, false)):any(function(l) return l:find('^## Summary') end)")
    win = nvim.lua(f"return vim.fn.win_findbuf({CHAT}.buf)[1]")
    line = nvim.lua(f"""
      for i, l in ipairs(vim.api.nvim_buf_get_lines({CHAT}.buf, 0, -1, false)) do
        if l:find('^## Summary') then return i end
      end""")
    assert nvim.lua(
        "local win, line = ...; return vim.api.nvim_win_call(win, function() return vim.fn.foldclosed(line) end)",
        win, line) == line
    assert "echo: three" in nvim.chat_text()

    nvim.cmd("AtmosRename scratch-2")
    nvim.wait(f"vim.api.nvim_buf_get_name({CHAT}.buf) == 'atmos://chat/scratch-2'")
    assert "scratch-2" in project.sessions()

    nvim.cmd("AtmosDelete!")
    nvim.wait(f"{CHAT}.deleted == true")
    assert project.sessions() == {}

    project.atmos("ai", "sessions", "create", "old-1")
    project.atmos("ai", "sessions", "create", "old-2")
    nvim.cmd("AtmosClean! 0d")
    nvim.wait("vim.iter(_G.test_notes):any(function(n) return n.msg:find('deleted 2 session', 1, true) end)")
    assert project.sessions() == {}


def test_an_imported_session_shows_its_whole_transcript_with_folded_summaries(nvim, project):
    fixture = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "full-session.json"
    project.atmos("ai", "sessions", "import", str(fixture), "--name", "history")
    # Pages of two messages: the transcript is still whole.
    nvim.lua(f"require('atmos').setup({{ cmd = {{ {json.dumps(ATMOS)}, 'ai', 'serve' }}, page_size = 2 }})")
    open_chat(nvim, "history")
    nvim.wait(f"#{CHAT}.messages > 0")
    stored = project.export("history")
    assert nvim.lua(f"return #{CHAT}.messages") == len(stored["messages"]) + len(stored["summaries"])
    text = nvim.chat_text()
    first = next(i for i, line in enumerate(text.split("\n"), 1) if line.startswith("## Summary"))
    win = nvim.lua(f"return vim.fn.win_findbuf({CHAT}.buf)[1]")
    assert nvim.lua(
        "local win, line = ...; return vim.api.nvim_win_call(win, function() return vim.fn.foldclosed(line) end)",
        win, first) == first
    # Archived messages are there, inside the summary's fold.
    assert "Which CIDR for prod?" in text and "## Summary of messages" in text
    assert "interrupted" in text


def test_checkhealth_reports_no_error(nvim):
    nvim.cmd("checkhealth atmos")
    text = "\n".join(nvim.n.current.buffer[:])
    assert "atmos" in text and "OK" in text, text
    assert "ERROR" not in text, text
    assert "sessions enabled" in text and "anthropic (claude-sonnet-4-5), the default: ready" in text


def test_setup_without_arguments_and_lua_api(project):
    n = Nvim(project)
    try:
        n.lua("require('atmos').setup()")
        assert n.lua("return require('atmos.config').options.cmd") == ["atmos", "ai", "serve"]
        n.lua("require('atmos').setup({ width = -1 })")
        assert any("width" in x["msg"] for x in n.notes())
        for f in ("chat", "ask", "sessions", "cancel", "search"):
            assert n.lua(f"return type(require('atmos').{f})") == "function"
    finally:
        n.close()


def test_transcript_puts_each_summary_where_the_messages_it_replaced_were(nvim):
    def msg(i, role, archived=False, **kw):
        base = dict(id=str(i), role=role, content=f"m{i}", createdAt="2026-11-01T10:00:00Z",
                    archived=archived, isSummary=False, interrupted=False)
        return {**base, **kw}

    messages = [
        msg(1, "user", True), msg(2, "assistant", True),
        msg(3, "user"), msg(4, "assistant", interrupted=True),
        msg(5, "system", content="S1", isSummary=True, summaryRange={"from": "1", "to": "2"}),
        msg(6, "user"),
    ]
    lines, folds = nvim.lua("""
      local lines, folds = require('atmos.transcript').render(...)
      local pairs_ = {}
      for first, last in pairs(folds) do table.insert(pairs_, { first, last }) end
      return { lines, pairs_ }""", messages)
    text = "\n".join(lines)
    assert text.index("## Summary of messages 1–2") < text.index("### You") < text.index("m1") \
        < text.index("## You · 2026-11-01 10:00\n\nm3")
    assert "## Assistant · 2026-11-01 10:00 · interrupted" in text
    assert "### You · 2026-11-01 10:00 · archived" in text
    [[first, last]] = folds
    assert lines[first - 1].startswith("## Summary") and "m2" in "\n".join(lines[first - 1:last])
    assert "m3" not in "\n".join(lines[first - 1:last])


def test_a_missing_key_names_the_variable_and_keeps_the_message(nvim, fake, tmp_path):
    nokey = tmp_path / "nokey"
    nokey.mkdir()
    nokey.joinpath("atmos.yaml").write_text(f"""\
ai:
  default_provider: anthropic
  providers:
    anthropic:
      base_url: {fake.url}
      api_key_env: ATMOS_NVIM_TEST_UNSET_KEY
  sessions:
    enabled: true
""")
    nvim.cmd(f"cd {nokey}")
    open_chat(nvim, "keyless")
    nvim.type_and_send("will this reach anyone?")
    nvim.wait("vim.iter(_G.test_notes):any(function(n) return n.msg:find('ATMOS_NVIM_TEST_UNSET_KEY', 1, true) end)")
    # Nothing was stored: the message is back in the input, the transcript is empty again.
    assert nvim.lua(f"return vim.api.nvim_buf_get_lines({CHAT}.input, 0, -1, false)") == ["will this reach anyone?"]
    assert "will this reach anyone?" not in nvim.chat_text()
    assert fake.requests() == []

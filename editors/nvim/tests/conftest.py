"""Fixtures for the Neovim plugin's end-to-end tests: the real `atmos` binary, the fake
provider from tests/ (driven over HTTP), and a real embedded Neovim driven with pynvim."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pynvim
import pytest

REPO = Path(__file__).resolve().parents[3]
PLUGIN = REPO / "editors" / "nvim"
ATMOS = os.environ.get("ATMOS_BIN", str(REPO / "target" / "debug" / "atmos"))
FAKE = os.environ.get("FAKE_PROVIDER_BIN", str(REPO / "target" / "debug" / "fake-provider"))
NVIM = os.environ.get("NVIM_BIN", shutil.which("nvim") or "nvim")


class Fake:
    """The fake provider, as a process on 127.0.0.1, scripted under /__fake/."""

    def __init__(self):
        self.proc = subprocess.Popen([FAKE], stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.url

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def requests(self):
        """Every chat request the provider received, oldest first."""
        return [r for r in self._call("GET", "/__fake/requests") if r["method"] == "POST"]

    def reply(self, deltas, delay_ms=0, input_tokens=None, output_tokens=None):
        body = {"deltas": deltas, "delayMs": delay_ms}
        if input_tokens is not None:
            body.update(inputTokens=input_tokens, outputTokens=output_tokens)
        self._call("POST", "/__fake/reply", body)

    def fault(self, status):
        self._call("POST", "/__fake/fault", {"status": status})

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def fake():
    f = Fake()
    yield f
    f.stop()


def write_config(root: Path, fake_url: str, sessions_enabled=True, pricing=None, redact=False):
    """`pricing`: (input, output) USD per million tokens for anthropic; `redact`: mask secrets."""
    priced = f"\n      pricing:\n        input: {pricing[0]}\n        output: {pricing[1]}" if pricing else ""
    root.joinpath("atmos.yaml").write_text(f"""\
ai:
  default_provider: anthropic
  providers:
    anthropic:
      base_url: {fake_url}{priced}
    openai:
      base_url: {fake_url}/v1
  sessions:
    enabled: {"true" if sessions_enabled else "false"}
    redact: {"true" if redact else "false"}
    auto_compact:
      enabled: true
      preserve_recent: 2
      use_ai_summary: false
  skills:
    security:
      display_name: Security review
      description: Reviews IAM and security groups
      system_prompt: You review AWS security settings.
""")


class Project:
    def __init__(self, root: Path):
        self.root = root
        self.env = dict(os.environ, ANTHROPIC_API_KEY="test-key", OPENAI_API_KEY="test-key")

    def atmos(self, *args):
        """Runs the CLI in the project; returns its stdout (fails the test on a non-zero exit)."""
        out = subprocess.run([ATMOS, *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, f"atmos {' '.join(args)}: {out.stderr}"
        return out.stdout

    def sessions(self):
        listed = json.loads(self.atmos("ai", "sessions", "list", "--format", "json"))
        return {s["name"]: s for s in listed["sessions"]}

    def export(self, name):
        return json.loads(self.atmos("ai", "sessions", "export", name, "--format", "json"))


@pytest.fixture
def project(fake):
    d = Path(tempfile.mkdtemp(prefix="atmos-nvim-"))
    write_config(d, fake.url)
    yield Project(d)
    shutil.rmtree(d, ignore_errors=True)


class Nvim:
    """A real Neovim (embedded, headless) with the plugin loaded, in the project folder."""

    def __init__(self, project: Project):
        os.environ.update(ANTHROPIC_API_KEY="test-key", OPENAI_API_KEY="test-key")
        self.n = pynvim.attach("child", argv=[
            NVIM, "--embed", "--headless", "--clean", "-n",
            "--cmd", f"cd {project.root}",
            "-u", str(PLUGIN / "tests" / "minimal_init.lua"),
        ])
        self.lua(f"require('atmos').setup({{ cmd = {{ {json.dumps(ATMOS)}, 'ai', 'serve' }} }})")

    def lua(self, code, *args):
        return self.n.exec_lua(code, *args)

    def cmd(self, c):
        self.n.command(c)

    def wait(self, expr, timeout=20, what=None):
        """Polls a Lua expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.lua("return " + expr)
            if last:
                return last
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what or expr}; last value {last!r}; "
                             f"notes: {self.notes()}; messages: {self.n.command_output('messages')}")

    def notes(self):
        return self.lua("return _G.test_notes")

    def answer(self, *answers):
        self.lua("vim.list_extend(_G.test_answers, ...)", list(answers))

    def chat_text(self):
        return self.lua("""
          local c = require('atmos.chat').current
          if not c then return '' end
          return table.concat(vim.api.nvim_buf_get_lines(c.buf, 0, -1, false), '\\n')""")

    def type_and_send(self, text):
        """Types into the chat's input window and presses <CR> in normal mode (the real mapping)."""
        self.lua("""
          local c = require('atmos.chat').current
          local win = vim.fn.win_findbuf(c.input)[1]
          vim.api.nvim_set_current_win(win)
          vim.api.nvim_buf_set_lines(c.input, 0, -1, false, vim.split(..., '\\n'))""", text)
        self.n.input("<Esc>")
        self.n.input("<CR>")

    def idle(self, timeout=20):
        self.wait("require('atmos.chat').current and require('atmos.chat').current.request == nil", timeout, "the turn to end")

    def errors(self):
        """Notifications at ERROR level, and any Lua error Neovim printed."""
        errs = [n["msg"] for n in self.notes() if n["level"] >= 4]
        msgs = self.n.command_output("messages")
        return errs, msgs

    def close(self):
        try:
            self.n.command("qa!")
        except Exception:
            pass
        try:
            self.n.close()
        except Exception:
            pass


@pytest.fixture
def nvim(project):
    n = Nvim(project)
    yield n
    _, messages = n.errors()
    n.close()
    assert "stack traceback" not in messages, messages
    assert "E5108" not in messages and "Error executing" not in messages, messages


@pytest.fixture
def make_nvim(project):
    made = []

    def make():
        n = Nvim(project)
        made.append(n)
        return n

    yield make
    for n in made:
        n.close()

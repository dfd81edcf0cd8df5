//! `atmos ai chat` end to end: the real binary in a real terminal (tmux),
//! against the fake provider on 127.0.0.1. Keys go in with `send-keys`; the
//! screen comes back with `capture-pane`, polled until what is expected shows
//! (or a generous deadline passes: a hang guard, not a timing check).
//!
//! With `ATMOS_UPDATE_TUI_CAPTURE=1` the test also writes the screen after
//! the first reply to docs/tui-capture.txt (the README's picture of the TUI).

use atmos_tests::fake_provider::{FakeProvider, Reply};
use atmos_tests::project::{SCRUBBED_ENV, TestProject};
use atmos_tests::rpc_client::RpcServer;
use serde_json::json;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const ATMOS: &str = env!("CARGO_BIN_EXE_atmos");

/// A tmux server of its own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        let out = self.cmd(&["capture-pane", "-p", "-t", "tui"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with its colours and attributes as escape sequences.
    fn screen_with_colours(&self) -> String {
        let out = self.cmd(&["capture-pane", "-p", "-e", "-t", "tui"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `text` shows.
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("{text:?} never showed; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until `text` is gone.
    #[track_caller]
    fn wait_gone(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if !screen.contains(text) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("{text:?} never went away; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "tui"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }

    fn text(&self, text: &str) {
        assert!(
            self.cmd(&["send-keys", "-t", "tui", "-l", text])
                .status
                .success()
        );
    }

    fn alternate_on(&self) -> String {
        let out = self.cmd(&["display-message", "-p", "-t", "tui", "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// Whether tmux is there. Under CI (where scripts/test.sh installs it) a
/// missing tmux fails the test instead of skipping it.
fn tmux_available() -> bool {
    if tmux_installed() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "tmux is not installed, and CI must run this test (scripts/test.sh installs it)"
    );
    eprintln!("SKIPPED: tmux is not installed (scripts/test.sh installs it)");
    false
}

fn tmux_installed() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `atmos ai chat` in a new tmux server (120×40) in the project, run by a
/// shell that then prints how it ended and the terminal's modes.
fn start(project: &TestProject, name: &str) -> Tmux {
    start_command(project, name, "ai chat")
}

/// `atmos ARGS` (a shell word list) in a new tmux server, as [`start`].
fn start_command(project: &TestProject, name: &str, args: &str) -> Tmux {
    start_with_env(project, name, args, &[])
}

/// [`start_command`] with more environment variables.
fn start_with_env(project: &TestProject, name: &str, args: &str, env: &[(&str, &str)]) -> Tmux {
    let tmux = Tmux {
        socket: format!("atmos-tui-test-{}-{name}", std::process::id()),
    };
    let script = format!("'{ATMOS}' {args}; echo \"EXIT=$?\"; stty -a; sleep 60");
    let mut start = Command::new("tmux");
    start
        .args(["-L", &tmux.socket, "-f", "/dev/null"])
        .args(["new-session", "-d", "-x", "120", "-y", "40", "-s", "tui"])
        .arg("-c")
        .arg(project.root())
        .args(["sh", "-c", &script]);
    for var in SCRUBBED_ENV {
        start.env_remove(var);
    }
    start
        .env("HOME", project.root())
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied());
    assert!(start.status().expect("start tmux").success());
    tmux
}

fn project_for(fake: &FakeProvider) -> TestProject {
    TestProject::new(&format!(
        "ai:\n  default_provider: ollama\n  providers:\n    ollama:\n      base_url: {}\n      model: llama3.3\n  sessions:\n    enabled: true\n",
        fake.base_url()
    ))
}

#[test]
fn sigterm_restores_the_terminal() {
    if !tmux_available() {
        return;
    }
    let fake = FakeProvider::start();
    let project = project_for(&fake);
    let tmux = start(&project, "sigterm");
    tmux.wait_for("new session");
    assert_eq!(tmux.alternate_on(), "1");
    // The shell's child is atmos.
    let out = tmux.cmd(&["display-message", "-p", "-t", "tui", "#{pane_pid}"]);
    let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
        .expect("the shell's children");
    let atmos = children.split_whitespace().next().expect("atmos runs");
    assert!(
        Command::new("kill")
            .args(["-TERM", atmos])
            .status()
            .unwrap()
            .success()
    );
    tmux.wait_for("EXIT=");
    // stty -a prints after EXIT=; wait for its flags line.
    let screen = tmux.wait_for("icanon");
    assert_eq!(tmux.alternate_on(), "0", "back on the main screen");
    assert!(
        screen.contains(" icanon") && screen.contains(" echo "),
        "cooked mode again:\n{screen}"
    );
}

#[test]
fn chat_in_tmux_streams_renames_switches_and_restores_the_terminal() {
    if !tmux_available() {
        return;
    }
    let fake = FakeProvider::start_with_delay(Duration::from_millis(20));
    let project = project_for(&fake);
    project
        .run(ATMOS, &["ai", "sessions", "create", "staging-notes"])
        .ok();
    fake.push_reply(Reply::without_usage(&[
        "## A VPC for production\n\n",
        "Use **three** availability zones, each with:\n\n",
        "- a public subnet for the load balancers\n",
        "- a private subnet for the EKS nodes\n\n",
        "```yaml\ncomponents:\n  terraform:\n    vpc:\n      vars:\n        ipv4_primary_cidr_block: 10.100.0.0/18\n```\n",
        "Want the staging variant too?",
    ]));

    let tmux = start(&project, "main");

    tmux.wait_for("new session");
    assert_eq!(
        tmux.alternate_on(),
        "1",
        "the TUI uses the alternate screen"
    );
    tmux.text("How should I lay out the production VPC?");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("Want the staging variant too?");
    assert!(screen.contains("▶ You"), "{screen}");
    assert!(screen.contains("A VPC for production"), "{screen}");
    assert!(screen.contains("• a public subnet"), "{screen}");
    assert!(screen.contains("│ components:"), "{screen}");
    // The yaml block is highlighted: its key and its value in different
    // colours of the terminal's palette.
    let coloured = tmux.screen_with_colours();
    let line = coloured
        .lines()
        .find(|l| l.contains("ipv4_primary_cidr_block"))
        .expect("the code line");
    let code = &line[line.find("ipv4").unwrap() - 12..];
    let colours = code.matches("\x1b[3").count() + code.matches("\x1b[9").count();
    assert!(colours >= 2, "{line:?}");
    let screen = tmux.wait_for("· 2 msgs");
    let update = std::env::var_os("ATMOS_UPDATE_TUI_CAPTURE").is_some();
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs");
    if update {
        let trimmed: Vec<&str> = screen.lines().map(str::trim_end).collect();
        std::fs::write(format!("{docs}/tui-capture.txt"), trimmed.join("\n") + "\n")
            .expect("write the capture");
        let svg = atmos_tests::screenshot::svg(&tmux.screen_with_colours(), 120);
        std::fs::write(format!("{docs}/tui-chat.svg"), svg).expect("write the chat's picture");
    }

    // The picker searches message text; the selection is previewed beside.
    tmux.keys(&["C-l"]);
    tmux.wait_for("Sessions ·");
    tmux.text("/");
    tmux.wait_for("a name, or words from a message");
    tmux.text("10.100");
    tmux.wait_for("/ 10.100");
    let picker = tmux.wait_for("1 of 2");
    assert!(picker.contains("Preview"), "{picker}");
    assert!(!picker.contains("staging-notes"), "{picker}");
    if update {
        let svg = atmos_tests::screenshot::svg(&tmux.screen_with_colours(), 120);
        std::fs::write(format!("{docs}/tui-picker.svg"), svg).expect("write the picker's picture");
    }
    tmux.keys(&["Escape"]);
    tmux.wait_for("staging-notes");
    tmux.keys(&["Escape"]);
    tmux.wait_gone("Sessions ·");

    // Copy: the last code block, then the whole reply, reach the clipboard
    // by OSC 52 (tmux keeps what it receives as a paste buffer).
    tmux.cmd(&["set-option", "-g", "set-clipboard", "on"]);
    tmux.keys(&["C-o"]);
    tmux.wait_for("Copied the last code block (5 lines)");
    let buffer = tmux.cmd(&["show-buffer"]);
    assert_eq!(
        String::from_utf8_lossy(&buffer.stdout),
        "components:\n  terraform:\n    vpc:\n      vars:\n        ipv4_primary_cidr_block: 10.100.0.0/18"
    );
    tmux.keys(&["C-y"]);
    tmux.wait_for("Copied the last reply");
    let buffer = tmux.cmd(&["show-buffer"]);
    let reply = String::from_utf8_lossy(&buffer.stdout);
    assert!(
        reply.starts_with("## A VPC for production")
            && reply.ends_with("Want the staging variant too?"),
        "{reply}"
    );
    // F2 releases the mouse for the terminal's own selection, and takes it back.
    tmux.keys(&["F2"]);
    tmux.wait_for("Mouse released");
    tmux.keys(&["F2"]);
    tmux.wait_for("Mouse taken back");

    // The picker: the new session first (most recent), then staging-notes.
    tmux.keys(&["C-l"]);
    tmux.wait_for("Sessions · all providers (f) · 2 of 2");
    tmux.wait_for("staging-notes");
    tmux.keys(&["r", "C-u"]);
    tmux.text("vpc-design");
    tmux.keys(&["Enter"]);
    tmux.wait_gone("Enter keeps the new name");
    tmux.wait_for("● vpc-design");
    // Switch to the other session, then back.
    tmux.keys(&["j", "Enter"]);
    tmux.wait_for(" staging-notes ");
    tmux.wait_gone("Want the staging variant too?");
    tmux.keys(&["C-l"]);
    tmux.wait_for("Sessions ·");
    tmux.keys(&["k", "Enter"]);
    tmux.wait_for(" vpc-design ");
    tmux.wait_for("Want the staging variant too?");

    // Ctrl+C when idle quits, and the terminal is as it was.
    tmux.keys(&["C-c"]);
    tmux.wait_for("EXIT=0");
    // stty -a prints after EXIT=; wait for its flags line.
    let screen = tmux.wait_for("icanon");
    assert_eq!(tmux.alternate_on(), "0", "back on the main screen");
    assert!(
        screen.contains(" icanon") && screen.contains(" echo "),
        "cooked mode again:\n{screen}"
    );
    drop(tmux);

    let conn = rusqlite::Connection::open(project.db_path()).unwrap();
    let mut names: Vec<String> = conn
        .prepare("SELECT name FROM sessions ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    names.sort();
    assert_eq!(names, ["staging-notes", "vpc-design"]);
    let rows: Vec<(String, String, bool)> = conn
        .prepare(
            "SELECT m.role, m.content, m.interrupted FROM messages m \
             JOIN sessions s ON s.id = m.session_id WHERE s.name = 'vpc-design' ORDER BY m.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0],
        (
            "user".to_string(),
            "How should I lay out the production VPC?".to_string(),
            false
        )
    );
    assert!(rows[1].1.ends_with("Want the staging variant too?"));
    assert!(!rows[1].2);
}

#[test]
fn without_a_terminal_chat_reads_lines_and_prints_replies() {
    let fake = FakeProvider::start();
    let project = TestProject::new(&format!(
        "ai:\n  default_provider: ollama\n  providers:\n    ollama:\n      base_url: {}\n  sessions:\n    enabled: true\n",
        fake.base_url()
    ));
    let mut child = project
        .command(ATMOS)
        .args(["ai", "chat", "--session", "scripted"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"first question\n\nsecond question\n")
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "echo: first question\necho: second question\n");
    let listed = project.run(
        ATMOS,
        &["ai", "sessions", "show", "scripted", "--format", "json"],
    );
    let v = listed.json();
    let messages = v["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 4, "{v}");
    assert_eq!(messages[2]["content"], serde_json::json!("second question"));
}

#[test]
fn on_a_terminal_exec_says_it_reads_the_prompt_and_clean_asks_first() {
    if !tmux_available() {
        return;
    }
    let fake = FakeProvider::start();
    let project = project_for(&fake);
    project
        .run(ATMOS, &["ai", "sessions", "create", "keep-me"])
        .ok();

    let exec = start_command(&project, "exec", "ai exec");
    exec.wait_for("Reading the prompt from standard input");
    exec.text("what is a stack?");
    exec.keys(&["Enter", "C-d"]);
    exec.wait_for("echo: what is a stack?");
    exec.wait_for("EXIT=0");

    let clean = start_command(&project, "clean", "ai sessions clean --older-than 0d");
    clean.wait_for("Delete 1 session idle for longer than 0d (keep-me) permanently? [y/N]");
    clean.keys(&["n", "Enter"]);
    clean.wait_for("Kept them all.");
    clean.wait_for("EXIT=0");
    let listed = project
        .run(ATMOS, &["ai", "sessions", "list"])
        .ok()
        .to_string();
    assert!(listed.contains("keep-me"), "{listed}");
}

#[test]
fn ctrl_g_writes_the_message_in_the_editor_and_the_chat_comes_back() {
    if !tmux_available() {
        return;
    }
    let fake = FakeProvider::start();
    let project = project_for(&fake);
    // An "editor" that adds a line to the draft it is given, as a person would.
    let editor = project.root().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf ' plus a second line\\nfrom the editor\\n' >> \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let visual = editor.display().to_string();
    let tmux = start_with_env(&project, "compose", "ai chat", &[("VISUAL", &visual)]);
    tmux.wait_for("new session");
    tmux.text("my draft");
    tmux.keys(&["C-g"]);
    // Back in the chat, with the editor's text as the draft.
    tmux.wait_for("from the editor");
    assert_eq!(tmux.alternate_on(), "1", "the chat's screen is back");
    let screen = tmux.screen();
    assert!(screen.contains("my draft plus a second line"), "{screen}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("echo: my draft plus a second line");
    let sent = fake.requests().pop().unwrap();
    assert!(
        sent.body
            .to_string()
            .contains("my draft plus a second line\\nfrom the editor"),
        "{}",
        sent.body
    );
}

#[test]
fn the_chat_shows_turns_made_elsewhere_live_a_server_sees_its_turns_and_it_pins() {
    if !tmux_available() {
        return;
    }
    let fake = FakeProvider::start();
    let project = project_for(&fake);
    project
        .run(ATMOS, &["ai", "sessions", "create", "shared"])
        .ok();
    let tmux = start_command(&project, "live", "ai chat --session shared");
    tmux.wait_for("shared");
    // Another process (`atmos ai ask`) takes a turn in the session shown:
    // the question and its reply appear without a key pressed.
    project
        .run(
            ATMOS,
            &["ai", "ask", "--session", "shared", "asked from the CLI"],
        )
        .ok();
    tmux.wait_for("echo: asked from the CLI");
    let screen = tmux.screen();
    assert!(screen.contains("asked from the CLI"), "{screen}");
    // A slow turn elsewhere: the status bar says so while it runs.
    fake.push_reply(Reply {
        delay: Some(Duration::from_millis(400)),
        ..Reply::new(&["slowly ", "written ", "elsewhere"], 5, 3)
    });
    let mut slow = project.command(ATMOS);
    slow.args(["ai", "ask", "--session", "shared", "a slow one"]);
    let mut child = slow
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tmux.wait_for("replying elsewhere");
    tmux.wait_for("slowly written elsewhere");
    assert!(child.wait().unwrap().success());
    tmux.wait_gone("replying elsewhere");
    // A server following the session sees the TUI's turn, and the TUI
    // sees the server's.
    let mut server = RpcServer::start(ATMOS, &project);
    server.initialize(project.root());
    server.call("atmos/session/subscribe", json!({"name": "shared"}));
    tmux.text("typed in the terminal");
    tmux.keys(&["Enter"]);
    server.notifications_until(|n| {
        n["method"] == "atmos/session/updated"
            && n["params"]["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["content"] == "echo: typed in the terminal")
    });
    server.call(
        "atmos/chat",
        json!({"name": "shared", "message": "sent from the editor"}),
    );
    tmux.wait_for("echo: sent from the editor");
    server.shutdown();
    // Ctrl+T pins the last reply; the store says so.
    tmux.keys(&["C-t"]);
    tmux.wait_for("Pinned message");
    let shown = project
        .run(ATMOS, &["ai", "sessions", "show", "shared", "--ids"])
        .ok()
        .to_string();
    assert!(shown.contains("[pinned]"), "{shown}");
    // The title of the first exchange is in the picker, next to the name.
    tmux.keys(&["C-l"]);
    tmux.wait_for("asked from the CLI");
}

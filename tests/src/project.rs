//! A throwaway Atmos project: a temp dir with an atmos.yaml.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The environment variables a test run must not inherit: config location
/// and every provider's key.
pub const SCRUBBED_ENV: &[&str] = &[
    "ATMOS_CLI_CONFIG_PATH",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "XAI_API_KEY",
    "GITHUB_TOKEN",
    "AZURE_OPENAI_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "RUST_LOG",
];

/// A project folder with an atmos.yaml, removed on drop.
pub struct TestProject {
    dir: tempfile::TempDir,
}

/// The smallest config with sessions on.
pub const SESSIONS_ON: &str = "ai:\n  sessions:\n    enabled: true\n";

impl TestProject {
    /// A project whose atmos.yaml holds `yaml`.
    pub fn new(yaml: &str) -> TestProject {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("atmos.yaml"), yaml).expect("write atmos.yaml");
        TestProject { dir }
    }

    /// A project without any atmos.yaml.
    pub fn bare() -> TestProject {
        TestProject {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn write_config(&self, yaml: &str) {
        std::fs::write(self.root().join("atmos.yaml"), yaml).expect("write atmos.yaml");
    }

    /// `<root>/.atmos/sessions/sessions.db`.
    pub fn db_path(&self) -> PathBuf {
        self.root().join(".atmos/sessions/sessions.db")
    }

    /// Moves a session's last activity `days` (and a second) into the past,
    /// as if it had been idle that long.
    #[track_caller]
    pub fn age_session(&self, name: &str, days: i64) {
        let project = atmos_ai::Project::load(&atmos_ai::LoadOptions {
            explicit: None,
            env_path: None,
            start_dir: self.root().to_path_buf(),
        })
        .expect("load the project");
        let mut sessions = atmos_ai::Sessions::open(project).expect("open the sessions");
        let at = chrono::Utc::now() - chrono::Duration::days(days) - chrono::Duration::seconds(1);
        sessions
            .set_last_active(&atmos_ai::SessionKey::Name(name.into()), at)
            .unwrap_or_else(|e| panic!("cannot age the session {name:?}: {e}"));
    }

    /// `bin` run in the project with a scrubbed environment and no stdin.
    pub fn command(&self, bin: &str) -> Command {
        let mut cmd = Command::new(bin);
        cmd.current_dir(self.root()).stdin(Stdio::null());
        for var in SCRUBBED_ENV {
            cmd.env_remove(var);
        }
        // Times in UTC and tables at their natural width, whatever the
        // machine's zone and terminal; a test sets its own to check them.
        cmd.env("HOME", self.root())
            .env("NO_COLOR", "1")
            .env("TZ", "UTC")
            .env_remove("COLUMNS");
        cmd
    }

    /// Runs `bin args…` and returns its output.
    pub fn run(&self, bin: &str, args: &[&str]) -> Run {
        Run::from(self.command(bin).args(args).output().expect("spawn atmos"))
    }
}

/// A finished command, with text helpers.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts exit code `code` and returns stderr.
    #[track_caller]
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stderr
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", self.stdout))
    }
}

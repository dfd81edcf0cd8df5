//! `atmos ai sessions …` end to end: the real binary, real database files.

use atmos_tests::project::{SESSIONS_ON, TestProject};
use serde_json::Value;

const ATMOS: &str = env!("CARGO_BIN_EXE_atmos");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn names(p: &TestProject) -> Vec<String> {
    let list = p
        .run(ATMOS, &["ai", "sessions", "list", "--format", "json"])
        .json();
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn disabled_sessions_say_how_to_enable_them() {
    for p in [
        TestProject::bare(),
        TestProject::new("ai:\n  default_provider: ollama\n"),
    ] {
        for args in [
            &["ai", "sessions"][..],
            &["ai", "sessions", "clean", "--older-than", "1d"],
            &["ai", "sessions", "show", "x"],
        ] {
            let err = p.run(ATMOS, args).fails(1).to_string();
            assert!(err.contains("sessions are disabled"), "{err}");
            assert!(
                err.contains("  ai:\n    sessions:\n      enabled: true"),
                "{err}"
            );
        }
    }
}

#[test]
fn create_list_rename_delete() {
    let p = TestProject::new(SESSIONS_ON);
    assert!(
        p.run(ATMOS, &["ai", "sessions"])
            .ok()
            .contains("No sessions yet")
    );
    p.run(
        ATMOS,
        &[
            "ai",
            "sessions",
            "create",
            "vpc-design",
            "--provider",
            "ollama",
        ],
    )
    .ok();
    let anon = p
        .run(ATMOS, &["ai", "sessions", "create", "--format", "json"])
        .json();
    let anon_name = anon["session"]["name"].as_str().unwrap().to_string();
    assert!(
        anon_name.starts_with("chat-") && anon_name.len() >= "chat-20261124-034943".len(),
        "{anon_name}"
    );

    let table = p.run(ATMOS, &["ai", "sessions"]).ok().to_string();
    let header = table.lines().next().unwrap();
    for col in [
        "NAME", "PROVIDER", "MODEL", "SKILL", "CREATED", "UPDATED", "MESSAGES",
    ] {
        assert!(header.contains(col), "{header}");
    }
    assert!(
        table.lines().nth(1).unwrap().starts_with(&anon_name),
        "newest first:\n{table}"
    );
    assert!(
        table.contains("vpc-design") && table.contains("ollama") && table.contains("llama3.3"),
        "{table}"
    );

    let json = p
        .run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "list",
                "--format",
                "json",
                "--provider",
                "ollama",
            ],
        )
        .json();
    assert_eq!(json["total"], 1);
    let s = &json["sessions"][0];
    for field in [
        "id",
        "name",
        "provider",
        "model",
        "skill",
        "createdAt",
        "updatedAt",
        "messageCount",
        "archivedCount",
        "summaryCount",
        "metadata",
    ] {
        assert!(s.get(field).is_some(), "{field} missing in {s}");
    }

    let clash = p
        .run(
            ATMOS,
            &["ai", "sessions", "rename", "vpc-design", &anon_name],
        )
        .fails(1)
        .to_string();
    assert!(clash.contains("already exists"), "{clash}");
    let invalid = p
        .run(
            ATMOS,
            &["ai", "sessions", "rename", "vpc-design", " padded"],
        )
        .fails(2)
        .to_string();
    assert!(invalid.contains("invalid session name"), "{invalid}");
    p.run(
        ATMOS,
        &["ai", "sessions", "rename", "vpc-design", "vpc design 2026"],
    )
    .ok();

    let refused = p
        .run(ATMOS, &["ai", "sessions", "delete", "vpc design 2026"])
        .fails(2)
        .to_string();
    assert!(refused.contains("--yes"), "{refused}");
    p.run(
        ATMOS,
        &["ai", "sessions", "delete", "vpc design 2026", "--yes"],
    )
    .ok();
    assert_eq!(names(&p), vec![anon_name]);

    let missing = p
        .run(ATMOS, &["ai", "sessions", "show", "nope"])
        .fails(1)
        .to_string();
    assert!(
        missing.contains("'nope' not found") && missing.contains("atmos ai sessions"),
        "{missing}"
    );
    assert_eq!(missing.lines().count(), 1, "one line: {missing}");
}

#[test]
fn creating_past_max_sessions_evicts_and_says_so() {
    let p = TestProject::new("ai:\n  sessions:\n    enabled: true\n    max_sessions: 2\n");
    p.run(ATMOS, &["ai", "sessions", "create", "one"]).ok();
    p.run(ATMOS, &["ai", "sessions", "create", "two"]).ok();
    p.age_session("one", 1);
    let out = p
        .run(
            ATMOS,
            &["ai", "sessions", "create", "three", "--format", "json"],
        )
        .json();
    assert_eq!(out["evicted"], serde_json::json!(["one"]));
    assert_eq!(names(&p), vec!["three", "two"]);
    // In text, the eviction is a notice on stderr, as in every command.
    p.age_session("two", 1);
    let text = p.run(ATMOS, &["ai", "sessions", "create", "four"]);
    assert_eq!(
        text.ok(),
        "Created session 'four' (anthropic · claude-sonnet-4-5, skill general).\n"
    );
    assert!(
        text.stderr
            .contains("Removed the least recently used session 'two' to stay within max_sessions."),
        "{}",
        text.stderr
    );
}

#[test]
fn clean_takes_every_unit_and_refuses_bad_durations() {
    let p = TestProject::new(SESSIONS_ON);
    for (name, days) in [("d40", 40), ("d10", 10), ("d2", 2), ("h0", 0)] {
        p.run(ATMOS, &["ai", "sessions", "create", name]).ok();
        if days > 0 {
            p.age_session(name, days);
        }
    }
    for bad in ["30", "5s", "1y", "-1d", "1.5d", "d", ""] {
        let err = p
            .run(ATMOS, &["ai", "sessions", "clean", "--older-than", bad])
            .fails(2)
            .to_string();
        assert!(err.contains("invalid duration"), "{bad}: {err}");
    }
    let dry = p
        .run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "clean",
                "--older-than",
                "1w",
                "--dry-run",
                "--format",
                "json",
            ],
        )
        .json();
    assert_eq!(dry["deleted"], serde_json::json!(["d40", "d10"]));
    assert_eq!(names(&p).len(), 4, "dry run deletes nothing");
    let m = p
        .run(ATMOS, &["ai", "sessions", "clean", "--older-than", "1m"])
        .ok()
        .to_string();
    assert_eq!(m, "Deleted 1 session: d40\n");
    let w = p
        .run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "clean",
                "--older-than",
                "1w",
                "--format",
                "json",
            ],
        )
        .json();
    assert_eq!(w["deleted"], serde_json::json!(["d10"]));
    let d = p
        .run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "clean",
                "--older-than",
                "1d",
                "--format",
                "json",
            ],
        )
        .json();
    assert_eq!(d["deleted"], serde_json::json!(["d2"]));
    let h = p
        .run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "clean",
                "--older-than",
                "1h",
                "--format",
                "json",
            ],
        )
        .json();
    assert_eq!(h["count"], 0);
    let all = p
        .run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "clean",
                "--older-than",
                "0d",
                "--format",
                "json",
            ],
        )
        .json();
    assert_eq!(all["deleted"], serde_json::json!(["h0"]));
    assert!(names(&p).is_empty());
}

#[test]
fn imports_atmos_checkpoints_in_json_and_yaml() {
    let p = TestProject::new(SESSIONS_ON);
    let out = p
        .run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "import",
                &fixture("atmos-checkpoint-1.0.json"),
            ],
        )
        .ok()
        .to_string();
    assert!(out.contains("Imported 'eks-review' (4 messages"), "{out}");
    p.run(
        ATMOS,
        &[
            "ai",
            "sessions",
            "import",
            &fixture("atmos-checkpoint-1.0.yaml"),
        ],
    )
    .ok();
    let again = p
        .run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "import",
                &fixture("atmos-checkpoint-1.0.json"),
            ],
        )
        .fails(1)
        .to_string();
    assert!(again.contains("already exists"), "{again}");
    p.run(
        ATMOS,
        &[
            "ai",
            "sessions",
            "import",
            &fixture("atmos-checkpoint-1.0.json"),
            "--name",
            "eks-copy",
        ],
    )
    .ok();
    let shown = p
        .run(ATMOS, &["ai", "sessions", "show", "eks-copy"])
        .ok()
        .to_string();
    assert!(
        shown.contains("Which stacks import the eks mixin?") && shown.contains("2 < 3"),
        "{shown}"
    );
    let mut names = names(&p);
    names.sort();
    assert_eq!(names, ["eks-copy", "eks-review", "eks-review-yaml"]);
}

#[test]
fn invalid_imports_say_why() {
    let p = TestProject::new(SESSIONS_ON);
    let good: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("atmos-checkpoint-1.0.json")).unwrap(),
    )
    .unwrap();
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("version", Box::new(|v| v["version"] = "2.0".into())),
        (
            "session.name is empty",
            Box::new(|v| v["session"]["name"] = "".into()),
        ),
        (
            "session.provider",
            Box::new(|v| v["session"]["provider"] = "".into()),
        ),
        (
            "session.model",
            Box::new(|v| v["session"]["model"] = "".into()),
        ),
        (
            "no messages",
            Box::new(|v| {
                v["messages"] = serde_json::json!([]);
                v["statistics"]["message_count"] = 0.into();
            }),
        ),
        (
            "role",
            Box::new(|v| v["messages"][0]["role"] = "tool".into()),
        ),
        (
            "message_count is 5",
            Box::new(|v| v["statistics"]["message_count"] = 5.into()),
        ),
    ];
    for (expect, mutate) in cases {
        let mut v = good.clone();
        mutate(&mut v);
        let file = p.root().join("bad.json");
        std::fs::write(&file, v.to_string()).unwrap();
        let err = p
            .run(ATMOS, &["ai", "sessions", "import", file.to_str().unwrap()])
            .fails(1)
            .to_string();
        assert!(
            err.contains("cannot import") && err.contains(expect),
            "{expect}: {err}"
        );
    }
    std::fs::write(p.root().join("junk.yaml"), "::: not yaml [").unwrap();
    let err = p
        .run(ATMOS, &["ai", "sessions", "import", "junk.yaml"])
        .fails(1)
        .to_string();
    assert!(err.contains("cannot import this yaml file"), "{err}");
    // What a parser would say is said in the user's terms.
    let plain_cases = [
        (
            "no-version.json",
            r#"{"session": {}, "messages": []}"#,
            "it is not a session export",
        ),
        ("list.yaml", "- a\n- b\n", "the top level must be a mapping"),
        (
            "export.md",
            "# Session: vpc\n\n**user**: hi\n",
            "this is a Markdown export",
        ),
    ];
    for (file, content, expect) in plain_cases {
        std::fs::write(p.root().join(file), content).unwrap();
        let err = p
            .run(ATMOS, &["ai", "sessions", "import", file])
            .fails(1)
            .to_string();
        assert!(err.contains(expect), "{file}: {err}");
        assert!(!err.contains("struct Checkpoint"), "{file}: {err}");
    }
    assert!(names(&p).is_empty(), "nothing half-imported");
}

#[test]
fn export_then_import_is_lossless_in_json_and_yaml() {
    let p = TestProject::new(SESSIONS_ON);
    p.run(
        ATMOS,
        &["ai", "sessions", "import", &fixture("full-session.json")],
    )
    .ok();
    let original = p
        .run(ATMOS, &["ai", "sessions", "export", "vpc-design"])
        .json();
    assert_eq!(original["statistics"]["message_count"], 4);
    assert_eq!(original["summaries"].as_array().unwrap().len(), 1);
    for format in ["json", "yaml"] {
        let file = p.root().join(format!("out.{format}"));
        p.run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "export",
                "vpc-design",
                "--output",
                file.to_str().unwrap(),
            ],
        )
        .ok();
        let copy = format!("copy-{format}");
        p.run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "import",
                file.to_str().unwrap(),
                "--name",
                &copy,
            ],
        )
        .ok();
        let again = p.run(ATMOS, &["ai", "sessions", "export", &copy]).json();
        assert_eq!(
            strip_ids(&again["messages"]),
            strip_ids(&original["messages"]),
            "{format}"
        );
        assert_eq!(
            strip_ids(&again["summaries"]),
            strip_ids(&original["summaries"]),
            "{format}"
        );
        assert_eq!(
            again["session"]["metadata"],
            original["session"]["metadata"]
        );
        assert_eq!(
            again["session"]["created_at"],
            original["session"]["created_at"]
        );
        // The summary still points at the first and last message it replaces.
        let ids: Vec<&Value> = again["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["id"])
            .collect();
        assert_eq!(&again["summaries"][0]["from"], ids[0]);
        assert_eq!(&again["summaries"][0]["to"], ids[1]);
    }
    let json = p
        .run(
            ATMOS,
            &["ai", "sessions", "show", "copy-json", "--format", "json"],
        )
        .json();
    let flags: Vec<(bool, bool, bool)> = json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["archived"].as_bool().unwrap(),
                m["isSummary"].as_bool().unwrap(),
                m["interrupted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            (true, false, false),
            (true, false, false),
            (false, true, false),
            (false, false, false),
            (false, false, true)
        ]
    );
    let md = p
        .run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "export",
                "vpc-design",
                "--format",
                "markdown",
            ],
        )
        .ok()
        .to_string();
    assert!(
        md.starts_with("# Session: vpc-design")
            && md.contains("## Summary")
            && md.contains("(interrupted)"),
        "{md}"
    );
}

/// Ids and export times differ between copies; everything else must not.
fn strip_ids(v: &Value) -> Value {
    let mut v = v.clone();
    for item in v.as_array_mut().into_iter().flatten() {
        for key in ["id", "from", "to"] {
            item.as_object_mut().unwrap().remove(key);
        }
    }
    v
}

#[test]
fn two_processes_creating_one_name_one_wins() {
    let p = TestProject::new("ai:\n  sessions:\n    enabled: true\n    max_sessions: 0\n");
    p.run(ATMOS, &["ai", "sessions"]).ok();
    for round in 0..8 {
        let name = format!("race-{round}");
        let children: Vec<_> = (0..2)
            .map(|_| {
                p.command(ATMOS)
                    .args(["ai", "sessions", "create", &name])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let wins = outs.iter().filter(|o| o.status.success()).count();
        assert_eq!(wins, 1, "round {round}: {outs:?}");
        let loser = outs.iter().find(|o| !o.status.success()).unwrap();
        assert!(
            String::from_utf8_lossy(&loser.stderr).contains("already exists"),
            "{loser:?}"
        );
    }
    assert_eq!(names(&p).len(), 8);
}

#[test]
fn a_corrupt_database_names_the_file_and_the_fix() {
    let p = TestProject::new(SESSIONS_ON);
    std::fs::create_dir_all(p.db_path().parent().unwrap()).unwrap();
    std::fs::write(p.db_path(), vec![b'x'; 4096]).unwrap();
    let err = p.run(ATMOS, &["ai", "sessions"]).fails(1).to_string();
    assert!(err.contains(p.db_path().to_str().unwrap()), "{err}");
    assert!(
        err.contains("integrity_check") && err.contains("backup"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unwritable_sessions_folder_names_the_path() {
    let p = TestProject::new("ai:\n  sessions:\n    enabled: true\n    path: blocked/sessions\n");
    // A file where the folder should be: no permission trick that root ignores.
    std::fs::write(p.root().join("blocked"), "").unwrap();
    let err = p.run(ATMOS, &["ai", "sessions"]).fails(1).to_string();
    assert!(err.contains("blocked"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn doctor_restores_private_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let p = TestProject::new(SESSIONS_ON);
    p.run(ATMOS, &["ai", "sessions"]).ok();
    std::fs::set_permissions(p.db_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = p.run(ATMOS, &["ai", "sessions", "doctor"]).ok().to_string();
    assert!(
        out.contains("Integrity check: ok") && out.contains("644 -> 600"),
        "{out}"
    );
    let mode = std::fs::metadata(p.db_path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn config_problems_name_the_key() {
    let p = TestProject::new(
        "ai:\n  sessions:\n    enabled: true\n    auto_compact:\n      trigger_threshold: 1.5\n",
    );
    let err = p.run(ATMOS, &["ai", "sessions"]).fails(1).to_string();
    assert!(
        err.contains("ai.sessions.auto_compact.trigger_threshold") && err.contains("1.5"),
        "{err}"
    );
    p.write_config("ai:\n  sessions:\n    enabled: true\n    enabeld: true\n");
    let run = p.run(ATMOS, &["ai", "sessions"]);
    run.ok();
    assert!(
        run.stderr.contains("unknown key ai.sessions.enabeld")
            && run.stderr.contains("did you mean ai.sessions.enabled?"),
        "{}",
        run.stderr
    );
}

#[test]
fn config_is_found_by_flag_env_and_walking_up() {
    let p = TestProject::new(SESSIONS_ON);
    let deep = p.root().join("stacks/orgs/prod");
    std::fs::create_dir_all(&deep).unwrap();
    p.run(ATMOS, &["ai", "sessions", "create", "top"]).ok();
    let walked = p
        .command(ATMOS)
        .current_dir(&deep)
        .args(["ai", "sessions", "list", "--format", "json"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&walked.stdout).contains("\"top\""));
    assert!(
        !deep.join(".atmos").exists(),
        "the database lives at the project root"
    );

    let elsewhere = TestProject::bare();
    let by_env = elsewhere
        .command(ATMOS)
        .env("ATMOS_CLI_CONFIG_PATH", p.root())
        .args(["ai", "sessions", "list", "--format", "json"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&by_env.stdout).contains("\"top\""));
    let cfg = p.root().join("atmos.yaml");
    let by_flag = elsewhere.run(
        ATMOS,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "ai",
            "sessions",
            "list",
            "--format",
            "json",
        ],
    );
    assert!(by_flag.ok().contains("\"top\""));
}

#[test]
fn search_finds_names_and_message_text() {
    let p = TestProject::new(SESSIONS_ON);
    p.run(
        ATMOS,
        &[
            "ai",
            "sessions",
            "import",
            &fixture("atmos-checkpoint-1.0.json"),
        ],
    )
    .ok();
    p.run(ATMOS, &["ai", "sessions", "create", "Mixin-notes"])
        .ok();
    let hits = p
        .run(
            ATMOS,
            &[
                "ai", "sessions", "list", "--query", "MIXIN", "--format", "json",
            ],
        )
        .json();
    assert_eq!(hits["total"], 2);
    let eks = hits["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "eks-review")
        .unwrap();
    assert!(
        eks["snippet"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("mixin"),
        "{eks}"
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    let p = TestProject::bare();
    for cmd in [
        "list", "create", "show", "clean", "delete", "rename", "export", "import", "doctor",
    ] {
        let help = p
            .run(ATMOS, &["ai", "sessions", cmd, "--help"])
            .ok()
            .to_string();
        assert!(help.contains("Example"), "{cmd}: {help}");
    }
    assert!(
        p.run(ATMOS, &["ai", "sessions", "--help"])
            .ok()
            .contains("Examples")
    );
    let usage = p.run(ATMOS, &["ai", "sessions", "clean"]);
    assert_eq!(usage.code, 2, "a missing flag is a usage error");
}

#[test]
fn an_empty_session_round_trips_too() {
    let p = TestProject::new(SESSIONS_ON);
    p.run(ATMOS, &["ai", "sessions", "create", "empty"]).ok();
    let file = p.root().join("empty.json");
    p.run(
        ATMOS,
        &[
            "ai",
            "sessions",
            "export",
            "empty",
            "--output",
            file.to_str().unwrap(),
        ],
    )
    .ok();
    p.run(
        ATMOS,
        &[
            "ai",
            "sessions",
            "import",
            file.to_str().unwrap(),
            "--name",
            "empty-copy",
        ],
    )
    .ok();
    let mut all = names(&p);
    all.sort();
    assert_eq!(all, ["empty", "empty-copy"]);
}

#[test]
fn an_empty_listing_says_why_when_sessions_exist() {
    let p = TestProject::new(SESSIONS_ON);
    p.run(ATMOS, &["ai", "sessions", "create", "vpc-design"])
        .ok();
    let none = p
        .run(ATMOS, &["ai", "sessions", "list", "--query", "zzz"])
        .ok()
        .to_string();
    assert!(
        none.contains("No session matches \"zzz\"") && none.contains("1 session in all"),
        "{none}"
    );
    assert!(!none.contains("No sessions yet"), "{none}");
    let zero = p
        .run(ATMOS, &["ai", "sessions", "list", "--limit", "0"])
        .ok()
        .to_string();
    assert!(
        zero.contains("--limit 0 shows none of the 1 matching session"),
        "{zero}"
    );
    let other = p
        .run(ATMOS, &["ai", "sessions", "list", "--provider", "ollama"])
        .ok()
        .to_string();
    assert!(
        other.contains("No session uses the provider 'ollama'"),
        "{other}"
    );
    let show = p
        .run(ATMOS, &["ai", "sessions", "show", "vpc-design"])
        .ok()
        .to_string();
    assert!(show.contains("· 0 messages"), "{show}");
}

#[test]
fn times_are_local_unless_utc_is_asked_and_narrow_terminals_drop_columns() {
    let p = TestProject::new(SESSIONS_ON);
    p.run(ATMOS, &["ai", "sessions", "create", "vpc-design-prod"])
        .ok();
    let list = |tz: &str, extra: &[&str]| {
        let mut args = vec!["ai", "sessions", "list"];
        args.extend_from_slice(extra);
        atmos_tests::project::Run::from(
            p.command(ATMOS).env("TZ", tz).args(&args).output().unwrap(),
        )
        .ok()
        .to_string()
    };
    let time = |table: &str| {
        let row = table.lines().nth(1).unwrap().to_string();
        let at = row.find("20").unwrap();
        chrono::NaiveDateTime::parse_from_str(&row[at..at + 16], "%Y-%m-%d %H:%M").unwrap()
    };
    let utc = list("IST-5:30", &["--utc"]);
    assert!(utc.contains("UPDATED (UTC)"), "{utc}");
    let local = list("IST-5:30", &[]);
    assert!(
        local.contains("UPDATED ") && !local.contains("(UTC)"),
        "{local}"
    );
    assert_eq!(time(&local) - time(&utc), chrono::Duration::minutes(330));
    // `show` follows the same rule.
    let shown = atmos_tests::project::Run::from(
        p.command(ATMOS)
            .args(["ai", "sessions", "show", "vpc-design-prod", "--utc"])
            .output()
            .unwrap(),
    );
    assert!(shown.ok().contains("Session vpc-design-prod"));

    // 40 columns: each session on one line, the least needed columns gone.
    let narrow = atmos_tests::project::Run::from(
        p.command(ATMOS)
            .env("COLUMNS", "40")
            .args(["ai", "sessions", "list"])
            .output()
            .unwrap(),
    );
    let narrow = narrow.ok();
    assert!(narrow.lines().all(|l| l.chars().count() <= 40), "{narrow}");
    assert!(
        narrow.starts_with("NAME") && !narrow.contains("SKILL"),
        "{narrow}"
    );
    assert!(narrow.contains("vpc-design-prod"), "{narrow}");
    // A pipe without COLUMNS gets every column.
    assert!(list("UTC", &[]).contains("SKILL"));
}

#[test]
fn fork_keeps_exactly_the_history_up_to_a_message_and_goes_its_own_way() {
    use atmos_tests::fake_provider::{FakeProvider, Reply};
    let fake = FakeProvider::start();
    let p = TestProject::new(&format!(
        "ai:\n  default_provider: anthropic\n  providers:\n    anthropic:\n      base_url: {}\n      api_key_env: ATMOS_TEST_KEY\n  sessions:\n    enabled: true\n    auto_compact:\n      preserve_recent: 2\n      use_ai_summary: false\n",
        fake.base_url()
    ));
    let ask = |args: &[&str]| {
        let mut all = vec!["ai", "ask"];
        all.extend_from_slice(args);
        atmos_tests::project::Run::from(
            p.command(ATMOS)
                .env("ATMOS_TEST_KEY", "k")
                .args(&all)
                .output()
                .unwrap(),
        )
    };
    let long = "the VPC peers with shared services and must not overlap. ".repeat(6);
    for q in ["first", "second", "third"] {
        fake.push_reply(Reply::new(&[&format!("answer to {q}")], 5, 2));
        ask(&["--session", "origin", &format!("{q}: {long}")]).ok();
    }
    // Compacted: the fork takes the summary and what it archived along.
    p.run(ATMOS, &["ai", "sessions", "compact", "origin"]).ok();
    let shown = p
        .run(
            ATMOS,
            &[
                "ai", "sessions", "show", "origin", "--ids", "--format", "json",
            ],
        )
        .json();
    let messages = shown["messages"].as_array().unwrap().clone();
    // Fork at the second answer (message 4 of 6).
    let second_answer = messages
        .iter()
        .find(|m| m["content"] == "answer to second")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = p
        .run(
            ATMOS,
            &[
                "ai",
                "sessions",
                "fork",
                "origin",
                "--at",
                &second_answer,
                "--name",
                "branch",
            ],
        )
        .ok()
        .to_string();
    assert!(
        out.contains("Forked 'origin' into 'branch' (4 messages)"),
        "{out}"
    );
    let branch = p
        .run(
            ATMOS,
            &["ai", "sessions", "show", "branch", "--format", "json"],
        )
        .json();
    let texts: Vec<String> = branch["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["isSummary"] != true)
        .map(|m| m["content"].as_str().unwrap().chars().take(20).collect())
        .collect();
    assert_eq!(
        texts,
        [
            "first: the VPC peers",
            "answer to first",
            "second: the VPC peer",
            "answer to second"
        ]
    );
    assert_eq!(branch["session"]["forkedFrom"]["name"], "origin");
    assert_eq!(
        branch["session"]["forkedFrom"]["at"],
        second_answer.as_str()
    );
    assert_eq!(branch["session"]["messageCount"], 4);
    // The summary was written after message 4: the fork has the history
    // of that moment, its messages live again.
    assert_eq!(branch["session"]["summaryCount"], 0);
    assert_eq!(branch["session"]["archivedCount"], 0);
    let listed = p.run(ATMOS, &["ai", "sessions", "list"]).ok().to_string();
    assert!(listed.contains("FORKED FROM"), "{listed}");
    let shown = p
        .run(ATMOS, &["ai", "sessions", "show", "branch"])
        .ok()
        .to_string();
    assert!(
        shown.contains(&format!("Forked from 'origin' at message {second_answer}")),
        "{shown}"
    );
    // The fork chats on its own: the origin does not change.
    fake.push_reply(Reply::new(&["branch answer"], 5, 2));
    ask(&["--session", "branch", "try IPv6 instead"]).ok();
    let origin = p
        .run(
            ATMOS,
            &["ai", "sessions", "show", "origin", "--format", "json"],
        )
        .json();
    assert_eq!(origin["session"]["messageCount"], 6);
    assert!(!origin.to_string().contains("try IPv6 instead"));
    // Defaults: at the newest message, named origin-fork, then origin-fork-2.
    let a = p
        .run(ATMOS, &["ai", "sessions", "fork", "origin"])
        .ok()
        .to_string();
    assert!(a.contains("'origin-fork' (6 messages)"), "{a}");
    // At the newest, the summary comes along with what it archived.
    let whole = p
        .run(
            ATMOS,
            &["ai", "sessions", "show", "origin-fork", "--format", "json"],
        )
        .json();
    let archived = origin["session"]["archivedCount"].as_u64().unwrap() as usize;
    assert!(archived >= 2, "{origin}");
    assert_eq!(whole["session"]["summaryCount"], 1);
    assert_eq!(whole["session"]["archivedCount"], archived as u64);
    let summary = whole["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["isSummary"] == true)
        .unwrap()
        .clone();
    let ids: Vec<&str> = whole["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    // Its range points at the fork's own messages.
    assert_eq!(summary["summaryRange"]["from"], ids[0]);
    assert_eq!(summary["summaryRange"]["to"], ids[archived - 1]);
    let b = p
        .run(ATMOS, &["ai", "sessions", "fork", "origin"])
        .ok()
        .to_string();
    assert!(b.contains("'origin-fork-2'"), "{b}");
    // A message of another session is refused, naming how to see the ids.
    let err = p
        .run(
            ATMOS,
            &["ai", "sessions", "fork", "origin", "--at", "999999"],
        )
        .fails(2)
        .to_string();
    assert!(
        err.contains("has no message 999999") && err.contains("--ids"),
        "{err}"
    );
    let conn = rusqlite::Connection::open(p.db_path()).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

//! The shared session operations on a real database in a temp dir.

use atmos_ai::config::{Config, Project};
use atmos_ai::store::NewMessage;
use atmos_ai::{CreateOptions, Error, Role, SessionKey, Sessions, TranscriptQuery, UpdateOptions};

fn open(configure: impl FnOnce(&mut Config)) -> (tempfile::TempDir, Sessions) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.sessions.enabled = true;
    config.default_provider = Some("ollama".into());
    configure(&mut config);
    let sessions = Sessions::open(Project::with_config(dir.path().into(), config)).unwrap();
    (dir, sessions)
}

fn key(n: &str) -> SessionKey {
    SessionKey::Name(n.into())
}

#[test]
fn disabled_sessions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        Sessions::open(Project::with_config(dir.path().into(), Config::default())).unwrap_err();
    assert!(matches!(err, Error::SessionsDisabled { .. }), "{err:?}");
    assert!(
        !dir.path().join(".atmos").exists(),
        "nothing is created when disabled"
    );
}

#[test]
fn resume_creates_when_asked_and_switches_what_it_is_given() {
    let (_d, mut s) = open(|_| {});
    let err = s
        .resume(&key("vpc"), false, UpdateOptions::default(), None)
        .unwrap_err();
    assert!(matches!(err, Error::SessionNotFound { .. }), "{err:?}");
    let r = s
        .resume(&key("vpc"), true, UpdateOptions::default(), None)
        .unwrap();
    assert!(r.created);
    assert_eq!(
        (
            r.session.provider.as_str(),
            r.session.model.as_str(),
            r.session.skill.as_str()
        ),
        ("ollama", "llama3.3", "general")
    );
    let id = r.session.id.clone();
    for i in 0..6 {
        s.append_for_tests(
            &id,
            &NewMessage::new(
                if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                },
                format!("m{i}"),
            ),
        )
        .unwrap();
    }
    let r = s
        .resume(
            &SessionKey::Id(id.clone()),
            false,
            UpdateOptions {
                provider: Some("openai".into()),
                ..Default::default()
            },
            Some(2),
        )
        .unwrap();
    assert!(!r.created);
    assert_eq!(
        (r.session.provider.as_str(), r.session.model.as_str()),
        ("openai", "gpt-4o"),
        "a new provider brings its model"
    );
    assert_eq!(
        r.messages
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>(),
        ["m4", "m5"]
    );
    let again = s
        .resume(&key("vpc"), false, UpdateOptions::default(), None)
        .unwrap();
    assert_eq!(again.session.provider, "openai", "the switch is remembered");
}

#[test]
fn unknown_provider_skill_or_bad_metadata_name_the_field() {
    let (_d, mut s) = open(|_| {});
    let field = |e: Error| match e {
        Error::InvalidParam { field, .. } => field,
        other => panic!("{other:?}"),
    };
    let e = s
        .create(CreateOptions {
            name: Some("a".into()),
            provider: Some("nosuch".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(field(e), "provider");
    let e = s
        .create(CreateOptions {
            name: Some("a".into()),
            skill: Some("nosuch".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(field(e), "skill");
    let e = s
        .create(CreateOptions {
            name: Some("a".into()),
            metadata: Some(serde_json::json!([1])),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(field(e), "metadata");
    s.create(CreateOptions {
        name: Some("a".into()),
        ..Default::default()
    })
    .unwrap();
    let e = s
        .update(
            &key("a"),
            UpdateOptions {
                skill: Some("nosuch".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(field(e), "skill");
    let e = s
        .create(CreateOptions {
            name: Some("".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidName { rule, .. } if rule == "a name cannot be empty"),
        "{e:?}"
    );
}

#[test]
fn skills_from_config_are_kept_per_session() {
    let (_d, mut s) = open(|c| {
        c.skills.insert(
            "security".into(),
            atmos_ai::config::SkillConfig {
                display_name: None,
                description: None,
                system_prompt: "Audit IAM.".into(),
            },
        );
    });
    s.create(CreateOptions {
        name: Some("x".into()),
        ..Default::default()
    })
    .unwrap();
    let updated = s
        .update(
            &key("x"),
            UpdateOptions {
                skill: Some("security".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(updated.skill, "security");
    let r = s
        .resume(&key("x"), false, UpdateOptions::default(), None)
        .unwrap();
    assert_eq!(r.session.skill, "security");
}

#[test]
fn messages_pages_and_status_counts() {
    let (_d, mut s) = open(|_| {});
    let (session, _) = s
        .create(CreateOptions {
            name: Some("p".into()),
            ..Default::default()
        })
        .unwrap();
    for i in 0..5 {
        s.append_for_tests(&session.id, &NewMessage::new(Role::User, format!("m{i}")))
            .unwrap();
    }
    let (_, page) = s
        .messages(
            &key("p"),
            &TranscriptQuery {
                before: None,
                limit: 2,
                include_archived: true,
                include_summaries: false,
            },
        )
        .unwrap();
    assert_eq!(
        page.messages
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>(),
        ["m3", "m4"]
    );
    assert!(page.has_more);
    let status = s.status().unwrap();
    assert_eq!(status.session_count, 1);
    assert_eq!(
        status.schema_version,
        atmos_ai::store::schema::SCHEMA_VERSION
    );
    assert!(
        status
            .database_path
            .ends_with(".atmos/sessions/sessions.db")
    );
    let err = s.clean("1.5d", false).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidDuration { value } if value == "1.5d"),
        "{err:?}"
    );
}

#[test]
fn the_token_trigger_compacts_only_when_the_verbatim_part_is_over_budget() {
    let (_d, mut s) = open(|c| {
        c.sessions.auto_compact.enabled = true;
        c.sessions.auto_compact.max_history_tokens = Some(60);
        c.sessions.auto_compact.preserve_recent = 2;
        c.sessions.auto_compact.use_ai_summary = false;
    });
    let (session, _) = s
        .create(CreateOptions {
            name: Some("tok".into()),
            ..Default::default()
        })
        .unwrap();
    let mut compacted_at = Vec::new();
    for turn in 1..=8 {
        for role in [Role::User, Role::Assistant] {
            // 40 bytes: 10 estimated tokens.
            let text = format!("{:<40}", format!("turn {turn} {role:?}"));
            s.append_for_tests(&session.id, &NewMessage::new(role, text))
                .unwrap();
        }
        if s.compact_plainly(&key("tok"), false).unwrap().is_some() {
            compacted_at.push(turn);
        }
    }
    // Over 60 tokens at 8 verbatim messages (80): turns 4, 6 and 8, not every
    // turn once a summary exists.
    assert_eq!(compacted_at, [4, 6, 8]);
    let after = s.get(&key("tok")).unwrap();
    assert_eq!((after.message_count, after.summary_count), (16, 3));
}

#[test]
fn listing_by_an_unknown_provider_names_the_field() {
    let (_d, s) = open(|_| {});
    let e = s
        .list(&atmos_ai::ListFilter {
            provider: Some("nosuch".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidParam { field, .. } if field == "provider"),
        "{e:?}"
    );
    // A known provider with no sessions is an empty list, not an error.
    let (found, total) = s
        .list(&atmos_ai::ListFilter {
            provider: Some("openai".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(found.is_empty() && total == 0);
}

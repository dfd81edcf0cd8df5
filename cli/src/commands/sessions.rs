//! `atmos ai sessions …`: list, show, clean, delete, rename, export, import,
//! doctor.

use super::open_sessions;
use crate::args::*;
use crate::output::{self, Clock, Failure, Outcome};
use atmos_ai::{Format, ListFilter, Role, SessionKey, Sessions, TranscriptQuery};
use atmos_protocol as wire;
use std::path::{Path, PathBuf};

pub fn run(config: Option<PathBuf>, args: SessionsArgs) -> Outcome {
    match args.command {
        None => list(config, args.list),
        Some(SessionsCommand::List(a)) => list(config, a),
        Some(SessionsCommand::Create(a)) => create(config, a),
        Some(SessionsCommand::Show(a)) => show(config, a),
        Some(SessionsCommand::Clean(a)) => clean(config, a),
        Some(SessionsCommand::Delete(a)) => delete(config, a),
        Some(SessionsCommand::Rename(a)) => rename(config, a),
        Some(SessionsCommand::Compact(a)) => compact(config, a),
        Some(SessionsCommand::Fork(a)) => fork(config, a),
        Some(SessionsCommand::Backup(a)) => backup(config, a),
        Some(SessionsCommand::Uncompact(a)) => uncompact(config, a),
        Some(SessionsCommand::Pin(a)) => pin(config, a),
        Some(SessionsCommand::Title(a)) => title(config, a),
        Some(SessionsCommand::Export(a)) => export(config, a),
        Some(SessionsCommand::Import(a)) => import(config, a),
        Some(SessionsCommand::Doctor(a)) => doctor(config, a),
    }
}

fn list(config: Option<PathBuf>, args: ListArgs) -> Outcome {
    let sessions = open_sessions(config)?;
    let (listed, total) = sessions.list(&ListFilter {
        provider: args.provider.clone(),
        query: args.query.clone(),
        limit: args.limit,
        offset: 0,
    })?;
    let text = match args.format {
        ListFormat::Json => {
            // The editor protocol's `atmos/session/list` result.
            let out = wire::ListResult {
                sessions: listed.iter().map(wire::ListedSession::from).collect(),
                total,
            };
            let mut text = serde_json::to_string_pretty(&out).expect("a listing serialises");
            text.push('\n');
            text
        }
        ListFormat::Table if listed.is_empty() => {
            let all = sessions.status()?.session_count;
            let in_all = output::count(all, "session", "sessions");
            match (&args.query, &args.provider) {
                _ if all == 0 => {
                    "No sessions yet. Start one with `atmos ai chat --session NAME`.\n".to_string()
                }
                _ if total > 0 => format!(
                    "--limit {} shows none of the {}; leave it out to see them all.\n",
                    args.limit.unwrap_or(0),
                    output::count(total, "matching session", "matching sessions")
                ),
                (Some(q), _) => format!(
                    "No session matches {q:?} (by name or message text); there are {in_all} \
                     in all: run `atmos ai sessions` to see them.\n"
                ),
                (None, Some(p)) => format!(
                    "No session uses the provider '{p}'; there are {in_all} in all: run \
                     `atmos ai sessions` to see them.\n"
                ),
                (None, None) => format!("No session to show; there are {in_all} in all.\n"),
            }
        }
        ListFormat::Table => {
            // With a query, where each session matched.
            let snippets = listed.iter().any(|l| l.snippet.is_some());
            let clock = Clock::new(args.utc);
            let (created, updated) = match args.utc {
                true => ("CREATED (UTC)", "UPDATED (UTC)"),
                false => ("CREATED", "UPDATED"),
            };
            let titles = listed.iter().any(|l| l.session.title.is_some());
            let mut header = vec!["NAME"];
            if titles {
                header.push("TITLE");
            }
            header.extend(["PROVIDER", "MODEL", "SKILL", created, updated, "MESSAGES"]);
            let config = &sessions.project().config;
            let costs: Vec<Option<f64>> = listed
                .iter()
                .map(|l| atmos_ai::catalog::estimated_cost(config, &l.session))
                .collect();
            let priced = costs.iter().any(Option::is_some);
            header.push("TOKENS");
            if priced {
                header.push("COST");
            }
            let forks = listed.iter().any(|l| l.session.forked_from.is_some());
            if forks {
                header.push("FORKED FROM");
            }
            if snippets {
                header.push("MATCH");
            }
            let mut rows: Vec<Vec<std::borrow::Cow<str>>> = listed
                .iter()
                .zip(&costs)
                .map(|(l, cost)| {
                    let s = &l.session;
                    // Borrowed where the session has the text already.
                    let mut row: Vec<std::borrow::Cow<str>> = vec![s.name.as_str().into()];
                    if titles {
                        row.push(output::clip(s.title.as_deref().unwrap_or(""), 40));
                    }
                    row.extend([
                        s.provider.as_str().into(),
                        s.model.as_str().into(),
                        s.skill.as_str().into(),
                        clock.when(s.created_at).into(),
                        clock.when(s.updated_at).into(),
                        s.message_count.to_string().into(),
                    ]);
                    row.push(super::thousands(s.input_tokens + s.output_tokens).into());
                    if priced {
                        row.push(cost.map_or(String::new(), money).into());
                    }
                    if forks {
                        row.push(s.forked_from.as_deref().unwrap_or("").into());
                    }
                    if snippets {
                        row.push(l.snippet.as_deref().unwrap_or("(name)").into());
                    }
                    row
                })
                .collect();
            // On a narrow terminal, the least needed columns go first.
            let header = match output::table_width().filter(|_| args.output.is_none()) {
                Some(width) => {
                    let order: Vec<usize> = [
                        created,
                        "TOKENS",
                        "SKILL",
                        "MODEL",
                        "FORKED FROM",
                        "TITLE",
                        "MATCH",
                        "PROVIDER",
                        updated,
                    ]
                    .iter()
                    .filter_map(|c| header.iter().position(|h| h == c))
                    .collect();
                    output::fit_columns(&header, &mut rows, width, &order)
                }
                None => header,
            };
            let mut text = output::table(&header, rows);
            if (listed.len() as u64) < total {
                text.push_str(&format!("({} of {total} sessions shown)\n", listed.len()));
            }
            text
        }
    };
    output::emit(&text, args.output.as_deref())
}

fn create(config: Option<PathBuf>, args: CreateArgs) -> Outcome {
    let mut sessions = open_sessions(config)?;
    let (session, evicted) = sessions.create(atmos_ai::CreateOptions {
        name: args.name,
        provider: args.provider,
        model: args.model,
        skill: args.skill,
        metadata: None,
    })?;
    let text = match args.format {
        TextFormat::Json => output::json(&wire::CreatedResult {
            session: (&session).into(),
            evicted: evicted.clone(),
        }),
        TextFormat::Text => {
            // Evictions are notices, on stderr as everywhere else.
            for gone in &evicted {
                eprintln!("{}", super::evicted_line(gone));
            }
            format!(
                "Created session '{}' ({} · {}, skill {}).\n",
                session.name, session.provider, session.model, session.skill
            )
        }
    };
    output::emit(&text, None)
}

fn show(config: Option<PathBuf>, args: ShowArgs) -> Outcome {
    let sessions = open_sessions(config)?;
    let key = SessionKey::Name(args.name);
    let session = sessions.get(&key)?;
    if args.format == ShowFormat::Markdown {
        let text = sessions.export(&key, Format::Markdown)?;
        return output::emit(&text, args.output.as_deref());
    }
    let messages = all_pages(&sessions, &key)?;
    if args.compacted {
        return output::emit(
            &compacted_text(&session.name, &messages),
            args.output.as_deref(),
        );
    }
    let clock = Clock::new(args.utc);
    let markers = sessions
        .project()
        .config
        .sessions
        .auto_compact
        .show_summary_markers;
    let text = match args.format {
        ShowFormat::Json => output::json(&serde_json::json!({
            "session": wire::Session::from(&session),
            "messages": messages.iter().map(wire::Message::from).collect::<Vec<_>>(),
        })),
        _ => {
            let mut out = format!(
                "Session {} · {} ({}) · skill {} · {}",
                session.name,
                session.provider,
                session.model,
                session.skill,
                output::count(session.message_count, "message", "messages")
            );
            if session.archived_count > 0 {
                out.push_str(&format!(
                    " ({} archived into {})",
                    session.archived_count,
                    output::count(session.summary_count, "summary", "summaries")
                ));
            }
            if session.input_tokens + session.output_tokens > 0 {
                out.push_str(&format!(
                    "\nUsed {} tokens in and {} out",
                    super::thousands(session.input_tokens),
                    super::thousands(session.output_tokens)
                ));
                if let Some(cost) =
                    atmos_ai::catalog::estimated_cost(&sessions.project().config, &session)
                {
                    out.push_str(&format!(
                        " (about {} at {}'s pricing)",
                        money(cost),
                        session.provider
                    ));
                }
            }
            if let Some(title) = &session.title {
                out.push_str(&format!("\nTitle: {title}"));
            }
            if let Some(origin) = &session.forked_from {
                out.push_str(&format!("\nForked from '{origin}'"));
                if let Some(at) = session.forked_at {
                    out.push_str(&format!(" at message {at}"));
                }
            }
            out.push_str("\n\n");
            if messages.is_empty() {
                out.push_str("(no messages yet)\n");
            }
            for m in &messages {
                let who = match (m.role, m.is_summary) {
                    (_, true) => "Summary",
                    (Role::User, _) => "You",
                    (Role::Assistant, _) => "AI",
                    (Role::System, _) => "System",
                };
                let mut tags = Vec::new();
                if m.archived {
                    tags.push("archived");
                }
                if m.interrupted {
                    tags.push("interrupted");
                }
                if m.pinned {
                    tags.push("pinned");
                }
                let tags = if tags.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", tags.join(", "))
                };
                let id = if args.ids {
                    format!(" · #{}", m.id)
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "── {who} · {}{}{id}{tags}\n",
                    clock.when(m.created_at),
                    clock.label()
                ));
                match (m.is_summary && markers, m.summary_range) {
                    (true, Some((a, b))) => out.push_str(&format!(
                        "[SUMMARY: Messages {a}-{b}]\n{}\n[/SUMMARY]\n\n",
                        m.content.trim_end()
                    )),
                    _ => out.push_str(&format!("{}\n\n", m.content.trim_end())),
                }
            }
            out
        }
    };
    output::emit(&text, args.output.as_deref())
}

/// Every message and summary, oldest first, read page by page.
fn all_pages(sessions: &Sessions, key: &SessionKey) -> Result<Vec<atmos_ai::Message>, Failure> {
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let (_, page) = sessions.messages(
            key,
            &TranscriptQuery {
                before,
                limit: 500,
                include_archived: true,
                include_summaries: true,
            },
        )?;
        before = page.messages.first().map(|m| m.id);
        let more = page.has_more;
        pages.push(page.messages);
        if !more {
            break;
        }
    }
    Ok(pages.into_iter().rev().flatten().collect())
}

fn clean(config: Option<PathBuf>, args: CleanArgs) -> Outcome {
    // A bad duration is reported before the database is opened.
    if atmos_ai::duration::parse_age(&args.older_than).is_none() {
        return Err(atmos_ai::Error::InvalidDuration {
            value: args.older_than,
        }
        .into());
    }
    let mut sessions = open_sessions(config)?;
    // On a terminal, deleting is confirmed first, as `delete` does (scripts
    // and cron jobs, without a terminal, are not asked).
    if !args.dry_run && !args.yes && output::stdin_is_terminal() {
        let doomed = sessions.clean(&args.older_than, true)?;
        if doomed.is_empty() {
            println!(
                "No session has been idle for longer than {}.",
                args.older_than
            );
            return Ok(());
        }
        let mut names: Vec<&str> = doomed.iter().take(5).map(|s| s.name.as_str()).collect();
        if doomed.len() > 5 {
            names.push("…");
        }
        let question = format!(
            "Delete {} idle for longer than {} ({}) permanently?",
            output::count(doomed.len() as u64, "session", "sessions"),
            args.older_than,
            names.join(", ")
        );
        if !output::confirm(&question) {
            eprintln!("Kept them all.");
            return Ok(());
        }
    }
    let removed = sessions.clean(&args.older_than, args.dry_run)?;
    let names: Vec<&str> = removed.iter().map(|s| s.name.as_str()).collect();
    let text = match args.format {
        TextFormat::Json => output::json(&serde_json::json!({
            "deleted": names, "count": names.len(), "dryRun": args.dry_run,
        })),
        TextFormat::Text if names.is_empty() => {
            format!(
                "No session has been idle for longer than {}.\n",
                args.older_than
            )
        }
        TextFormat::Text => {
            let verb = if args.dry_run {
                "Would delete"
            } else {
                "Deleted"
            };
            let plural = if names.len() == 1 { "" } else { "s" };
            format!(
                "{verb} {} session{plural}: {}\n",
                names.len(),
                names.join(", ")
            )
        }
    };
    output::emit(&text, args.output.as_deref())
}

fn delete(config: Option<PathBuf>, args: DeleteArgs) -> Outcome {
    let mut sessions = open_sessions(config)?;
    let key = SessionKey::Name(args.name.clone());
    let session = sessions.get(&key)?;
    if !args.yes {
        if !output::stdin_is_terminal() {
            return Err(Failure::Usage(format!(
                "deleting '{}' is permanent: pass --yes to confirm when not on a terminal",
                args.name
            )));
        }
        let question = format!(
            "Delete session '{}' and its {} messages permanently?",
            session.name, session.message_count
        );
        if !output::confirm(&question) {
            eprintln!("Kept '{}'.", session.name);
            return Ok(());
        }
    }
    sessions.delete(&key)?;
    println!("Deleted session '{}'.", session.name);
    Ok(())
}

fn rename(config: Option<PathBuf>, args: RenameArgs) -> Outcome {
    let mut sessions = open_sessions(config)?;
    let renamed = sessions.rename(&SessionKey::Name(args.old.clone()), &args.new)?;
    println!("Renamed '{}' to '{}'.", args.old, renamed.name);
    Ok(())
}

fn uncompact(config: Option<PathBuf>, args: UncompactArgs) -> Outcome {
    let mut sessions = open_sessions(config)?;
    let (session, restored) =
        sessions.uncompact(&SessionKey::Name(args.name.clone()), args.summary)?;
    println!(
        "{}: {} active again (the summary is kept, archived); {} active now.",
        session.name,
        output::count(restored.len() as u64, "message is", "messages are"),
        output::count(session.active_count(), "message", "messages")
    );
    Ok(())
}

fn pin(config: Option<PathBuf>, args: PinArgs) -> Outcome {
    let mut sessions = open_sessions(config)?;
    let (session, message) = sessions.pin(
        &SessionKey::Name(args.name.clone()),
        args.message_id,
        !args.unpin,
    )?;
    if args.unpin {
        println!(
            "Unpinned message {} of '{}': a later compaction may summarise it.",
            message.id, session.name
        );
    } else {
        println!(
            "Pinned message {} of '{}': it is never compacted and always sent. \
             `atmos ai sessions pin {} {} --unpin` undoes it.",
            message.id, session.name, session.name, message.id
        );
    }
    Ok(())
}

fn title(config: Option<PathBuf>, args: TitleArgs) -> Outcome {
    let mut sessions = open_sessions(config)?;
    let key = SessionKey::Name(args.name.clone());
    let new = match (args.title, args.clear) {
        // clap refuses a title with --clear.
        (Some(t), _) => t,
        (None, true) => String::new(),
        (None, false) => {
            let session = sessions.get(&key)?;
            match &session.title {
                Some(t) => println!("{t}"),
                None => eprintln!(
                    "Session '{}' has no title yet: it gets one from its first exchange, or \
                     set one with `atmos ai sessions title {} \"TITLE\"`.",
                    session.name, session.name
                ),
            }
            return Ok(());
        }
    };
    let session = sessions.update(
        &key,
        atmos_ai::UpdateOptions {
            title: Some(new),
            ..Default::default()
        },
    )?;
    match &session.title {
        Some(t) => println!("Titled '{}': {t}", session.name),
        None => println!(
            "Cleared the title of '{}' (no title is made for it again).",
            session.name
        ),
    }
    Ok(())
}

fn backup(config: Option<PathBuf>, args: BackupArgs) -> Outcome {
    let sessions = open_sessions(config)?;
    let dest = args.file.unwrap_or_else(|| sessions.default_backup_path());
    let bytes = sessions.backup(&dest)?;
    println!(
        "Backed up {} to {} ({}).",
        output::count(sessions.status()?.session_count, "session", "sessions"),
        dest.display(),
        atmos_ai::sessions::size_text(bytes as usize)
    );
    Ok(())
}

fn fork(config: Option<PathBuf>, args: ForkArgs) -> Outcome {
    let mut sessions = open_sessions(config)?;
    let (session, evicted) = sessions.fork(
        &SessionKey::Name(args.name.clone()),
        args.at,
        args.name_of_fork.as_deref(),
    )?;
    let line = format!(
        "Forked '{}' into '{}' ({}); resume it with `atmos ai chat --session {}`.\n",
        args.name,
        session.name,
        output::count(session.message_count, "message", "messages"),
        session.name
    );
    output::emit(&created(&session, &evicted, args.format, line), None)
}

/// What `fork` and `import` print: the new session as `atmos/session/create`
/// gives it (json), or `line`, after a notice of each session evicted.
fn created(
    session: &atmos_ai::Session,
    evicted: &[String],
    format: TextFormat,
    line: String,
) -> String {
    match format {
        TextFormat::Json => output::json(&wire::CreatedResult {
            session: session.into(),
            evicted: evicted.to_vec(),
        }),
        TextFormat::Text => {
            for gone in evicted {
                eprintln!("{}", super::evicted_line(gone));
            }
            line
        }
    }
}

fn compact(config: Option<PathBuf>, args: CompactArgs) -> Outcome {
    let engine = atmos_ai::Engine::open(super::load_project(config)?)?;
    let key = SessionKey::Name(args.name.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Message(format!("cannot start the async runtime: {e}")))?;
    let notice = super::compact_now(&engine, &key, &runtime)?;
    let (session, preserve_recent) = engine.call_blocking(move |s| {
        let preserve = s.project().config.sessions.auto_compact.preserve_recent;
        Ok((s.get(&key)?, preserve))
    })?;
    let text = match args.format {
        TextFormat::Json => output::json(&serde_json::json!({
            "compacted": notice.is_some(),
            "session": wire::Session::from(&session),
        })),
        TextFormat::Text => match notice {
            Some(line) => format!("{}: {line}\n", session.name),
            None => format!(
                "{}: nothing to compact (the newest {} messages are always kept verbatim, \
                 and older ones only when a summary is shorter than they are)\n",
                session.name, preserve_recent
            ),
        },
    };
    output::emit(&text, None)
}

fn export(config: Option<PathBuf>, args: ExportArgs) -> Outcome {
    let sessions = open_sessions(config)?;
    let format = match (args.format, args.output.as_deref().and_then(extension)) {
        (Some(ExportFormat::Json), _) => Format::Json,
        (Some(ExportFormat::Yaml), _) => Format::Yaml,
        (Some(ExportFormat::Markdown), _) => Format::Markdown,
        (None, Some(ext)) => ext.parse().unwrap_or(Format::Json),
        (None, None) => Format::Json,
    };
    let text = sessions.export(&SessionKey::Name(args.name), format)?;
    output::emit(&text, args.output.as_deref())
}

fn extension(p: &Path) -> Option<String> {
    p.extension().map(|e| e.to_string_lossy().into_owned())
}

fn import(config: Option<PathBuf>, args: ImportArgs) -> Outcome {
    let content = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Failure::Message(format!("cannot read standard input: {e}")))?
    } else {
        std::fs::read_to_string(&args.file)
            .map_err(|e| Failure::Message(format!("cannot read {}: {e}", args.file.display())))?
    };
    let format = match args.format {
        Some(ImportFormat::Json) => Some(Format::Json),
        Some(ImportFormat::Yaml) => Some(Format::Yaml),
        None => args
            .file
            .extension()
            .and_then(|e| e.to_str())
            .and_then(|e| e.parse::<Format>().ok())
            .filter(|f| *f != Format::Markdown),
    };
    let mut sessions = open_sessions(config)?;
    let (session, evicted) = sessions.import(&content, format, args.name.as_deref())?;
    let line = format!(
        "Imported '{}' ({}, {} · {}).\n",
        session.name,
        output::count(session.message_count, "message", "messages"),
        session.provider,
        session.model
    );
    output::emit(
        &created(&session, &evicted, args.report, line),
        args.output.as_deref(),
    )
}

fn doctor(config: Option<PathBuf>, args: FormatArg) -> Outcome {
    let project = super::load_project(config)?;
    if !project.config.sessions.enabled {
        return Err(atmos_ai::Error::SessionsDisabled {
            config_path: project.config_path,
        }
        .into());
    }
    // Permissions first: a read-only database cannot even be opened.
    let db = project.database_path();
    let mut fixed = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = db.parent().map(Path::to_path_buf).unwrap_or_default();
        for (path, mode) in [(dir, 0o700), (db.clone(), 0o600)] {
            let current = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
            if let Ok(current) = current
                && current != mode
            {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(
                    |e| Failure::Message(format!("cannot set {} to {mode:o}: {e}", path.display())),
                )?;
                fixed.push(format!("{}: {current:o} -> {mode:o}", path.display()));
            }
        }
    }
    let mut sessions = Sessions::open(project)?;
    let problems = sessions.integrity_problems()?;
    let status = sessions.status()?;
    // Turns and compactions under way; a lease left by a process that was
    // killed is given back here (the next turn would take it over too).
    let (busy, freed) = sessions.busy_sessions()?;
    let text = match args.format {
        TextFormat::Json => output::json(&serde_json::json!({
            "databasePath": db.display().to_string(),
            "schemaVersion": status.schema_version,
            "sessionCount": status.session_count,
            "integrity": if problems.is_empty() { vec!["ok".to_string()] } else { problems.clone() },
            "permissionsFixed": fixed,
            "busySessions": busy,
            "staleLeasesReleased": freed,
        })),
        TextFormat::Text => {
            let mut t = format!(
                "Database: {}\nSchema version: {}\nSessions: {}\n",
                db.display(),
                status.schema_version,
                status.session_count
            );
            if problems.is_empty() {
                t.push_str("Integrity check: ok\n");
            } else {
                t.push_str("Integrity check FAILED: restore a backup (cp sessions.db.backup sessions.db)\n");
                for p in &problems {
                    t.push_str(&format!("  {p}\n"));
                }
            }
            match busy.as_slice() {
                [] => t.push_str("Turns under way: none\n"),
                names => t.push_str(&format!(
                    "Turns under way (busy until they end): {}\n",
                    names.join(", ")
                )),
            }
            if !freed.is_empty() {
                t.push_str(&format!(
                    "Released the locks of ended processes on: {} (they were killed mid-turn \
                     or mid-compaction; the sessions are free again)\n",
                    freed.join(", ")
                ));
            }
            if fixed.is_empty() {
                t.push_str("Permissions: ok (folder 700, file 600)\n");
            } else {
                for f in &fixed {
                    t.push_str(&format!("Permissions fixed: {f}\n"));
                }
            }
            t
        }
    };
    output::emit(&text, args.output.as_deref())?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Message(
            "the session database failed its integrity check".into(),
        ))
    }
}

/// A cost as people read it: `0.0213` for small sums, `12.40` otherwise.
pub fn money(cost: f64) -> String {
    if cost < 1.0 {
        format!("{cost:.4}")
    } else {
        format!("{cost:.2}")
    }
}

/// `sessions show --compacted`: each summary (live or folded) with the
/// messages it replaced, by id, for `sessions uncompact`.
fn compacted_text(name: &str, messages: &[atmos_ai::Message]) -> String {
    let summaries: Vec<&atmos_ai::Message> = messages.iter().filter(|m| m.is_summary).collect();
    if summaries.is_empty() {
        return format!("{name}: no compaction yet; every message is sent as it is.\n");
    }
    let mut out = String::new();
    for s in summaries {
        let (from, to) = s.summary_range.unwrap_or((0, 0));
        let replaced: Vec<&atmos_ai::Message> = messages
            .iter()
            .filter(|m| !m.is_summary && m.archived && m.id >= from && m.id <= to)
            .collect();
        out.push_str(&format!(
            "── Summary #{} · {} · replaces messages #{from}–#{to} ({}){}\n",
            s.id,
            if s.archived {
                "folded into a later one"
            } else {
                "live"
            },
            output::count(
                replaced.len() as u64,
                "message archived",
                "messages archived"
            ),
            if s.archived {
                ""
            } else {
                " · undo: atmos ai sessions uncompact"
            }
        ));
        for m in replaced {
            let first: String = m
                .content
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(70)
                .collect();
            out.push_str(&format!("   #{} {:?}: {first}\n", m.id, m.role));
        }
        out.push('\n');
    }
    out
}

//! The session operations every face shares: create, resume, list, rename,
//! update, delete, clean, page the transcript, status. Each is one call that
//! validates its input, asks the store, and returns plain data.

use crate::catalog;
use crate::config::Project;
use crate::error::{Error, Result};
use crate::names;
use crate::skills::Skills;
use atmos_store::{
    ListFilter, Listed, Message, NewSession, Session, SessionKey, SessionUpdate, Store,
    TranscriptPage, TranscriptQuery,
};
use chrono::Utc;
use std::path::PathBuf;

/// What a new session should be.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// `None`: an anonymous name like `chat-20261124-034943`.
    pub name: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub skill: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

/// What to change on a session; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub skill: Option<String>,
    pub metadata: Option<serde_json::Value>,
    /// The user's title for the session; `""` clears it (no title is made
    /// for it again).
    pub title: Option<String>,
}

impl UpdateOptions {
    pub fn is_empty(&self) -> bool {
        self.provider.is_none()
            && self.model.is_none()
            && self.skill.is_none()
            && self.metadata.is_none()
            && self.title.is_none()
    }
}

/// A session that was resumed (or created to be resumed).
#[derive(Debug, Clone)]
pub struct Resumed {
    pub session: Session,
    /// The active history as the model sees it: summaries, then unarchived
    /// messages (the last `limit` of them when a limit was given).
    pub messages: Vec<Message>,
    pub created: bool,
    pub evicted: Vec<String>,
    /// For a session just created by name: existing names close to it (a
    /// mistyped name would otherwise start a new session silently).
    pub similar: Vec<String>,
}

/// What `status` reports.
#[derive(Debug, Clone)]
pub struct Status {
    pub project_root: PathBuf,
    pub config_path: Option<PathBuf>,
    pub database_path: PathBuf,
    pub sessions_enabled: bool,
    pub session_count: u64,
    pub schema_version: u32,
}

/// The sessions of one project, over its open database.
#[derive(Debug)]
pub struct Sessions {
    project: Project,
    skills: Skills,
    store: Store,
    /// Leases whose guard was dropped before their work ended (see
    /// `crate::lease`), given back by [`Sessions::settle`].
    orphans: crate::lease::Orphans,
    /// When atmos.yaml and the skills folder were last changed, as read.
    stamp: Stamp,
    /// Why the last edit of atmos.yaml (or the skills) is not in force, until
    /// an edit that works.
    config_problem: Option<String>,
}

/// Modification times of atmos.yaml and of the skills folder.
type Stamp = (Option<std::time::SystemTime>, Option<std::time::SystemTime>);

fn stamp(project: &Project) -> Stamp {
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (
        project.config_path.as_deref().and_then(modified),
        modified(&project.root.join(crate::skills::SKILLS_DIR)),
    )
}

impl Drop for Sessions {
    fn drop(&mut self) {
        self.settle();
    }
}

impl Sessions {
    /// Opens the project's session database, creating it on first use.
    /// Fails with `SessionsDisabled` unless `ai.sessions.enabled` is true.
    pub fn open(project: Project) -> Result<Sessions> {
        if !project.config.sessions.enabled {
            return Err(Error::SessionsDisabled {
                config_path: project.config_path.clone(),
            });
        }
        let skills = Skills::load(&project)?;
        let store = Store::open(&project.database_path())?;
        Ok(Sessions {
            stamp: stamp(&project),
            project,
            skills,
            store,
            orphans: Default::default(),
            config_problem: None,
        })
    }

    /// Re-reads atmos.yaml and the skills when either changed on disk since
    /// they were read (a long-running server picks up a new provider or
    /// skill without a restart). `Ok(true)`: reloaded. On an error (a broken
    /// or disabling edit) the previous settings stay in force.
    pub fn refresh(&mut self) -> Result<bool> {
        let Some(path) = self.project.config_path.clone() else {
            return Ok(false);
        };
        let now = stamp(&self.project);
        if now == self.stamp {
            return Ok(false);
        }
        self.stamp = now;
        let reloaded = self.reload(path);
        self.config_problem = reloaded.as_ref().err().map(ToString::to_string);
        reloaded.map(|()| true)
    }

    fn reload(&mut self, path: std::path::PathBuf) -> Result<()> {
        let project = Project::load(&crate::config::LoadOptions {
            explicit: Some(path),
            env_path: None,
            start_dir: self.project.root.clone(),
        })?;
        if !project.config.sessions.enabled {
            return Err(Error::SessionsDisabled {
                config_path: project.config_path.clone(),
            });
        }
        let skills = Skills::load(&project)?;
        if project.database_path() != self.project.database_path() {
            self.store = Store::open(&project.database_path())?;
        }
        self.project = project;
        self.skills = skills;
        Ok(())
    }

    /// Why the settings in force are not those of atmos.yaml as it is now
    /// (its last edit does not parse, or turns sessions off); `None` when
    /// they are.
    pub fn config_problem(&self) -> Option<&str> {
        self.config_problem.as_deref()
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    pub fn skills(&self) -> &Skills {
        &self.skills
    }

    /// The database. Only the core calls it: the faces go through the
    /// operations here and the engine (`crate::engine`).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    pub(crate) fn orphans(&self) -> &crate::lease::Orphans {
        &self.orphans
    }

    /// The system prompt of a skill; an unknown skill (one removed since the
    /// session chose it) falls back to the default skill's.
    pub fn skill_prompt(&self, skill: &str) -> String {
        self.skills.system_prompt(skill)
    }

    /// Creates a session. A taken name is `SessionExists`; beyond
    /// `max_sessions` the least recently updated others are evicted.
    pub fn create(&mut self, options: CreateOptions) -> Result<(Session, Vec<String>)> {
        let new = self.new_session(&options)?;
        let max = self.project.config.sessions.max_sessions;
        if options.name.is_some() {
            return Ok(self.store.create_session(&new, max)?);
        }
        // An anonymous name can race with another process: try the next.
        let mut new = new;
        loop {
            match self.store.create_session(&new, max) {
                Err(atmos_store::StoreError::NameTaken(_)) => {
                    new.name = self.anonymous_name(Some(&new.name))?;
                }
                other => return Ok(other?),
            }
        }
    }

    fn new_session(&self, options: &CreateOptions) -> Result<NewSession> {
        let name = match &options.name {
            Some(name) => {
                check_name(name)?;
                name.clone()
            }
            None => self.anonymous_name(None)?,
        };
        let provider = catalog::resolve(&self.project.config, options.provider.as_deref())?;
        let model = match &options.model {
            Some(m) if m.trim().is_empty() => {
                return Err(Error::invalid_param("model", "a model cannot be empty"));
            }
            Some(m) => m.clone(),
            None => provider.model.clone(),
        };
        let skill = self.check_skill(options.skill.as_deref())?;
        Ok(NewSession {
            name,
            provider: provider.name,
            model,
            skill,
            metadata: check_metadata(options.metadata.clone())?,
            created_at: None,
            updated_at: None,
        })
    }

    /// A free anonymous name (other than `taken`, which just lost a race).
    /// A database error ends the search and is returned.
    fn anonymous_name(&self, taken: Option<&str>) -> Result<String> {
        let mut error = None;
        let name = names::anonymous(Utc::now(), |n| {
            if Some(n) == taken {
                return true;
            }
            match self.store.name_exists(n) {
                Ok(exists) => exists,
                Err(e) => {
                    error.get_or_insert(e);
                    false
                }
            }
        });
        match error {
            Some(e) => Err(e.into()),
            None => Ok(name),
        }
    }

    fn check_skill(&self, skill: Option<&str>) -> Result<String> {
        match skill {
            None => Ok(self.skills.default_name().to_string()),
            Some(s) if self.skills.get(s).is_some() => Ok(s.to_string()),
            Some(s) => Err(Error::invalid_param(
                "skill",
                format!(
                    "unknown skill '{s}': run `atmos ai skills` to see them ({})",
                    self.skills
                        .iter()
                        .map(|k| k.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// The session, or `SessionNotFound`.
    pub fn get(&self, key: &SessionKey) -> Result<Session> {
        Ok(self.store.get(key)?)
    }

    /// The session, or `None` when there is none.
    pub fn find(&self, key: &SessionKey) -> Result<Option<Session>> {
        Ok(self.store.find(key)?)
    }

    /// The session and the estimated tokens of its next request (skill
    /// prompt, summaries, the active window `begin_turn` would send), with
    /// no new message: O(window), not O(history).
    pub fn next_request_tokens(&self, key: &SessionKey) -> Result<(Session, u64)> {
        let session = self.get(key)?;
        let max = self.project.config.max_history_messages;
        let window = self
            .store
            .active_window(&session.id, (max > 0).then_some(max))?;
        let tokens = crate::history::estimate_request(
            &crate::history::system_prompt(&self.skill_prompt(&session.skill), &window),
            &crate::history::messages(&window, &[]),
        );
        Ok((session, tokens))
    }

    /// The estimated tokens of all the session's active messages and
    /// summaries (what a compaction would start from).
    pub(crate) fn active_tokens(&self, session: &Session) -> Result<u64> {
        Ok(self
            .store
            .active_window(&session.id, None)?
            .iter()
            .map(|m| crate::history::estimate_tokens(&m.content))
            .sum())
    }

    /// Resumes a session (creating it when asked and missing), switching its
    /// provider, model or skill when given.
    pub fn resume(
        &mut self,
        key: &SessionKey,
        create_if_missing: bool,
        switch: UpdateOptions,
        limit: Option<u32>,
    ) -> Result<Resumed> {
        let (session, created, evicted) = match self.store.find(key)? {
            // Resuming is using: it counts for least-recently-used eviction.
            Some(s) if switch.is_empty() => (self.store.touch(&s.id)?, false, Vec::new()),
            Some(_) => (self.update(key, switch)?, false, Vec::new()),
            None => match (key, create_if_missing) {
                (SessionKey::Name(name), true) => {
                    let (s, evicted) = self.create(CreateOptions {
                        name: Some(name.clone()),
                        provider: switch.provider,
                        model: switch.model,
                        skill: switch.skill,
                        metadata: switch.metadata,
                    })?;
                    (s, true, evicted)
                }
                _ => return Err(Error::SessionNotFound { key: key.clone() }),
            },
        };
        // With a limit, only that many of the newest rows are read: resuming
        // a long session costs O(limit), not O(history).
        let mut messages = self.store.active_window(&session.id, limit)?;
        if let Some(limit) = limit {
            let skip = messages.len().saturating_sub(limit as usize);
            messages.drain(..skip);
        }
        let similar = match key {
            SessionKey::Name(name) if created => self.similar_names(name)?,
            _ => Vec::new(),
        };
        Ok(Resumed {
            session,
            messages,
            created,
            evicted,
            similar,
        })
    }

    /// Names of existing sessions close to `name` (a likely typo), closest
    /// first, at most three.
    pub fn similar_names(&self, name: &str) -> Result<Vec<String>> {
        let wanted = name.to_lowercase();
        let mut close: Vec<(f64, String)> = self
            .store
            .names()?
            .into_iter()
            .filter(|n| n != name)
            .map(|n| (strsim::jaro_winkler(&wanted, &n.to_lowercase()), n))
            .filter(|(score, _)| *score >= 0.85)
            .collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        Ok(close.into_iter().take(3).map(|(_, n)| n).collect())
    }

    /// Sessions, most recently updated first, and how many match in all.
    /// A `provider` filter must name a provider this project knows, or one
    /// that some session uses (an imported one, say); anything else is an
    /// invalid `provider` parameter rather than an empty list.
    pub fn list(&self, filter: &ListFilter) -> Result<(Vec<Listed>, u64)> {
        if let Some(p) = filter.provider.as_deref()
            && catalog::resolve(&self.project.config, Some(p)).is_err()
        {
            let probe = ListFilter {
                provider: Some(p.to_string()),
                limit: Some(1),
                ..ListFilter::default()
            };
            if self.store.list(&probe)?.1 == 0 {
                return Err(Error::invalid_param(
                    "provider",
                    format!("no provider or session uses the provider '{p}'"),
                ));
            }
        }
        Ok(self.store.list(filter)?)
    }

    /// A value that changes whenever the database does (in this process or
    /// another): a face may keep what it read (a listing) while it is equal.
    pub fn data_version(&self) -> Result<(i64, u64)> {
        Ok(self.store.data_version()?)
    }

    pub fn rename(&mut self, key: &SessionKey, new_name: &str) -> Result<Session> {
        check_name(new_name)?;
        Ok(self.store.rename(key, new_name)?)
    }

    /// Undoes the compaction of summary `summary` (the live one when `None`):
    /// the messages it replaced are active again, the summary is archived.
    /// Returns the session and the ids restored.
    pub fn uncompact(
        &mut self,
        key: &SessionKey,
        summary: Option<i64>,
    ) -> Result<(Session, Vec<i64>)> {
        let session = self.get(key)?;
        // Not while a turn or compaction runs on it.
        let lease = self.take_lease(
            &session,
            &format!("uncompact-{}", crate::chat::lease_holder()),
        )?;
        let restored = self
            .store_mut()
            .uncompact(&session.id, &session.name, summary)
            .map_err(|e| match e {
                atmos_store::StoreError::MessageNotFound { session, .. } => Error::invalid_param(
                    "summary",
                    format!(
                        "session '{session}' has no live summary{}: `atmos ai sessions show {session} --compacted` lists them",
                        summary.map(|id| format!(" {id}")).unwrap_or_default()
                    ),
                ),
                other => other.into(),
            });
        self.release(lease);
        let restored = restored?;
        Ok((self.get(&SessionKey::Id(session.id))?, restored))
    }

    /// A consistent copy of the whole database at `dest` (SQLite's online
    /// backup: safe while servers and turns run); its size in bytes.
    /// `dest` must not be the database itself (or its WAL or shared-memory
    /// file): a backup there would replace what it copies.
    pub fn backup(&self, dest: &std::path::Path) -> Result<u64> {
        let folder = match dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => p.to_path_buf(),
            None => PathBuf::from("."),
        };
        if !folder.is_dir() {
            return Err(Error::invalid_param(
                "path",
                format!(
                    "cannot write the backup to {}: the folder {} does not exist (create it, or name another file)",
                    dest.display(),
                    folder.display()
                ),
            ));
        }
        let own = self.store().is_own_file(dest);
        if own || dest.is_dir() {
            return Err(Error::invalid_param(
                "path",
                format!(
                    "{} is {}: name a new file for the backup (for example {})",
                    dest.display(),
                    if own {
                        "the sessions database itself"
                    } else {
                        "a folder"
                    },
                    self.default_backup_path().display()
                ),
            ));
        }
        Ok(self.store().backup_to(dest)?)
    }

    /// Where a backup goes when the user names no file: `sessions.db.backup`
    /// beside the database.
    pub fn default_backup_path(&self) -> PathBuf {
        self.project()
            .database_path()
            .with_file_name("sessions.db.backup")
    }

    /// Forks session `key` at message `at` (its newest when `None`): a new
    /// session named `name` (else "ORIGIN-fork", "ORIGIN-fork-2", …) with
    /// the history up to that message, summaries and archived messages
    /// included, the same provider, model, skill and metadata, and a note of
    /// where it came from. Returns it and the sessions evicted.
    pub fn fork(
        &mut self,
        key: &SessionKey,
        at: Option<i64>,
        name: Option<&str>,
    ) -> Result<(Session, Vec<String>)> {
        let origin = self.get(key)?;
        let name = match name {
            Some(n) => {
                check_name(n)?;
                n.to_string()
            }
            None => {
                let base = format!("{}-fork", origin.name);
                let mut candidate = base.clone();
                let mut n = 2;
                while self.store().name_exists(&candidate)? {
                    candidate = format!("{base}-{n}");
                    n += 1;
                }
                candidate
            }
        };
        let new = NewSession {
            name,
            provider: origin.provider.clone(),
            model: origin.model.clone(),
            skill: origin.skill.clone(),
            metadata: origin.metadata.clone(),
            created_at: None,
            updated_at: None,
        };
        let max = self.project().config.sessions.max_sessions;
        Ok(self
            .store_mut()
            .fork_session(&SessionKey::Id(origin.id), at, &new, max)?)
    }

    /// Switches skill, provider, model or metadata. A new provider without a
    /// model takes that provider's model.
    pub fn update(&mut self, key: &SessionKey, options: UpdateOptions) -> Result<Session> {
        let mut update = SessionUpdate::default();
        if let Some(p) = &options.provider {
            let entry = catalog::resolve(&self.project.config, Some(p))?;
            if options.model.is_none() {
                update.model = Some(entry.model.clone());
            }
            update.provider = Some(entry.name);
        }
        if let Some(m) = options.model {
            if m.trim().is_empty() {
                return Err(Error::invalid_param("model", "a model cannot be empty"));
            }
            update.model = Some(m);
        }
        if let Some(s) = options.skill.as_deref() {
            update.skill = Some(self.check_skill(Some(s))?);
        }
        if let Some(m) = options.metadata {
            update.metadata = Some(check_metadata(Some(m))?);
        }
        if let Some(t) = options.title {
            update.title = Some(crate::titles::check_title(&t)?);
        }
        Ok(self.store.update(key, &update)?)
    }

    /// Pins message `id` of session `key` (or unpins it): a pinned message
    /// is never compacted and is always sent; pinning an archived one makes
    /// it active again. Returns the session and the message.
    pub fn pin(&mut self, key: &SessionKey, id: i64, pinned: bool) -> Result<(Session, Message)> {
        let session = self.get(key)?;
        let message = self
            .store_mut()
            .pin_message(&session.id, &session.name, id, pinned)
            .map_err(|e| match e {
                atmos_store::StoreError::MessageNotFound { session, id } => Error::invalid_param(
                    "messageId",
                    format!(
                        "session '{session}' has no message {id} that can be pinned (summaries cannot): \
                         `atmos ai sessions show {session} --ids` lists them"
                    ),
                ),
                other => other.into(),
            })?;
        Ok((self.get(&SessionKey::Id(session.id))?, message))
    }

    /// Deletes a session and everything that belongs to it.
    pub fn delete(&mut self, key: &SessionKey) -> Result<Session> {
        Ok(self.store.delete(key)?)
    }

    /// Deletes (or lists, with `dry_run`) the sessions whose last activity is
    /// older than `older_than` (`30d`, `12h`, `2w`, `6m`; `0d`: all).
    pub fn clean(&mut self, older_than: &str, dry_run: bool) -> Result<Vec<Session>> {
        let age = crate::duration::parse_age(older_than).ok_or_else(|| Error::InvalidDuration {
            value: older_than.to_string(),
        })?;
        Ok(self.store.clean(Utc::now() - age, dry_run)?)
    }

    /// A page of the full transcript.
    pub fn messages(
        &self,
        key: &SessionKey,
        query: &TranscriptQuery,
    ) -> Result<(Session, TranscriptPage)> {
        let session = self.get(key)?;
        let page = self.store.transcript(&session.id, query)?;
        Ok((session, page))
    }

    /// `PRAGMA integrity_check`: empty when the database is sound.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        Ok(self.store.integrity_problems()?)
    }

    pub fn status(&self) -> Result<Status> {
        Ok(Status {
            project_root: self.project.root.clone(),
            config_path: self.project.config_path.clone(),
            database_path: self.store.path().to_path_buf(),
            sessions_enabled: true,
            session_count: self.store.session_count()?,
            schema_version: self.store.schema_version()?,
        })
    }
}

/// A name that breaks the rule is `InvalidName`.
pub fn check_name(name: &str) -> Result<()> {
    names::validate(name).map_err(|rule| Error::InvalidName {
        name: name.to_string(),
        rule: rule.to_string(),
    })
}

/// The most metadata a session keeps, as JSON (64 KiB): tags such as a
/// ticket or a stack name, which every listing carries.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

fn check_metadata(metadata: Option<serde_json::Value>) -> Result<serde_json::Value> {
    match metadata {
        None | Some(serde_json::Value::Null) => Ok(serde_json::json!({})),
        Some(m @ serde_json::Value::Object(_)) => {
            let size = serde_json::to_vec(&m).map_or(usize::MAX, |b| b.len());
            if size > MAX_METADATA_BYTES {
                return Err(Error::invalid_param(
                    "metadata",
                    format!(
                        "metadata is {} as JSON, over the limit of 64 KiB: keep tags (a ticket, \
                         a stack) in it, and put documents in a message",
                        crate::sessions::size_text(size)
                    ),
                ));
            }
            Ok(m)
        }
        Some(_) => Err(Error::invalid_param(
            "metadata",
            "metadata must be a JSON object",
        )),
    }
}

/// `15.0 MB`, `80 KiB`, `120 bytes`.
pub fn size_text(bytes: usize) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}

//! One handler per request of PROTOCOL.md, each three steps: convert the
//! params in (`proto`), call the core (on the store thread), convert the
//! result out; plus the `atmos/sessions/changed` notification after a change.

use crate::proto::{
    self, ChangeReason, Notify, SessionsChanged, SessionsChangedParams, ToWire, parse,
};
use crate::server::Backend;
use crate::turns;
use atmos_ai::catalog;
use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;

impl Backend {
    /// `atmos/session/create`.
    pub async fn create(&self, params: Value) -> Result<proto::CreatedResult> {
        let options = proto::create_options(parse::<proto::CreateParams>(params)?);
        let (session, evicted) = self.workspace.sessions(move |s| s.create(options)).await?;
        self.added(ChangeReason::Created, &session, &evicted).await;
        Ok((session, evicted).to_wire())
    }

    /// `atmos/session/resume`.
    pub async fn resume(&self, params: Value) -> Result<proto::ResumeResult> {
        let args: proto::ResumeArgs = parse::<proto::ResumeParams>(params)?.try_into()?;
        let switched = !args.switch.is_empty();
        let resumed = self
            .workspace
            .sessions(move |s| s.resume(&args.key, args.create_if_missing, args.switch, args.limit))
            .await?;
        if resumed.created {
            self.added(ChangeReason::Created, &resumed.session, &resumed.evicted)
                .await;
        } else if switched {
            self.changed(proto::changed(ChangeReason::Updated, &resumed.session))
                .await;
        }
        Ok(resumed.to_wire())
    }

    /// `atmos/session/messages`.
    pub async fn messages(&self, params: Value) -> Result<proto::MessagesResult> {
        let (key, query) = proto::transcript_query(parse::<proto::MessagesParams>(params)?)?;
        let (_, page) = self
            .workspace
            .sessions(move |s| s.messages(&key, &query))
            .await?;
        Ok(page.to_wire())
    }

    /// `atmos/session/list`.
    pub async fn list(&self, params: Value) -> Result<proto::ListResult> {
        let filter = proto::list_filter(parse::<proto::ListParams>(params)?);
        Ok(self
            .workspace
            .sessions(move |s| s.list(&filter))
            .await?
            .to_wire())
    }

    /// `atmos/session/rename`.
    pub async fn rename(&self, params: Value) -> Result<proto::Session> {
        let p = parse::<proto::RenameParams>(params)?;
        let key = proto::session_key(p.name, p.id)?;
        let session = self
            .workspace
            .sessions(move |s| s.rename(&key, &p.new_name))
            .await?;
        self.changed(proto::changed(ChangeReason::Renamed, &session))
            .await;
        Ok(session.into())
    }

    /// `atmos/session/fork`.
    pub async fn fork(&self, params: Value) -> Result<proto::CreatedResult> {
        let p = parse::<proto::ForkParams>(params)?;
        let key = proto::session_key(p.name, p.id)?;
        let at =
            p.at.as_deref()
                .map(|id| proto::message_id("at", id))
                .transpose()?;
        let new_name = p.new_name;
        let (session, evicted) = self
            .workspace
            .sessions(move |s| s.fork(&key, at, new_name.as_deref()))
            .await?;
        self.added(ChangeReason::Created, &session, &evicted).await;
        Ok((session, evicted).to_wire())
    }

    /// `atmos/session/uncompact`.
    pub async fn uncompact(&self, params: Value) -> Result<proto::UncompactResult> {
        let p = parse::<proto::UncompactParams>(params)?;
        let key = proto::session_key(p.name, p.id)?;
        let summary = p
            .summary_id
            .as_deref()
            .map(|id| proto::message_id("summaryId", id))
            .transpose()?;
        let (session, restored) = self
            .workspace
            .sessions(move |s| s.uncompact(&key, summary))
            .await?;
        self.changed(proto::changed(ChangeReason::Updated, &session))
            .await;
        Ok(proto::UncompactResult {
            session: session.into(),
            restored: restored.iter().map(i64::to_string).collect(),
        })
    }

    /// `atmos/session/pin`.
    pub async fn pin(&self, params: Value) -> Result<proto::PinResult> {
        let p = parse::<proto::PinParams>(params)?;
        let key = proto::session_key(p.name, p.id)?;
        let id = proto::message_id("messageId", &p.message_id)?;
        let pinned = p.pinned.unwrap_or(true);
        let (session, message) = self
            .workspace
            .sessions(move |s| s.pin(&key, id, pinned))
            .await?;
        self.changed(proto::changed(ChangeReason::Updated, &session))
            .await;
        Ok(proto::PinResult {
            session: session.into(),
            message: message.into(),
        })
    }

    /// `atmos/session/subscribe`: follows a session (see `live`).
    pub async fn subscribe(&self, params: Value) -> Result<proto::SubscribeResult> {
        let p = parse::<proto::SubscribeParams>(params)?;
        let key = proto::session_key(p.name, p.id)?;
        let after = p
            .after
            .as_deref()
            .map(|id| proto::message_id("after", id))
            .transpose()?;
        let engine = self.workspace.engine().await?;
        let (session, replying) = self
            .live
            .follow(&self.client, &engine, key, after)
            .await
            .map_err(crate::errors::to_rpc)?;
        Ok(proto::SubscribeResult {
            session: session.into(),
            replying_elsewhere: replying,
        })
    }

    /// `atmos/session/unsubscribe`.
    pub async fn unsubscribe(&self, params: Value) -> Result<proto::UnsubscribeResult> {
        let key = proto::target(parse::<proto::TargetParams>(params)?)?;
        let engine = self.workspace.engine().await?;
        let unsubscribed = self
            .live
            .unfollow(&engine, key)
            .await
            .map_err(crate::errors::to_rpc)?;
        Ok(proto::UnsubscribeResult { unsubscribed })
    }

    /// `atmos/backup`: the whole database, through SQLite's online backup.
    pub async fn backup(&self, params: Value) -> Result<proto::BackupResult> {
        let p = parse::<proto::BackupParams>(params)?;
        let (path, bytes) = self
            .workspace
            .sessions(move |s| {
                let dest = match p.path.as_deref().filter(|p| !p.trim().is_empty()) {
                    Some(path) => s.project().root.join(path),
                    None => s.default_backup_path(),
                };
                let bytes = s.backup(&dest)?;
                Ok((dest, bytes))
            })
            .await?;
        Ok(proto::BackupResult {
            path: path.display().to_string(),
            bytes,
        })
    }

    /// `atmos/session/update`.
    pub async fn update(&self, params: Value) -> Result<proto::Session> {
        let (key, options) = proto::update_options(parse::<proto::UpdateParams>(params)?)?;
        let session = self
            .workspace
            .sessions(move |s| s.update(&key, options))
            .await?;
        self.changed(proto::changed(ChangeReason::Updated, &session))
            .await;
        Ok(session.into())
    }

    /// `atmos/session/delete`.
    pub async fn delete(&self, params: Value) -> Result<proto::DeleteResult> {
        let key = proto::target(parse::<proto::TargetParams>(params)?)?;
        let session = self.workspace.sessions(move |s| s.delete(&key)).await?;
        self.changed(proto::changed(ChangeReason::Deleted, &session))
            .await;
        Ok(proto::DeleteResult { deleted: true })
    }

    /// `atmos/session/clean`.
    pub async fn clean(&self, params: Value) -> Result<proto::CleanResult> {
        let p = parse::<proto::CleanParams>(params)?;
        let dry_run = p.dry_run.unwrap_or(false);
        let cleaned = self
            .workspace
            .sessions(move |s| s.clean(&p.older_than_text(), dry_run))
            .await?;
        if !dry_run {
            for session in &cleaned {
                self.changed(proto::changed(ChangeReason::Cleaned, session))
                    .await;
            }
        }
        Ok(cleaned.as_slice().to_wire())
    }

    /// `atmos/session/export`.
    pub async fn export(&self, params: Value) -> Result<proto::ExportResult> {
        let (key, format) = proto::export_args(parse::<proto::ExportParams>(params)?)?;
        let content = self
            .workspace
            .sessions(move |s| s.export(&key, format))
            .await?;
        Ok(proto::ExportResult { content })
    }

    /// `atmos/session/import`.
    pub async fn import(&self, params: Value) -> Result<proto::CreatedResult> {
        let args: proto::ImportArgs = parse::<proto::ImportParams>(params)?.try_into()?;
        let (session, evicted) = self
            .workspace
            .sessions(move |s| s.import(&args.content, args.format, args.name.as_deref()))
            .await?;
        self.added(ChangeReason::Imported, &session, &evicted).await;
        Ok((session, evicted).to_wire())
    }

    /// `atmos/chat`: one turn, its deltas as `atmos/chat/delta`, and the
    /// compaction it triggers (see `turns`).
    pub async fn chat(&self, params: Value) -> Result<proto::ChatResult> {
        let args: proto::ChatArgs = parse::<proto::ChatParams>(params)?.try_into()?;
        let engine = self.workspace.engine().await?;
        turns::chat(self.client.clone(), engine, args).await
    }

    /// `atmos/session/compact`: compacts now, whatever the threshold.
    pub async fn compact(&self, params: Value) -> Result<proto::CompactionResult> {
        let key = proto::target(parse::<proto::TargetParams>(params)?)?;
        let engine = self.workspace.engine().await?;
        Ok(turns::compact(&self.client, &engine, key).await?.to_wire())
    }

    /// `atmos/providers/list`: the config's providers, then the built-in
    /// ones, each with whether its key variable is set.
    pub async fn providers(&self, params: Value) -> Result<proto::ProvidersResult> {
        parse::<proto::NoParams>(params)?;
        let config = self.workspace.project().await?.config;
        let default = catalog::resolve(&config, None).map_err(crate::errors::to_rpc)?;
        Ok((default, catalog::entries(&config)).to_wire())
    }

    /// `atmos/skills/list`: the skills sessions can use, read afresh (they
    /// need the config, not the database).
    pub async fn skills(&self, params: Value) -> Result<proto::SkillsResult> {
        parse::<proto::NoParams>(params)?;
        let skills = self
            .workspace
            .with_project(atmos_ai::skills::Skills::load)
            .await?;
        Ok((&skills).to_wire())
    }

    /// `atmos/status`: answers with `sessionsEnabled: false` (and no
    /// counts) when sessions are disabled.
    pub async fn status(&self, params: Value) -> Result<proto::StatusResult> {
        parse::<proto::NoParams>(params)?;
        match self.workspace.sessions(|s| s.status()).await {
            Err(e) if e.code.code() == crate::errors::SESSIONS_DISABLED => {
                let project = self.workspace.project().await?;
                Ok(atmos_ai::Status {
                    database_path: project.database_path(),
                    project_root: project.root,
                    config_path: project.config_path,
                    sessions_enabled: false,
                    session_count: 0,
                    schema_version: 0,
                }
                .to_wire())
            }
            other => Ok(other?.to_wire()),
        }
    }

    /// A session that was added (created or imported), and those it evicted.
    async fn added(&self, reason: ChangeReason, session: &atmos_ai::Session, evicted: &[String]) {
        self.changed(proto::changed(reason, session)).await;
        for name in evicted {
            self.changed(proto::changed_named(ChangeReason::Evicted, name))
                .await;
        }
    }

    /// Sends `atmos/sessions/changed`.
    pub(crate) async fn changed(&self, params: SessionsChangedParams) {
        self.client
            .send_notification::<Notify<SessionsChanged>>(params)
            .await;
    }
}

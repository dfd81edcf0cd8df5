//! The language-server half: the [`Backend`] that tower-lsp-server drives,
//! its life cycle (`initialize` finds the project, `shutdown`), and the table
//! that routes each protocol method to its handler in `handlers.rs`.

use crate::workspace::Workspace;
use atmos_ai::LoadOptions;
use atmos_protocol::{self as protocol, Request};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    InitializeParams, InitializeResult, ServerCapabilities, ServerInfo, Uri,
};
use tower_lsp_server::{Client, ClientSocket, LanguageServer, LspService};

/// Where the server starts looking for its project when the client does not
/// say (the process's working directory and config flags).
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// `--config`: an atmos.yaml, or a folder holding one. The client's
    /// `initializationOptions.configPath` wins over it.
    pub config: Option<PathBuf>,
    /// The value of `ATMOS_CLI_CONFIG_PATH`.
    pub env_config: Option<PathBuf>,
    /// Where to walk up from when `initialize` names no root.
    pub working_dir: PathBuf,
}

impl ServeOptions {
    /// From the process: `ATMOS_CLI_CONFIG_PATH` and the working directory.
    pub fn from_env(config: Option<PathBuf>) -> ServeOptions {
        let env = LoadOptions::from_env(config);
        ServeOptions {
            config: env.explicit,
            env_config: env.env_path,
            working_dir: env.start_dir,
        }
    }
}

/// Routes each request of `atmos-protocol` to its handler. The name comes
/// from the declaration, and the handler must return the declared result
/// type (checked when this compiles); [`ROUTED`] lists what is routed, and a
/// test holds it equal to `atmos_protocol::METHODS`.
macro_rules! routes {
    ($($request:ty => $handler:path),* $(,)?) => {
        /// The methods routed, in order.
        pub const ROUTED: &[&str] = &[$(<$request as Request>::METHOD),*];

        trait Routes {
            fn routes(self) -> Self;
        }

        impl Routes for tower_lsp_server::LspServiceBuilder<Backend> {
            fn routes(self) -> Self {
                $( returns::<$request, _, _>(&$handler); )*
                self $(.custom_method(<$request as Request>::METHOD, $handler))*
            }
        }
    };
}

/// Compiles only when `handler` answers with `R::Result`.
fn returns<R, F, Fut>(_handler: &F)
where
    R: Request,
    F: Fn(&'static Backend, Value) -> Fut,
    Fut: std::future::Future<Output = tower_lsp_server::jsonrpc::Result<R::Result>>,
{
}

routes! {
    protocol::SessionCreate => Backend::create,
    protocol::SessionResume => Backend::resume,
    protocol::SessionMessages => Backend::messages,
    protocol::SessionList => Backend::list,
    protocol::SessionRename => Backend::rename,
    protocol::SessionFork => Backend::fork,
    protocol::SessionUpdate => Backend::update,
    protocol::SessionDelete => Backend::delete,
    protocol::SessionClean => Backend::clean,
    protocol::SessionExport => Backend::export,
    protocol::SessionImport => Backend::import,
    protocol::SessionUncompact => Backend::uncompact,
    protocol::SessionPin => Backend::pin,
    protocol::SessionSubscribe => Backend::subscribe,
    protocol::SessionUnsubscribe => Backend::unsubscribe,
    protocol::SessionCompact => Backend::compact,
    protocol::Chat => Backend::chat,
    protocol::ProvidersList => Backend::providers,
    protocol::SkillsList => Backend::skills,
    protocol::Status => Backend::status,
    protocol::Backup => Backend::backup,
}

/// The server state shared by every request.
#[derive(Debug)]
pub struct Backend {
    pub(crate) client: Client,
    pub(crate) options: ServeOptions,
    pub(crate) workspace: Arc<Workspace>,
    pub(crate) listings: Arc<crate::listing::Listings>,
    pub(crate) lifecycle: Arc<crate::listing::Lifecycle>,
    pub(crate) live: Arc<crate::live::Live>,
}

impl Backend {
    /// The service with every protocol method routed, and the socket that
    /// carries the server's notifications out.
    pub fn service(
        options: ServeOptions,
        workspace: Arc<Workspace>,
        live: Arc<crate::live::Live>,
    ) -> (LspService<Backend>, ClientSocket) {
        LspService::build(|client| Backend {
            client,
            options,
            workspace,
            listings: Default::default(),
            lifecycle: Default::default(),
            live,
        })
        .routes()
        .finish()
    }

    /// What the transport needs to answer `atmos/session/list` itself.
    pub fn lister(&self) -> crate::listing::Lister {
        crate::listing::Lister::new(
            self.workspace.clone(),
            self.listings.clone(),
            self.lifecycle.clone(),
        )
    }

    /// Where to look for the config, from `initialize`'s params.
    fn load_options(&self, params: &InitializeParams) -> LoadOptions {
        let root = project_root(params);
        let start_dir = root
            .clone()
            .unwrap_or_else(|| self.options.working_dir.clone());
        let config_path = params
            .initialization_options
            .as_ref()
            .and_then(|o| o.get("configPath"))
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map(|p| start_dir.join(p));
        LoadOptions {
            explicit: config_path.or_else(|| self.options.config.clone()),
            env_path: self.options.env_config.clone(),
            start_dir,
        }
    }
}

/// The project root the client names: `rootUri`, else the first workspace
/// folder, else `rootPath` (`file://` URIs decoded).
#[allow(deprecated)] // rootUri and rootPath are what older clients send.
pub fn project_root(params: &InitializeParams) -> Option<PathBuf> {
    if let Some(p) = params.root_uri.as_ref().and_then(file_path) {
        return Some(p);
    }
    if let Some(p) = params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .and_then(|f| file_path(&f.uri))
    {
        return Some(p);
    }
    params
        .root_path
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

fn file_path(uri: &Uri) -> Option<PathBuf> {
    if !uri.scheme().as_str().eq_ignore_ascii_case("file") {
        tracing::warn!("ignoring the non-file root {}", uri.as_str());
        return None;
    }
    uri.to_file_path().map(|p| p.into_owned())
}

/// `capabilities.experimental.atmos`.
pub fn atmos_capability() -> Value {
    json!({
        "protocolVersion": protocol::PROTOCOL_VERSION,
        "methods": ROUTED,
        "notifications": protocol::NOTIFICATIONS,
    })
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let load = self.load_options(&params);
        let client = params
            .client_info
            .as_ref()
            .map(|c| c.name.as_str())
            .or_else(|| {
                params
                    .initialization_options
                    .as_ref()
                    .and_then(|o| o.get("clientName"))
                    .and_then(Value::as_str)
            });
        tracing::info!(client = client.unwrap_or("unknown"), start = %load.start_dir.display(), "initialize");
        self.workspace.set_load_options(load).await;
        self.lifecycle.initialized();
        // Other processes' changes are announced from now on (once the
        // engine is open).
        self.live.start(self.client.clone(), self.workspace.clone());
        // A bad config must not fail `initialize`: log it here, and answer
        // 1010 on each request that needs the config until it is fixed.
        match self.workspace.project().await {
            Ok(project) => log_project(
                &project.root,
                project.config_path.as_deref(),
                &project.warnings,
            ),
            Err(e) => tracing::warn!("{}", e.message),
        }
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                experimental: Some(json!({ "atmos": atmos_capability() })),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: protocol::SERVER_NAME.to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
            offset_encoding: None,
        })
    }

    async fn shutdown(&self) -> Result<()> {
        tracing::info!("shutdown");
        self.lifecycle.shut_down();
        Ok(())
    }
}

fn log_project(root: &Path, config: Option<&Path>, warnings: &[String]) {
    match config {
        Some(path) => {
            tracing::info!(root = %root.display(), config = %path.display(), "project");
            for key in warnings {
                let hint = atmos_ai::config::did_you_mean(key)
                    .map(|k| format!("; did you mean {k}?"))
                    .unwrap_or_default();
                tracing::warn!("unknown key {key} in {} (ignored){hint}", path.display());
            }
        }
        None => {
            tracing::info!(root = %root.display(), "project without atmos.yaml (defaults only)")
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_declared_method_is_routed() {
        assert_eq!(super::ROUTED, atmos_protocol::METHODS);
    }
}

//! `atmos ai serve`: the editor protocol (JSON-RPC over LSP framing on
//! stdio). All of it lives in the `atmos-rpc` crate; this starts a runtime
//! and hands it stdin and stdout.

use crate::args::ServeArgs;
use crate::output::{Failure, Outcome};
use std::path::PathBuf;

pub fn run(config: Option<PathBuf>, _args: ServeArgs) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Message(format!("cannot start the server's runtime: {e}")))?;
    let result = runtime.block_on(atmos_rpc::serve_stdio(atmos_rpc::ServeOptions::from_env(
        config,
    )));
    // The database is closed by now; nothing left on the runtime is worth waiting for.
    runtime.shutdown_background();
    result.map_err(|e| Failure::Message(format!("the server stopped: {e}")))
}

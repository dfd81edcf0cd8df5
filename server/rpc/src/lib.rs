//! `atmos ai serve`: the editor protocol (JSON-RPC 2.0 over LSP framing) for
//! VS Code, Neovim and scripts. The contract is `PROTOCOL.md`; the project's
//! `docs/protocol.md` documents it with examples captured from this server.
//!
//! This is the only crate that knows JSON-RPC. It is thin: each request is
//! converted in (`proto`), handed to the core (`atmos_ai`) on the store
//! thread (`workspace`), and converted out; core errors become protocol
//! errors in one place (`errors`).
//!
//! - `server`: the tower-lsp-server backend, `initialize` and the method table;
//! - `handlers`: one three-step handler per request;
//! - `turns`: chat turns and compactions around the provider call (deltas,
//!   compaction status, cancellation);
//! - `proto`: method names, wire types and conversions;
//! - `errors`: core errors → JSON-RPC errors;
//! - `workspace`: the project and its store on a dedicated thread;
//! - `transport`: LSP framing on the byte streams (robust to malformed input).
//!
//! Logs go through `tracing` (the binary sends them to stderr); stdout
//! carries protocol bytes only.

mod errors;
mod handlers;
mod listing;
mod live;
pub mod proto;
mod server;
mod transport;
mod turns;
mod workspace;

pub use server::ServeOptions;
pub use transport::MAX_BODY_BYTES;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

/// Serves the protocol on this process's stdin and stdout until `exit` or
/// EOF, then closes the session database. Call it inside a tokio runtime.
pub async fn serve_stdio(options: ServeOptions) -> std::io::Result<()> {
    // SIGTERM (a client or a supervisor stopping the server) is a cancel of
    // every turn under way: what arrived is stored, marked interrupted, and
    // the server then exits as on `exit`.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let stop = async move {
        term.recv().await;
        tracing::info!("SIGTERM: cancelling the turns under way; what arrived is kept");
    };
    serve_until(stdin_reader()?, tokio::io::stdout(), options, stop).await;
    Ok(())
}

/// Serves the protocol on any pair of byte streams (stdio, a pipe, a socket,
/// an in-memory duplex in tests) until `exit` or the end of `input`, then
/// closes the session database.
pub async fn serve<R, W>(input: R, output: W, options: ServeOptions)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    serve_until(input, output, options, std::future::pending()).await;
}

/// [`serve`], and stops early when `stop` completes: the requests under way
/// are dropped (which cancels their turns), the turns store what they have,
/// and the database is closed.
async fn serve_until<R, W>(
    input: R,
    output: W,
    options: ServeOptions,
    stop: impl std::future::Future<Output = ()>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let workspace = Arc::new(workspace::Workspace::default());
    let live = Arc::new(live::Live::default());
    let (service, socket) = server::Backend::service(options, workspace.clone(), live.clone());
    tokio::select! {
        _ = transport::run(input, output, service, socket) => {}
        _ = stop => {}
    }
    live.stop().await;
    workspace.close().await;
    tracing::info!("stopped");
}

/// Stdin read on a plain thread of its own: tokio's `stdin()` reads on the
/// runtime's blocking pool, and a read that never returns (the client keeps
/// stdin open after `exit`) would keep the runtime from shutting down.
fn stdin_reader() -> std::io::Result<ChannelReader> {
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    std::thread::Builder::new()
        .name("atmos-stdin".into())
        .spawn(move || {
            use std::io::Read;
            let mut stdin = std::io::stdin().lock();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.blocking_send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::error!("reading stdin failed: {e}");
                        break;
                    }
                }
            }
        })?;
    Ok(ChannelReader {
        rx,
        pending: Vec::new(),
        at: 0,
    })
}

/// An `AsyncRead` over chunks arriving on a channel (EOF when it closes).
struct ChannelReader {
    rx: mpsc::Receiver<Vec<u8>>,
    pending: Vec<u8>,
    at: usize,
}

impl AsyncRead for ChannelReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.at == self.pending.len() {
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(chunk)) => {
                    self.pending = chunk;
                    self.at = 0;
                }
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = buf.remaining().min(self.pending.len() - self.at);
        let at = self.at;
        buf.put_slice(&self.pending[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

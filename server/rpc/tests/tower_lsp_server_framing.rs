//! What tower-lsp-server's own `Server` loop does with malformed input: the
//! reason atmos-rpc does its own framing (`src/transport.rs`). Its reader is
//! tokio-util's `FramedRead`, which ends the stream after a decoding error:
//! one bad frame is answered -32700, then the server stops reading, and the
//! request that follows is never answered. If a later version keeps serving,
//! this test fails and the custom transport can be reconsidered.

use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{InitializeParams, InitializeResult};
use tower_lsp_server::{LanguageServer, LspService, Server};

struct Minimal;

impl LanguageServer for Minimal {
    async fn initialize(&self, _: InitializeParams) -> Result<InitializeResult> {
        Ok(InitializeResult::default())
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }
}

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Every JSON body in `bytes` (LSP frames, back to back).
fn bodies(bytes: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(bytes);
    text.split("Content-Length: ")
        .filter(|part| !part.is_empty())
        .map(|part| serde_json::from_str(part.split_once("\r\n\r\n").unwrap().1).unwrap())
        .collect()
}

#[tokio::test]
async fn its_server_stops_after_one_malformed_frame() {
    for bad in [
        &b"Content-Length: 9\r\n\r\n{not json"[..],
        b"Content-Length: x\r\n\r\n",
        b"Content-Length: 2\r\n\r\n\xff\xfe",
    ] {
        let (service, socket) = LspService::new(|_| Minimal);
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let (server_in, server_out) = tokio::io::split(theirs);
        let server = tokio::spawn(Server::new(server_in, server_out, socket).serve(service));
        let (mut from_server, mut to_server) = tokio::io::split(ours);

        to_server.write_all(bad).await.unwrap();
        to_server
            .write_all(&frame(
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#,
            ))
            .await
            .unwrap();
        // It stops by itself although its input is still open.
        tokio::time::timeout(Duration::from_secs(20), server)
            .await
            .expect("tower-lsp-server's Server stopped after the bad frame")
            .unwrap();
        let mut written = Vec::new();
        from_server.read_to_end(&mut written).await.unwrap();
        let answers = bodies(&written);
        assert_eq!(answers.len(), 1, "{answers:?}");
        assert_eq!(answers[0]["error"]["code"], -32700, "{answers:?}");
        drop(to_server);
    }
}

//! `atmos_rpc::serve` in process, over an in-memory duplex: the life cycle,
//! a change and its notification, malformed frames, and EOF. The real binary
//! over stdio is tested end to end in the workspace's `tests/e2e/rpc_*.rs`.

use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{
    AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf,
};

struct Client {
    write: WriteHalf<DuplexStream>,
    read: BufReader<ReadHalf<DuplexStream>>,
}

impl Client {
    async fn send_raw(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.unwrap();
    }

    async fn send(&mut self, message: Value) {
        let body = message.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
            .await;
    }

    /// The next message, or `None` at EOF; fails the test after 20 s.
    async fn next(&mut self) -> Option<Value> {
        tokio::time::timeout(Duration::from_secs(20), async {
            let mut length = None;
            loop {
                let mut line = String::new();
                if self.read.read_line(&mut line).await.unwrap() == 0 {
                    return None;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                length = line
                    .strip_prefix("Content-Length: ")
                    .map(|n| n.parse::<usize>().unwrap());
            }
            let mut body = vec![0; length.expect("Content-Length")];
            self.read.read_exact(&mut body).await.unwrap();
            Some(serde_json::from_slice(&body).unwrap())
        })
        .await
        .expect("the server answered within 20 s")
    }

    async fn request(&mut self, id: i64, method: &str, params: Value) -> (Value, Vec<Value>) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let mut notes = Vec::new();
        loop {
            let m = self.next().await.expect("a response");
            if m.get("id") == Some(&json!(id)) && m.get("method").is_none() {
                return (m, notes);
            }
            notes.push(m);
        }
    }
}

fn start(root: &std::path::Path) -> (Client, tokio::task::JoinHandle<()>) {
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(theirs);
    let options = atmos_rpc::ServeOptions {
        working_dir: root.to_path_buf(),
        ..Default::default()
    };
    let server = tokio::spawn(atmos_rpc::serve(server_read, server_write, options));
    let (read, write) = tokio::io::split(ours);
    (
        Client {
            write,
            read: BufReader::new(read),
        },
        server,
    )
}

#[tokio::test]
async fn life_cycle_changes_and_malformed_frames() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("atmos.yaml"),
        "ai:\n  sessions:\n    enabled: true\n",
    )
    .unwrap();
    let (mut c, server) = start(dir.path());

    let (early, _) = c.request(1, "atmos/status", json!({})).await;
    assert_eq!(early["error"]["code"], -32002, "{early}");

    let (init, _) = c
        .request(2, "initialize", json!({"capabilities": {}}))
        .await;
    assert_eq!(init["result"]["serverInfo"]["name"], "atmos-ai");
    let atmos = &init["result"]["capabilities"]["experimental"]["atmos"];
    assert_eq!(atmos["protocolVersion"], 1);
    assert!(
        atmos["methods"]
            .as_array()
            .unwrap()
            .contains(&json!("atmos/session/create"))
    );
    c.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        .await;

    let (created, notes) = c
        .request(3, "atmos/session/create", json!({"name": "vpc"}))
        .await;
    let session = &created["result"]["session"];
    assert_eq!(session["name"], "vpc");
    assert_eq!(
        notes,
        vec![json!({"jsonrpc": "2.0", "method": "atmos/sessions/changed",
                    "params": {"reason": "created", "sessionId": session["id"], "name": "vpc"}})]
    );

    // Malformed frames are answered (id null) and the server goes on.
    c.send_raw(b"Content-Length: 9\r\n\r\n{not json").await;
    assert_eq!(c.next().await.unwrap()["error"]["code"], -32700);
    c.send_raw(b"Content-Length: x\r\n\r\n").await;
    assert_eq!(c.next().await.unwrap()["error"]["code"], -32700);
    let over = atmos_rpc::MAX_BODY_BYTES + 1;
    c.send_raw(format!("Content-Length: {over}\r\n\r\n").as_bytes())
        .await;
    let chunk = vec![b' '; 1 << 20];
    let mut left = over;
    while left > 0 {
        let n = left.min(chunk.len());
        c.send_raw(&chunk[..n]).await;
        left -= n;
    }
    let skipped = c.next().await.unwrap();
    assert_eq!(
        (skipped["error"]["code"].clone(), skipped["id"].clone()),
        (json!(-32600), Value::Null)
    );

    let (list, _) = c.request(4, "atmos/session/list", Value::Null).await;
    assert_eq!(list["result"]["total"], 1, "{list}");

    // EOF ends the server cleanly.
    c.write.shutdown().await.unwrap();
    assert_eq!(c.next().await, None);
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server stopped")
        .unwrap();
}

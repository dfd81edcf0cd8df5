//! Every provider kind against the fake provider over real HTTP on 127.0.0.1: streaming and
//! whole replies, the exact request each sends, usage, and every fault mode.

use std::net::TcpListener;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use atmos_providers::{
    ChatMessage, ChatRequest, Completion, ProviderError, ProviderKind, ProviderSettings, Role,
    StreamEvent, Usage, build,
};
use atmos_tests::fake_provider::{FakeProvider, Fault, RecordedRequest, Reply};
use serde_json::{Value, json};

static COUNTER: AtomicUsize = AtomicUsize::new(0);
static AWS_ENV: Once = Once::new();

const AWS_KEY_ID: &str = "AKIDATMOSTEST";

/// Sets the process-wide AWS variables once (same values for every test, so no races on
/// values) and clears any Bedrock API key so SigV4 is used.
fn aws_env() {
    AWS_ENV.call_once(|| unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", AWS_KEY_ID);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "atmos-test-secret");
        std::env::remove_var("AWS_SESSION_TOKEN");
        std::env::remove_var("AWS_BEARER_TOKEN_BEDROCK");
        std::env::set_var("AWS_REGION", "us-west-2");
    });
}

/// Settings pointing `kind` at the fake, with a key in a variable no other test uses.
/// Returns the settings and the key value.
fn settings(kind: ProviderKind, base: &str) -> (ProviderSettings, String) {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let mut s = ProviderSettings::new(format!("test-{kind}"), kind);
    s.model = "m-test".into();
    s.idle_timeout = Duration::from_secs(10);
    s.connect_timeout = Duration::from_secs(2);
    let key = format!("key-{kind}-{n}");
    match kind {
        ProviderKind::Ollama => {}
        ProviderKind::Bedrock => aws_env(),
        _ => {
            let var = format!("ATMOS_TEST_KEY_{}_{n}", kind.as_str().to_uppercase());
            unsafe { std::env::set_var(&var, &key) };
            s.api_key_env = Some(var);
        }
    }
    s.base_url = Some(match kind {
        ProviderKind::OpenAi | ProviderKind::Grok | ProviderKind::GitHub => format!("{base}/v1"),
        _ => base.to_string(),
    });
    if kind == ProviderKind::AzureOpenAi {
        s.deployment = Some("dep".into());
    }
    (s, key)
}

fn request(stream: bool) -> ChatRequest {
    ChatRequest {
        model: "m-test".into(),
        system: Some("be brief".into()),
        messages: vec![
            ChatMessage::new(Role::User, "hi"),
            ChatMessage::new(Role::Assistant, "hello"),
            ChatMessage::new(Role::User, "how are you"),
        ],
        max_tokens: Some(100),
        stream,
    }
}

/// Runs one chat; returns the result and every event the sink received.
async fn chat(
    s: &ProviderSettings,
    req: &ChatRequest,
) -> (Result<Completion, ProviderError>, Vec<StreamEvent>) {
    let provider = build(s).expect("provider builds");
    let mut events = Vec::new();
    let mut sink = |e: StreamEvent| events.push(e);
    let result = provider.chat(req, &mut sink).await;
    (result, events)
}

fn deltas(events: &[StreamEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| {
            if let StreamEvent::Delta(d) = e {
                Some(d.clone())
            } else {
                None
            }
        })
        .collect()
}

/// The path the request of `kind` must go to.
fn expected_path(kind: ProviderKind, stream: bool) -> &'static str {
    match (kind, stream) {
        (ProviderKind::OpenAi | ProviderKind::Grok | ProviderKind::GitHub, _) => {
            "/v1/chat/completions"
        }
        (ProviderKind::AzureOpenAi, _) => {
            "/openai/deployments/dep/chat/completions?api-version=2024-10-21"
        }
        (ProviderKind::Anthropic, _) => "/v1/messages",
        (ProviderKind::Ollama, _) => "/api/chat",
        (ProviderKind::Gemini, true) => "/v1beta/models/m-test:streamGenerateContent?alt=sse",
        (ProviderKind::Gemini, false) => "/v1beta/models/m-test:generateContent",
        (ProviderKind::Bedrock, true) => "/model/m-test/converse-stream",
        (ProviderKind::Bedrock, false) => "/model/m-test/converse",
    }
}

/// The exact body `kind` must send for [`request`].
fn expected_body(kind: ProviderKind, stream: bool) -> Value {
    let chat_messages = json!([
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "how are you"}
    ]);
    match kind {
        ProviderKind::OpenAi
        | ProviderKind::Grok
        | ProviderKind::GitHub
        | ProviderKind::AzureOpenAi => {
            // OpenAI's own service is not the base here, so the compatible field name is used;
            // Azure always uses the current one.
            let field = if kind == ProviderKind::AzureOpenAi {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            let mut b = json!({"model": "m-test", "messages": chat_messages, "stream": stream});
            b[field] = json!(100);
            if stream {
                b["stream_options"] = json!({"include_usage": true});
            }
            b
        }
        ProviderKind::Anthropic => json!({
            "model": "m-test",
            "max_tokens": 100,
            "system": "be brief",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "how are you"}
            ],
            "stream": stream
        }),
        ProviderKind::Ollama => json!({
            "model": "m-test", "messages": chat_messages, "stream": stream, "options": {"num_predict": 100}
        }),
        ProviderKind::Gemini => json!({
            "systemInstruction": {"parts": [{"text": "be brief"}]},
            "contents": [
                {"role": "user", "parts": [{"text": "hi"}]},
                {"role": "model", "parts": [{"text": "hello"}]},
                {"role": "user", "parts": [{"text": "how are you"}]}
            ],
            "generationConfig": {"maxOutputTokens": 100}
        }),
        ProviderKind::Bedrock => json!({
            "system": [{"text": "be brief"}],
            "messages": [
                {"role": "user", "content": [{"text": "hi"}]},
                {"role": "assistant", "content": [{"text": "hello"}]},
                {"role": "user", "content": [{"text": "how are you"}]}
            ],
            "inferenceConfig": {"maxTokens": 100}
        }),
    }
}

/// The credential arrived in the kind's own header with the right value.
fn assert_auth(kind: ProviderKind, r: &RecordedRequest, key: &str) {
    match kind {
        ProviderKind::OpenAi | ProviderKind::Grok | ProviderKind::GitHub => {
            assert_eq!(
                r.header("authorization"),
                Some(format!("Bearer {key}").as_str())
            )
        }
        ProviderKind::AzureOpenAi => {
            assert_eq!(r.header("api-key"), Some(key));
            assert_eq!(r.header("authorization"), None);
        }
        ProviderKind::Anthropic => {
            assert_eq!(r.header("x-api-key"), Some(key));
            assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
        }
        ProviderKind::Gemini => assert_eq!(r.header("x-goog-api-key"), Some(key)),
        ProviderKind::Ollama => assert_eq!(r.header("authorization"), None),
        ProviderKind::Bedrock => {
            let auth = r.header("authorization").expect("signed");
            assert!(
                auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/")),
                "{auth}"
            );
            assert!(auth.contains("/us-west-2/bedrock/aws4_request"), "{auth}");
            assert!(r.header("x-amz-date").is_some());
        }
    }
    assert_eq!(r.header("content-type"), Some("application/json"));
}

async fn streams_text_and_usage(kind: ProviderKind) {
    let fake = FakeProvider::start();
    fake.push_reply(Reply::new(&["Hel", "lo", " there"], 12, 3));
    let (s, key) = settings(kind, &fake.base_url());
    let (result, events) = chat(&s, &request(true)).await;
    let done = result.expect("reply");
    assert_eq!(deltas(&events), ["Hel", "lo", " there"]);
    assert_eq!(done.text, "Hello there");
    let usage = Usage {
        input_tokens: 12,
        output_tokens: 3,
    };
    assert_eq!(done.usage, Some(usage));
    assert_eq!(events.last(), Some(&StreamEvent::Usage(usage)));
    assert!(done.stop_reason.is_some());
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, expected_path(kind, true));
    assert_eq!(reqs[0].body, expected_body(kind, true));
    assert_auth(kind, &reqs[0], &key);
}

async fn whole_reply(kind: ProviderKind) {
    let fake = FakeProvider::start();
    fake.push_reply(Reply::new(&["Whole ", "answer"], 7, 2));
    let (s, key) = settings(kind, &fake.base_url());
    let (result, events) = chat(&s, &request(false)).await;
    let done = result.expect("reply");
    assert_eq!(done.text, "Whole answer");
    assert_eq!(deltas(&events), ["Whole answer"]);
    assert_eq!(
        done.usage,
        Some(Usage {
            input_tokens: 7,
            output_tokens: 2
        })
    );
    let reqs = fake.requests();
    assert_eq!(reqs[0].path, expected_path(kind, false));
    assert_eq!(reqs[0].body, expected_body(kind, false));
    assert_auth(kind, &reqs[0], &key);
}

async fn no_usage_and_default_echo(kind: ProviderKind) {
    let fake = FakeProvider::start();
    fake.push_reply(Reply::without_usage(&["a", "b"]));
    let (s, _) = settings(kind, &fake.base_url());
    let (result, events) = chat(&s, &request(true)).await;
    let done = result.expect("reply");
    assert_eq!(done.text, "ab");
    assert_eq!(done.usage, None);
    assert!(!events.iter().any(|e| matches!(e, StreamEvent::Usage(_))));
    // Nothing scripted: the fake echoes the last user message.
    let (result, _) = chat(&s, &request(true)).await;
    assert_eq!(result.expect("echo").text, "echo: how are you");
}

async fn retries_500_then_succeeds(kind: ProviderKind) {
    let fake = FakeProvider::start();
    fake.push_fault(Fault::Status500);
    fake.push_reply(Reply::new(&["ok"], 1, 1));
    let (s, _) = settings(kind, &fake.base_url());
    let (result, events) = chat(&s, &request(true)).await;
    assert_eq!(result.expect("retried").text, "ok");
    assert_eq!(deltas(&events), ["ok"]);
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(fake.requests()[0].body, fake.requests()[1].body);
}

async fn gives_up_after_max_retries(kind: ProviderKind) {
    let fake = FakeProvider::start();
    for _ in 0..3 {
        fake.push_fault(Fault::Status500);
    }
    let (mut s, _) = settings(kind, &fake.base_url());
    s.max_retries = 1;
    let (result, events) = chat(&s, &request(true)).await;
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::Http {
                status: 500,
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("fake internal error"), "{err}");
    assert!(events.is_empty());
    assert_eq!(fake.requests().len(), 2);
}

async fn honours_429_retry_after(kind: ProviderKind) {
    let fake = FakeProvider::start();
    fake.push_fault(Fault::Status429 {
        retry_after_secs: 1,
    });
    fake.push_reply(Reply::new(&["later"], 1, 1));
    let (s, _) = settings(kind, &fake.base_url());
    let (result, _) = chat(&s, &request(true)).await;
    assert_eq!(result.expect("retried after 429").text, "later");
    assert_eq!(fake.requests().len(), 2);

    // With no retries left, the error carries the provider's Retry-After.
    fake.push_fault(Fault::Status429 {
        retry_after_secs: 7,
    });
    let mut once = s.clone();
    once.max_retries = 0;
    let (result, _) = chat(&once, &request(true)).await;
    let err = result.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert!(err.retryable());
    assert_eq!(err.retry_after_ms(), Some(7000));
}

async fn unauthorized_401(kind: ProviderKind) {
    let fake = FakeProvider::start();
    fake.push_fault(Fault::Status401);
    let (s, key) = settings(kind, &fake.base_url());
    let (result, _) = chat(&s, &request(true)).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, ProviderError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.retryable());
    let msg = err.to_string();
    assert!(!msg.contains(&key), "{msg}");
    if let Some(var) = &s.api_key_env {
        assert!(msg.contains(&format!("${var}")), "{msg}");
    }
    assert_eq!(fake.requests().len(), 1);
}

async fn cut_mid_stream(kind: ProviderKind) {
    let fake = FakeProvider::start();
    fake.push_fault(Fault::CutMidStream { after_deltas: 2 });
    fake.push_reply(Reply::new(&["one ", "two ", "three ", "four"], 1, 4));
    let (s, _) = settings(kind, &fake.base_url());
    let (result, events) = chat(&s, &request(true)).await;
    let err = result.unwrap_err();
    assert!(matches!(err, ProviderError::Stream { .. }), "{err:?}");
    assert_eq!(deltas(&events), ["one ", "two "]);
    assert_eq!(fake.requests().len(), 1, "never retried after a delta");
}

async fn invalid_json_chunk(kind: ProviderKind) {
    let fake = FakeProvider::start();
    fake.push_fault(Fault::InvalidJsonChunk { after_deltas: 1 });
    fake.push_reply(Reply::new(&["fine", " then"], 1, 2));
    let (s, _) = settings(kind, &fake.base_url());
    let (result, events) = chat(&s, &request(true)).await;
    let err = result.unwrap_err();
    match &err {
        ProviderError::Stream { reason, .. } => {
            assert!(reason.contains("not valid JSON"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(deltas(&events), ["fine"]);
    assert_eq!(fake.requests().len(), 1);
}

async fn slow_first_byte_times_out(kind: ProviderKind) {
    let fake = FakeProvider::start();
    fake.push_fault(Fault::SlowFirstByte { ms: 2000 });
    let (mut s, _) = settings(kind, &fake.base_url());
    s.idle_timeout = Duration::from_millis(200);
    let (result, events) = chat(&s, &request(true)).await;
    let err = result.unwrap_err();
    assert!(matches!(err, ProviderError::Timeout { .. }), "{err:?}");
    assert!(events.is_empty());
    assert_eq!(fake.requests().len(), 1);
}

async fn missing_key_names_the_variable(kind: ProviderKind) {
    let mut s = ProviderSettings::new(format!("test-{kind}"), kind);
    s.base_url = Some("http://127.0.0.1:9".into());
    let var = format!(
        "ATMOS_TEST_UNSET_KEY_{}",
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    s.api_key_env = Some(var.clone());
    match build(&s) {
        Ok(_) => assert_eq!(kind, ProviderKind::Ollama, "only ollama needs no key"),
        Err(err) => {
            assert_eq!(
                err,
                ProviderError::MissingKey {
                    provider: s.name.clone(),
                    variable: var.clone()
                }
            );
            assert!(err.to_string().contains(&var));
            assert_eq!(
                atmos_providers::credentials_present(kind, Some(&var)),
                Err(var)
            );
        }
    }
}

async fn unreachable_names_the_url(kind: ProviderKind) {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let (mut s, _) = settings(kind, &base);
    s.max_retries = 1;
    let (result, _) = chat(&s, &request(true)).await;
    match result.unwrap_err() {
        ProviderError::Unreachable { url, .. } => {
            assert!(url.starts_with(&base), "{url}");
            assert!(url.ends_with(expected_path(kind, true)), "{url}");
        }
        other => panic!("{other:?}"),
    }
}

macro_rules! provider_tests {
    ($($module:ident => $kind:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[tokio::test] async fn streams_text_and_usage() { super::streams_text_and_usage($kind).await }
            #[tokio::test] async fn whole_reply() { super::whole_reply($kind).await }
            #[tokio::test] async fn no_usage_and_default_echo() { super::no_usage_and_default_echo($kind).await }
            #[tokio::test] async fn retries_500_then_succeeds() { super::retries_500_then_succeeds($kind).await }
            #[tokio::test] async fn gives_up_after_max_retries() { super::gives_up_after_max_retries($kind).await }
            #[tokio::test] async fn honours_429_retry_after() { super::honours_429_retry_after($kind).await }
            #[tokio::test] async fn unauthorized_401() { super::unauthorized_401($kind).await }
            #[tokio::test] async fn cut_mid_stream() { super::cut_mid_stream($kind).await }
            #[tokio::test] async fn invalid_json_chunk() { super::invalid_json_chunk($kind).await }
            #[tokio::test] async fn slow_first_byte_times_out() { super::slow_first_byte_times_out($kind).await }
            #[tokio::test] async fn missing_key_names_the_variable() { super::missing_key_names_the_variable($kind).await }
            #[tokio::test] async fn unreachable_names_the_url() { super::unreachable_names_the_url($kind).await }
        }
    )*};
}

provider_tests! {
    openai => ProviderKind::OpenAi,
    anthropic => ProviderKind::Anthropic,
    ollama => ProviderKind::Ollama,
    gemini => ProviderKind::Gemini,
    azureopenai => ProviderKind::AzureOpenAi,
    grok => ProviderKind::Grok,
    github => ProviderKind::GitHub,
    bedrock => ProviderKind::Bedrock,
}

#[tokio::test]
async fn non_streaming_cut_is_a_stream_error() {
    let fake = FakeProvider::start();
    fake.push_fault(Fault::CutMidStream { after_deltas: 0 });
    let (s, _) = settings(ProviderKind::OpenAi, &fake.base_url());
    let (result, events) = chat(&s, &request(false)).await;
    assert!(
        matches!(result, Err(ProviderError::Stream { .. })),
        "{result:?}"
    );
    assert!(events.is_empty());
}

#[tokio::test]
async fn system_role_messages_reach_anthropic_in_the_system_field() {
    let fake = FakeProvider::start();
    let (s, _) = settings(ProviderKind::Anthropic, &fake.base_url());
    let mut req = request(true);
    req.messages.insert(
        0,
        ChatMessage::new(Role::System, "summary of earlier turns"),
    );
    chat(&s, &req).await.0.expect("reply");
    let body = &fake.requests()[0].body;
    assert_eq!(body["system"], "be brief\n\nsummary of earlier turns");
    assert_eq!(body["messages"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn bedrock_api_key_is_sent_as_bearer() {
    let fake = FakeProvider::start();
    let (mut s, _) = settings(ProviderKind::Bedrock, &fake.base_url());
    let var = format!(
        "ATMOS_TEST_BEDROCK_TOKEN_{}",
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    unsafe { std::env::set_var(&var, "bedrock-token") };
    s.api_key_env = Some(var);
    s.model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0".into();
    let mut req = request(true);
    req.model = s.model.clone();
    chat(&s, &req).await.0.expect("reply");
    let r = &fake.requests()[0];
    assert_eq!(r.header("authorization"), Some("Bearer bedrock-token"));
    assert_eq!(
        r.path,
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    );
}

#[tokio::test]
async fn azure_without_base_url_says_which_setting() {
    let mut s = ProviderSettings::new("azure", ProviderKind::AzureOpenAi);
    s.api_key_env = Some("PATH".into());
    let err = build(&s).err().expect("refused");
    assert!(matches!(err, ProviderError::Config { .. }));
    assert!(
        err.to_string().contains("ai.providers.azure.base_url"),
        "{err}"
    );
}

#[tokio::test]
async fn dropping_the_future_cancels_the_request() {
    let fake = FakeProvider::start_with_delay(Duration::from_millis(300));
    fake.push_reply(Reply::new(&["a", "b", "c", "d", "e", "f"], 1, 6));
    let (s, _) = settings(ProviderKind::OpenAi, &fake.base_url());
    let provider = build(&s).unwrap();
    let req = request(true);
    let mut got = Vec::new();
    let mut sink = |e: StreamEvent| got.push(e);
    let fut = provider.chat(&req, &mut sink);
    // Not finished within the window: the future is dropped, which closes the connection.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), fut)
            .await
            .is_err()
    );
    let n = deltas(&got).len();
    assert!(n < 6, "{n}");
}

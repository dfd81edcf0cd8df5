//! Amazon Bedrock Converse: `POST {base}/model/{modelId}/converse-stream` (streaming) or
//! `/converse`, base `https://bedrock-runtime.{region}.amazonaws.com`. Requests are signed with
//! SigV4 (service `bedrock`) using the standard AWS variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) or, failing those, the `AWS_PROFILE` (else
//! `default`) profile of the shared credentials file. A Bedrock API key is used instead, as a
//! bearer token, when `api_key_env` names its variable or `AWS_BEARER_TOKEN_BEDROCK` is set.
//! The body is `{messages, system, inferenceConfig}`; the streaming reply uses the AWS
//! event-stream binary framing, with `contentBlockDelta`, `messageStop` and `metadata` (usage)
//! events and exception frames for errors.

use std::path::PathBuf;
use std::time::SystemTime;

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::Message;
use bytes::BytesMut;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::http::{Acc, Transport, parse_chunk, u64_at};
use crate::registry::{
    BEDROCK_DEFAULT_REGION, ProviderKind, ProviderSettings, defaults, env_nonempty,
};
use crate::{ChatRequest, Completion, ProviderError, Role, StreamEvent, Wire, merged_system};

/// The variable a Bedrock API key is read from when `api_key_env` is not set.
pub const BEDROCK_BEARER_ENV: &str = "AWS_BEARER_TOKEN_BEDROCK";
const MISSING: &str = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile in ~/.aws/credentials, or AWS_BEARER_TOKEN_BEDROCK)";

/// Long-term or session AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

enum Auth {
    Bearer(String),
    SigV4(AwsCredentials),
}

/// A provider speaking the Bedrock Converse API.
pub(crate) struct Bedrock {
    transport: Transport,
    base: String,
    region: String,
    auth: Auth,
    max_tokens: Option<u32>,
}

impl Bedrock {
    pub fn new(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        let missing = |variable: &str| ProviderError::MissingKey {
            provider: settings.name.clone(),
            variable: variable.into(),
        };
        let (auth, credential) = if let Some(var) = &settings.api_key_env {
            let token = env_nonempty(var).ok_or_else(|| missing(var))?;
            (
                Auth::Bearer(token.trim().to_string()),
                format!("the Bedrock API key in ${var}"),
            )
        } else if let Some(token) = env_nonempty(BEDROCK_BEARER_ENV) {
            (
                Auth::Bearer(token.trim().to_string()),
                format!("the Bedrock API key in ${BEDROCK_BEARER_ENV}"),
            )
        } else {
            let (creds, source) = find_credentials().ok_or_else(|| missing(MISSING))?;
            (
                Auth::SigV4(creds),
                format!("the AWS credentials from {source}"),
            )
        };
        let region = settings
            .region
            .clone()
            .or_else(|| env_nonempty("AWS_REGION"))
            .or_else(|| env_nonempty("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| BEDROCK_DEFAULT_REGION.to_string());
        let base = settings
            .base_url
            .clone()
            .unwrap_or_else(|| {
                defaults(ProviderKind::Bedrock)
                    .base_url
                    .replace("{region}", &region)
            })
            .trim_end_matches('/')
            .to_string();
        Ok(Self {
            transport: Transport::new(settings, credential)?,
            base,
            region,
            auth,
            max_tokens: settings.max_tokens,
        })
    }

    fn request(&self, url: &str, body: &[u8]) -> Result<reqwest::RequestBuilder, ProviderError> {
        let t = &self.transport;
        let mut builder = t
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        match &self.auth {
            Auth::Bearer(token) => builder = builder.bearer_auth(token),
            Auth::SigV4(creds) => {
                for (name, value) in sign(creds, &self.region, url, body, SystemTime::now())
                    .map_err(|reason| ProviderError::Config {
                        provider: t.name.clone(),
                        reason,
                    })?
                {
                    builder = builder.header(name, value);
                }
            }
        }
        Ok(builder)
    }
}

impl Wire for Bedrock {
    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Bedrock
    }

    async fn run(
        &self,
        req: &ChatRequest,
        sink: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<Completion, ProviderError> {
        let url = endpoint(&self.base, &req.model, req.stream);
        let body = serde_json::to_vec(&request_body(req, self.max_tokens))
            .expect("a JSON value serialises");
        let t = &self.transport;
        let (resp, started) = t.send(&url, || self.request(&url, &body)).await?;
        let mut acc = Acc::default();
        if !req.stream {
            let v = t.read_json(resp, started).await?;
            for block in v
                .pointer("/output/message/content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(text) = block.get("text").and_then(Value::as_str) {
                    acc.delta(text, sink);
                }
            }
            acc.stop_reason = v
                .get("stopReason")
                .and_then(Value::as_str)
                .map(str::to_string);
            acc.input_tokens = u64_at(&v, "/usage/inputTokens");
            acc.output_tokens = u64_at(&v, "/usage/outputTokens");
            return Ok(acc.finish(sink));
        }
        let mut body = t.body_stream(resp);
        let mut buf = BytesMut::new();
        let mut decoder = MessageFrameDecoder::new();
        let mut stopped = false;
        'read: while let Some(chunk) = body.next().await {
            buf.extend_from_slice(&chunk?);
            loop {
                match decoder.decode_frame(&mut buf) {
                    Ok(DecodedFrame::Incomplete) => break,
                    Ok(DecodedFrame::Complete(msg)) => {
                        on_message(t, &mut acc, &mut stopped, &msg, sink)?;
                        if acc.done {
                            break 'read;
                        }
                    }
                    Err(e) => {
                        return Err(
                            t.stream_err(format!("an event-stream frame is malformed: {e}"))
                        );
                    }
                }
            }
        }
        // `metadata` (usage) follows `messageStop`; a stream that stopped is complete.
        if !acc.done && !stopped {
            return Err(t.stream_err("the stream ended before the reply was complete"));
        }
        Ok(acc.finish(sink))
    }
}

/// The Converse URL for `model`; the id is percent-encoded as one path segment (`:` → `%3A`).
pub(crate) fn endpoint(base: &str, model: &str, stream: bool) -> String {
    let mut id = String::with_capacity(model.len());
    for b in model.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            id.push(b as char);
        } else {
            id.push_str(&format!("%{b:02X}"));
        }
    }
    format!(
        "{base}/model/{id}/{}",
        if stream {
            "converse-stream"
        } else {
            "converse"
        }
    )
}

/// The request body for `req`.
pub(crate) fn request_body(req: &ChatRequest, default_max: Option<u32>) -> Value {
    let messages: Vec<Value> = req
        .messages
        .iter()
        .filter_map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::System => return None,
            };
            Some(json!({"role": role, "content": [{"text": m.content}]}))
        })
        .collect();
    let mut body = json!({"messages": messages});
    if let Some(system) = merged_system(req) {
        body["system"] = json!([{"text": system}]);
    }
    if let Some(max) = req.max_tokens.or(default_max) {
        body["inferenceConfig"] = json!({"maxTokens": max});
    }
    body
}

fn header<'m>(msg: &'m Message, name: &str) -> Option<&'m str> {
    msg.headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

/// One decoded event-stream message.
fn on_message(
    t: &Transport,
    acc: &mut Acc,
    stopped: &mut bool,
    msg: &Message,
    sink: &mut (dyn FnMut(StreamEvent) + Send),
) -> Result<(), ProviderError> {
    let payload = String::from_utf8_lossy(msg.payload());
    match header(msg, ":message-type").unwrap_or("event") {
        "event" => {}
        "exception" => {
            let kind = header(msg, ":exception-type").unwrap_or("exception");
            let text = serde_json::from_str::<Value>(&payload)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            return Err(t.stream_err(format!("the provider sent an error: {kind}: {text}")));
        }
        other => {
            let code = header(msg, ":error-code").unwrap_or(other);
            let text = header(msg, ":error-message").unwrap_or("");
            return Err(t.stream_err(format!("the provider sent an error: {code}: {text}")));
        }
    }
    let event = header(msg, ":event-type").unwrap_or("");
    let v = if payload.trim().is_empty() {
        Value::Null
    } else {
        parse_chunk(t, &payload)?
    };
    match event {
        "contentBlockDelta" => {
            if let Some(text) = v.pointer("/delta/text").and_then(Value::as_str) {
                acc.delta(text, sink);
            }
        }
        "messageStop" => {
            *stopped = true;
            acc.stop_reason = v
                .get("stopReason")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        "metadata" => {
            acc.input_tokens = u64_at(&v, "/usage/inputTokens");
            acc.output_tokens = u64_at(&v, "/usage/outputTokens");
            acc.done = true;
        }
        _ => {} // messageStart, contentBlockStart/Stop
    }
    Ok(())
}

/// SigV4 headers for a POST of `body` to `url`.
pub(crate) fn sign(
    creds: &AwsCredentials,
    region: &str,
    url: &str,
    body: &[u8],
    time: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let identity = aws_credential_types::Credentials::new(
        &creds.access_key_id,
        &creds.secret_access_key,
        creds.session_token.clone(),
        None,
        "atmos",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("bedrock")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("the request could not be signed: {e}"))?
        .into();
    let headers = [("content-type", "application/json")];
    let signable =
        SignableRequest::new("POST", url, headers.into_iter(), SignableBody::Bytes(body))
            .map_err(|e| format!("the request could not be signed: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("the request could not be signed: {e}"))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect())
}

/// Credentials from the environment, else from the shared credentials file; with where they
/// came from (never the values).
fn find_credentials() -> Option<(AwsCredentials, String)> {
    if let (Some(id), Some(secret)) = (
        env_nonempty("AWS_ACCESS_KEY_ID"),
        env_nonempty("AWS_SECRET_ACCESS_KEY"),
    ) {
        let creds = AwsCredentials {
            access_key_id: id.trim().into(),
            secret_access_key: secret.trim().into(),
            session_token: env_nonempty("AWS_SESSION_TOKEN").map(|s| s.trim().to_string()),
        };
        return Some((creds, "$AWS_ACCESS_KEY_ID".into()));
    }
    let path = credentials_file()?;
    let profile = env_nonempty("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let text = std::fs::read_to_string(&path).ok()?;
    let creds = parse_profile(&text, &profile)?;
    Some((creds, format!("profile {profile} in {}", path.display())))
}

fn credentials_file() -> Option<PathBuf> {
    if let Some(p) = env_nonempty("AWS_SHARED_CREDENTIALS_FILE") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    Some(PathBuf::from(home).join(".aws").join("credentials"))
}

/// The keys of `[profile]` in an AWS shared credentials file (INI; `#`/`;` comments).
pub(crate) fn parse_profile(text: &str, profile: &str) -> Option<AwsCredentials> {
    let mut in_section = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim();
            in_section =
                name == profile || name.strip_prefix("profile ").map(str::trim) == Some(profile);
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "aws_access_key_id" => id = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    Some(AwsCredentials {
        access_key_id: id.filter(|s| !s.is_empty())?,
        secret_access_key: secret.filter(|s| !s.is_empty())?,
        session_token: token.filter(|s| !s.is_empty()),
    })
}

/// See [`crate::credentials_present`].
pub(crate) fn credentials_present(api_key_env: Option<&str>) -> Result<(), String> {
    match api_key_env {
        Some(var) if env_nonempty(var).is_some() => Ok(()),
        Some(var) => Err(var.to_string()),
        None if env_nonempty(BEDROCK_BEARER_ENV).is_some() || find_credentials().is_some() => {
            Ok(())
        }
        None => Err(MISSING.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;

    #[test]
    fn body_endpoint_and_encoding() {
        let req = ChatRequest {
            model: "m".into(),
            system: Some("s".into()),
            messages: vec![ChatMessage::new(Role::User, "u")],
            max_tokens: Some(3),
            stream: true,
        };
        assert_eq!(
            request_body(&req, None),
            json!({
                "messages": [{"role": "user", "content": [{"text": "u"}]}],
                "system": [{"text": "s"}],
                "inferenceConfig": {"maxTokens": 3}
            })
        );
        assert_eq!(
            endpoint("B", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", true),
            "B/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
        );
        assert_eq!(endpoint("B", "x", false), "B/model/x/converse");
    }

    #[test]
    fn profiles_are_found_by_name() {
        let text = "# c\n[default]\naws_access_key_id = AK\naws_secret_access_key=SK\n\n[profile work]\naws_access_key_id=W\naws_secret_access_key=WS\naws_session_token = T\n[empty]\n";
        let d = parse_profile(text, "default").unwrap();
        assert_eq!(
            (
                d.access_key_id.as_str(),
                d.secret_access_key.as_str(),
                d.session_token
            ),
            ("AK", "SK", None)
        );
        let w = parse_profile(text, "work").unwrap();
        assert_eq!(w.session_token.as_deref(), Some("T"));
        assert!(parse_profile(text, "empty").is_none());
        assert!(parse_profile(text, "nope").is_none());
    }

    #[test]
    fn signing_produces_authorization_for_bedrock() {
        let creds = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".into(),
            session_token: Some("tok".into()),
        };
        let headers = sign(
            &creds,
            "us-west-2",
            "https://bedrock-runtime.us-west-2.amazonaws.com/model/a%3A0/converse",
            b"{}",
            SystemTime::UNIX_EPOCH,
        )
        .unwrap();
        let auth = &headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .unwrap()
            .1;
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/19700101/us-west-2/bedrock/aws4_request"
            ),
            "{auth}"
        );
        assert!(
            headers
                .iter()
                .any(|(n, v)| n == "x-amz-security-token" && v == "tok")
        );
        assert!(headers.iter().any(|(n, _)| n == "x-amz-date"));
    }
}

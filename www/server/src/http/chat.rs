//! `POST .../agent/chat/` (PROTOCOL.md §2–§3): the request is logged, an injected fault may
//! answer instead, the token is checked, then the agent's events are streamed in the chosen
//! framing while the assistant message is stored as it grows.

use super::{bearer_session, framing_for, origin, AgentPath, FramingQuery};
use crate::agent::{self, CallOutcome, ClientTool};
use crate::config::Framing;
use crate::db::{Session, Thread};
use crate::error::{Error, Result};
use crate::faults::{Fault, RequestRecord};
use crate::stream::{
    content_type, Assistant, CallStatus, Ev, Executor, Message, RequiresAction, Source, ThreadRef,
    ToolCallEv, ToolResultEv,
};
use crate::util::{now_ms, random_id, rfc3339};
use crate::App;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A chat request's body (PROTOCOL.md §2).
#[derive(Deserialize)]
pub struct ChatRequest {
    #[serde(default)]
    integration_id: Option<String>,
    #[serde(default)]
    thread_id: Option<String>,
    #[serde(default)]
    tools: Option<Vec<ClientTool>>,
    #[serde(default)]
    custom_instructions: Option<String>,
    input: Input,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Input {
    UserMessage { content: String },
    ToolResults { results: Vec<ToolResult> },
}

/// One client tool's result.
#[derive(Deserialize)]
struct ToolResult {
    tool_call_id: String,
    #[serde(default)]
    status: Option<CallStatus>,
    #[serde(default)]
    output: Option<Value>,
    #[serde(default)]
    error: Option<String>,
}

/// What the streamer sends, and how the stream ends.
#[derive(Debug)]
enum Step {
    Send(Ev),
    /// Close the connection abruptly.
    Drop,
    /// Send nothing until the client leaves (or `stall_ms`).
    Stall,
    /// End the body cleanly without a terminal event.
    End,
}

type Chunks = tokio::sync::mpsc::Sender<std::result::Result<Bytes, std::io::Error>>;

pub async fn chat(
    State(app): State<Arc<App>>,
    Path(path): Path<AgentPath>,
    Query(query): Query<FramingQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let framing = framing_for(&app, &path, &query, &headers);
    let body: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let fault = app.faults.take();
    app.requests
        .push(record(uri.path(), &headers, framing, fault.as_ref(), &body));
    if let Some(f) = &fault {
        if let Some(ms) = f.delay_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if let Some(answer) = fault_answer(f) {
            return answer;
        }
    }
    let session = bearer_session(&app, &headers, &path.project_id).await?;
    let req: ChatRequest = serde_json::from_value(body)
        .map_err(|e| Error::bad_request(format!("invalid chat request: {e}")))?;
    if req.integration_id.as_deref().is_none_or(str::is_empty) {
        return Err(Error::bad_request("integration_id is required"));
    }
    let thread = resolve_thread(&app, &req, &session, &path.project_id).await?;
    let mut events = vec![Ev::StreamStart(ThreadRef {
        thread_id: thread.id.clone(),
    })];
    let (row, assistant) = match &req.input {
        Input::UserMessage { content } => {
            events.extend(answer_message(&app, &req, &thread, content, &headers).await?);
            (None, Assistant::default())
        }
        Input::ToolResults { results } => {
            let (row, assistant, answer) = apply_results(&app, &thread, results).await?;
            events.extend(answer);
            (Some(row), assistant)
        }
    };
    if !matches!(events.last(), Some(Ev::RequiresAction(_))) {
        events.push(Ev::Done(ThreadRef {
            thread_id: thread.id.clone(),
        }));
    }
    let stall_ms = fault.as_ref().and_then(|f| f.stall_ms).unwrap_or(120_000);
    let steps = apply_stream_fault(events, fault.as_ref());
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(run_stream(
        app.clone(),
        thread.id,
        row,
        assistant,
        steps,
        framing,
        tx,
        stall_ms,
    ));
    Ok(streaming(rx, content_type(framing)))
}

/// The request log's entry (never the `Authorization` header, only whether it was there).
fn record(
    path: &str,
    headers: &HeaderMap,
    framing: Framing,
    fault: Option<&Fault>,
    body: &Value,
) -> RequestRecord {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    RequestRecord {
        at: rfc3339(now_ms()),
        method: "POST",
        path: path.to_string(),
        idempotency_key: h("idempotency-key"),
        content_type: h("content-type"),
        accept: h("accept"),
        has_authorization: headers.contains_key(header::AUTHORIZATION),
        framing: match framing {
            Framing::Sse => "sse",
            Framing::Record => "record",
        },
        fault: fault.map(|f| f.kind.clone()),
        body: body.clone(),
    }
}

/// The response of a fault that answers instead of the agent (an HTTP status, a reset, a
/// scripted body), if `f` is one.
fn fault_answer(f: &Fault) -> Option<Result<Response>> {
    let status = |code: StatusCode, msg: &str| {
        let retry_after = f
            .retry_after
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok());
        Some(Err(
            Error::detail(code, format!("injected fault: {msg}")).with_retry_after(retry_after)
        ))
    };
    match f.kind.as_str() {
        "401" => status(StatusCode::UNAUTHORIZED, "token rejected"),
        "429" => status(StatusCode::TOO_MANY_REQUESTS, "rate limited"),
        "500" => status(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        "502" => status(StatusCode::BAD_GATEWAY, "bad gateway"),
        "503" => status(StatusCode::SERVICE_UNAVAILABLE, "service unavailable"),
        "504" => status(StatusCode::GATEWAY_TIMEOUT, "gateway timeout"),
        "reset" => Some(Ok(reset_response())),
        "script" => Some(Ok(script_response(f))),
        _ => None,
    }
}

/// The request's thread: the one named (it must be the session owner's), or a new one titled
/// after the message.
async fn resolve_thread(
    app: &App,
    req: &ChatRequest,
    session: &Session,
    project_id: &str,
) -> Result<Thread> {
    let now = now_ms();
    if let Some(id) = req.thread_id.clone() {
        let found = app.db.run(move |db| db.thread(&id)).await?;
        return match found {
            Some(t)
                if !t.deleted && t.project_id == project_id && t.owner_id == session.owner_id =>
            {
                Ok(t)
            }
            _ => Err(Error::not_found("thread not found")),
        };
    }
    let title = match &req.input {
        Input::UserMessage { content } => title_of(content),
        Input::ToolResults { .. } => "New conversation".into(),
    };
    let t = Thread {
        id: random_id("thr"),
        project_id: project_id.to_string(),
        owner_id: session.owner_id.clone(),
        title,
        created_at: now,
        updated_at: now,
        deleted: false,
    };
    let stored = t.clone();
    app.db.run(move |db| db.create_thread(&stored)).await?;
    Ok(t)
}

/// The thread's last message when it is the assistant's, with its row id.
async fn last_assistant(app: &App, thread_id: &str) -> Result<Option<(i64, Assistant)>> {
    let id = thread_id.to_string();
    let messages = app.db.run(move |db| db.messages(&id)).await?;
    Ok(match messages.into_iter().last() {
        Some((row, Message::Assistant(a))) => Some((row, a)),
        _ => None,
    })
}

/// A user message: stores it, then either calls the client tools it asks for or searches the
/// knowledge base and answers from it. The events, without `stream_start` and `done`.
async fn answer_message(
    app: &App,
    req: &ChatRequest,
    thread: &Thread,
    text: &str,
    headers: &HeaderMap,
) -> Result<Vec<Ev>> {
    let now = now_ms();
    let last = last_assistant(app, &thread.id).await?;
    let (thread_id, user) = (
        thread.id.clone(),
        Message::User {
            content: text.to_string(),
        },
    );
    app.db
        .run(move |db| {
            // Client calls left unanswered (the user stopped) are cancelled.
            if let Some((row, mut a)) = last {
                let before = a.clone();
                a.settle_open(CallStatus::Stopped, None);
                if a != before {
                    db.update_message(row, &Message::Assistant(a))?;
                }
            }
            db.insert_message(&thread_id, &user, now).map(|_| ())
        })
        .await?;
    let tools = req.tools.as_deref().unwrap_or_default();
    let calls = agent::match_tools(text, tools);
    if !calls.is_empty() {
        let mut events = vec![];
        let mut ids = vec![];
        for c in calls {
            let id = random_id("call");
            ids.push(id.clone());
            events.push(Ev::ToolCall(ToolCallEv {
                id,
                name: c.name,
                arguments: c.arguments,
                executor: Executor::Client,
            }));
        }
        events.push(Ev::RequiresAction(RequiresAction { tool_call_ids: ids }));
        return Ok(events);
    }
    let brief = req.custom_instructions.as_deref().is_some_and(|s| {
        let s = s.to_lowercase();
        ["brief", "short", "concise", "succinct"]
            .iter()
            .any(|w| s.contains(w))
    });
    Ok(search_answer(app, text, &origin(headers, app), brief))
}

/// The built-in `search_knowledge_base` call, its result and the answer quoting the hits.
fn search_answer(app: &App, text: &str, origin: &str, brief: bool) -> Vec<Ev> {
    let call_id = random_id("call");
    let started = Instant::now();
    let hits = app.kb.search(text, 3);
    let sources = hits
        .iter()
        .map(|h| Source {
            title: app.kb.passage_title(h.passage),
            source_url: format!("{origin}{}", app.kb.passage_href(h.passage)),
            source_type: "doc".into(),
            source_visibility: "public".into(),
        })
        .collect();
    let result = json!({
        "query": text,
        "results": hits.iter().map(|h| json!({
            "title": app.kb.passage_title(h.passage),
            "score": (h.score * 1000.0).round() / 1000.0,
        })).collect::<Vec<_>>(),
    });
    // Searching takes a moment, so a person sees the call executing.
    let simulated = app.config.delta_delay_ms * 12;
    let mut events = vec![
        Ev::ToolCall(ToolCallEv {
            id: call_id.clone(),
            name: "search_knowledge_base".into(),
            arguments: json!({ "query": text }),
            executor: Executor::Server,
        }),
        Ev::ToolResult(ToolResultEv {
            id: call_id,
            status: CallStatus::Completed,
            result: Some(result),
            error: None,
            sources,
            duration_ms: started.elapsed().as_millis() as u64 + simulated,
        }),
    ];
    let answer = agent::knowledge_answer(&app.kb, &hits, origin, brief);
    events.extend(agent::deltas(&answer).into_iter().map(Ev::text));
    events
}

/// Tool results: settles the waiting client calls of the last assistant message with them
/// (a call without a result fails) and answers from the outcomes.
async fn apply_results(
    app: &App,
    thread: &Thread,
    results: &[ToolResult],
) -> Result<(i64, Assistant, Vec<Ev>)> {
    let waiting = |c: &crate::stream::ToolCall| {
        c.status == CallStatus::Pending && c.name != "search_knowledge_base"
    };
    let conflict = || {
        Error::detail(
            StatusCode::CONFLICT,
            "no tool calls are waiting for results",
        )
    };
    let (row, mut a) = last_assistant(app, &thread.id)
        .await?
        .ok_or_else(conflict)?;
    if !a.calls().any(waiting) {
        return Err(conflict());
    }
    let by_id: HashMap<&str, &ToolResult> = results
        .iter()
        .map(|r| (r.tool_call_id.as_str(), r))
        .collect();
    let mut outcomes = vec![];
    for c in a.calls_mut().filter(|c| waiting(c)) {
        let r = by_id.get(c.id.as_str());
        let status = r
            .and_then(|r| r.status)
            .filter(|s| {
                matches!(
                    s,
                    CallStatus::Completed | CallStatus::Error | CallStatus::Denied
                )
            })
            .unwrap_or(CallStatus::Error);
        let output = r.and_then(|r| r.output.clone());
        let error = match r {
            None => Some("no result was sent for this call".to_string()),
            Some(r) => r.error.clone(),
        };
        c.status = status;
        if status == CallStatus::Completed {
            c.result = Some(output.clone().unwrap_or(Value::Null));
        }
        if status == CallStatus::Error {
            c.error = Some(error.clone().unwrap_or_else(|| "tool failed".into()));
        }
        outcomes.push(CallOutcome {
            name: c.name.clone(),
            arguments: c.arguments.clone(),
            status: status.as_str().to_string(),
            output,
            error,
        });
    }
    let answer = agent::results_answer(&outcomes);
    let events = agent::deltas(&answer).into_iter().map(Ev::text).collect();
    Ok((row, a, events))
}

/// A streaming response whose body is what arrives on `rx`.
fn streaming(
    rx: tokio::sync::mpsc::Receiver<std::result::Result<Bytes, std::io::Error>>,
    content_type: &str,
) -> Response {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// Fault "reset": the connection closes before any response byte (a network error in the
/// browser). The body fails on its first poll, so hyper drops the connection with the head
/// still unsent.
fn reset_response() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected reset",
        ))
    });
    Response::new(Body::from_stream(failing))
}

/// Fault "script": the body given chunk by chunk, then a clean end, a drop or a stall.
fn script_response(f: &Fault) -> Response {
    let chunks: Vec<(u64, Vec<u8>)> = f
        .chunks
        .iter()
        .map(|c| (c.delay_ms.unwrap_or(0), c.bytes().unwrap_or_default()))
        .collect();
    let then = f.then.clone().unwrap_or_else(|| "end".into());
    let stall_ms = f.stall_ms.unwrap_or(120_000);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        for (delay, bytes) in chunks {
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            if tx.send(Ok(Bytes::from(bytes))).await.is_err() {
                return;
            }
        }
        match then.as_str() {
            // Let hyper flush what was sent: an error on the next poll drops unsent bytes.
            "drop" => drop_after_flush(&tx).await,
            "stall" => stall(&tx, stall_ms).await,
            _ => {}
        }
    });
    let mut res = streaming(rx, f.content_type.as_deref().unwrap_or("text/event-stream"));
    res.headers_mut().remove("x-accel-buffering");
    res
}

async fn drop_after_flush(tx: &Chunks) {
    tokio::time::sleep(Duration::from_millis(30)).await;
    let _ = tx
        .send(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected drop",
        )))
        .await;
}

async fn stall(tx: &Chunks, ms: u64) {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
        _ = tx.closed() => {}
    }
}

fn title_of(text: &str) -> String {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 60 {
        format!("{}…", t.chars().take(60).collect::<String>().trim_end())
    } else if t.is_empty() {
        "New conversation".into()
    } else {
        t
    }
}

/// The events with a stream fault applied: cut in the middle of the text (or after the first
/// events when there is none), then the fault's ending.
fn apply_stream_fault(events: Vec<Ev>, fault: Option<&Fault>) -> Vec<Step> {
    let Some(f) = fault else {
        return events.into_iter().map(Step::Send).collect();
    };
    let text_idx: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Ev::TextDelta(_)))
        .map(|(i, _)| i)
        .collect();
    let cut = if f.kind == "stall" {
        1
    } else if text_idx.is_empty() {
        (events.len() - 1).clamp(1, 2)
    } else {
        text_idx[text_idx.len() / 2]
    };
    let mut out: Vec<Step> = events.into_iter().take(cut).map(Step::Send).collect();
    match f.kind.as_str() {
        "drop_mid_stream" => out.push(Step::Drop),
        "stall" => out.push(Step::Stall),
        "malformed" => out.extend([Step::Send(Ev::Malformed), Step::End]),
        "error" => {
            out.push(Step::Send(Ev::error(f.reason.clone().unwrap_or_else(
                || "The agent ran into an injected failure.".into(),
            ))))
        }
        _ => {}
    }
    out
}

/// Stores the assistant message as it stands (inserting it the first time) and touches the
/// thread; the row id, once inserted.
async fn persist(app: &App, thread_id: &str, msg: &Assistant, row: Option<i64>) -> Option<i64> {
    if msg.is_empty() && row.is_none() {
        return None;
    }
    let (thread_id, msg) = (thread_id.to_string(), Message::Assistant(msg.clone()));
    app.db
        .run(move |db| {
            let now = now_ms();
            let row = match row {
                Some(id) => db.update_message(id, &msg).map(|_| id)?,
                None => db.insert_message(&thread_id, &msg, now)?,
            };
            db.touch_thread(&thread_id, now)?;
            Ok(row)
        })
        .await
        .ok()
        .or(row)
}

/// Sends the steps, paced by `--delta-delay-ms`, storing the message at the end, on a stop
/// (the client went away: what it saw is what is kept) and on every injected ending.
#[allow(clippy::too_many_arguments)]
async fn run_stream(
    app: Arc<App>,
    thread_id: String,
    mut row: Option<i64>,
    mut msg: Assistant,
    steps: Vec<Step>,
    framing: Framing,
    tx: Chunks,
    stall_ms: u64,
) {
    let delay = Duration::from_millis(app.config.delta_delay_ms);
    let id = thread_id.clone();
    let _ = app.db.run(move |db| db.touch_thread(&id, now_ms())).await;
    for step in steps {
        let ev = match step {
            Step::Send(ev) => ev,
            ending => {
                if let Step::Stall = ending {
                    persist(&app, &thread_id, &msg, row).await;
                    stall(&tx, stall_ms).await;
                }
                msg.settle_open(CallStatus::Stopped, None);
                persist(&app, &thread_id, &msg, row).await;
                if let Step::Drop = ending {
                    let _ = tx
                        .send(Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "injected drop",
                        )))
                        .await;
                }
                return;
            }
        };
        if !delay.is_zero() {
            match &ev {
                Ev::TextDelta(_) => tokio::time::sleep(delay).await,
                Ev::ToolResult(_) => tokio::time::sleep(delay * 12).await,
                _ => {}
            }
        }
        msg.apply(&ev);
        if ev.is_terminal() {
            // Stored before the client can act on the terminal event.
            row = persist(&app, &thread_id, &msg, row).await;
        }
        if tx.send(Ok(Bytes::from(ev.encode(framing)))).await.is_err() {
            msg.settle_open(CallStatus::Stopped, None);
            persist(&app, &thread_id, &msg, row).await;
            return;
        }
        if ev.is_terminal() {
            return;
        }
    }
    persist(&app, &thread_id, &msg, row).await;
}

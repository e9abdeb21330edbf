//! Integration tests of the development server over real HTTP: both chat framings, tool round
//! trips, token checks, history, persistence across a restart, the session proxy, faults.

use kapa_dev_server::Framing;
use serde_json::{json, Value};
use std::path::Path;

const README: &str = "# Demo Project\n\nA demo knowledge base.\n\n## Installation\n\nInstall the package with npm:\n\n```sh\nnpm install demo-pkg\n```\n\n## Streaming answers\n\nAnswers stream token by token over server-sent events.\n\n## Tools\n\nClient tools run in the browser and may need approval.\n";

mod common;
use common::{client, server, Env};

fn env() -> Env {
    common::env_with(README, "server source")
}

/// The status of a request's response.
async fn status_of(req: reqwest::RequestBuilder) -> reqwest::StatusCode {
    req.send().await.unwrap().status()
}

/// A session token from `/api/session`, with the owner cookie it set.
async fn session(base: &str, cookie: Option<&str>) -> (String, String) {
    let mut req = client().post(format!("{base}/api/session"));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200);
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = res.json_value().await;
    let cookie = match (set_cookie, cookie) {
        (Some(sc), _) => sc.split(';').next().unwrap().to_string(),
        (None, Some(c)) => c.to_string(),
        (None, None) => panic!("no owner cookie"),
    };
    (body["session_token"].as_str().unwrap().to_string(), cookie)
}

trait JsonValue {
    async fn json_value(self) -> Value;
}
impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        let t = self.text().await.unwrap();
        serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}"))
    }
}

/// Decodes a chat stream in either framing into `(type, content)` pairs.
fn decode(content_type: &str, body: &[u8]) -> Vec<(String, Value)> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    if content_type.starts_with("text/event-stream") {
        text.replace("\r\n", "\n")
            .split("\n\n")
            .filter(|b| !b.trim().is_empty())
            .map(|block| {
                let mut ty = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        ty = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                let v =
                    serde_json::from_str(&data).unwrap_or_else(|_| json!({"__malformed": data}));
                (ty, v)
            })
            .collect()
    } else {
        let parts: Vec<&str> = text.split('\u{241E}').collect();
        parts[..parts.len() - 1]
            .iter()
            .map(|f| match serde_json::from_str::<Value>(f) {
                Ok(v) => (
                    v["chunk"]["type"].as_str().unwrap().to_string(),
                    v["chunk"]["content"].clone(),
                ),
                Err(_) => ("text_delta".into(), json!({"__malformed": f})),
            })
            .collect()
    }
}

fn chat_body(thread: Option<&str>, input: Value, tools: Value) -> Value {
    json!({"integration_id": "demo-integration", "model": "kapa-agent-1.0", "thread_id": thread, "input": input, "tools": tools})
}

fn demo_tools() -> Value {
    json!([
        {"name": "get_current_time", "description": "Get the current date and time", "parameters": {"type": "object", "properties": {}}},
        {"name": "calculator", "description": "Evaluate an arithmetic expression", "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}
    ])
}

/// POSTs a chat request and decodes the whole stream.
async fn chat(
    base: &str,
    path_prefix: &str,
    token: &str,
    body: &Value,
    extra: &[(&str, &str)],
) -> (u16, String, Vec<(String, Value)>) {
    let mut req = client()
        .post(format!(
            "{base}{path_prefix}/agent/v1/projects/demo/agent/chat/"
        ))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .header("idempotency-key", "idem-1")
        .body(body.to_string());
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = res.bytes().await.unwrap_or_default();
    let events = if status == 200 {
        decode(&ct, &bytes)
    } else {
        vec![]
    };
    (status, ct, events)
}

fn types(events: &[(String, Value)]) -> Vec<&str> {
    let mut t: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    t.dedup();
    t
}

fn text_of(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(t, _)| t == "text_delta")
        .map(|(_, c)| c["text"].as_str().unwrap_or(""))
        .collect()
}

#[tokio::test]
async fn sse_turn_searches_docs_and_cites_sources() {
    let e = env();
    let s = server(&e, |_| {}).await;
    let base = s.url();
    let (tok, _) = session(&base, None).await;
    let body = chat_body(
        None,
        json!({"type": "user_message", "content": "How do I install the package?"}),
        json!([]),
    );
    let (status, ct, ev) = chat(&base, "", &tok, &body, &[]).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    assert_eq!(
        types(&ev),
        vec![
            "stream_start",
            "tool_call",
            "tool_result",
            "text_delta",
            "done"
        ]
    );
    let thread = ev[0].1["thread_id"].as_str().unwrap().to_string();
    assert_eq!(ev.last().unwrap().1["thread_id"], json!(thread));
    let call = &ev[1].1;
    assert_eq!(call["name"], "search_knowledge_base");
    assert_eq!(call["executor"], "server");
    assert_eq!(call["arguments"]["query"], "How do I install the package?");
    let result = &ev[2].1;
    assert_eq!(result["id"], call["id"]);
    assert_eq!(result["status"], "completed");
    let src = &result["sources"][0];
    assert_eq!(src["title"], "Installation | Demo Project");
    assert_eq!(src["source_type"], "doc");
    assert_eq!(src["source_visibility"], "public");
    let url = src["source_url"].as_str().unwrap();
    assert_eq!(url, format!("{base}/docs/README.md#installation"));
    let text = text_of(&ev);
    assert!(text.contains("npm install demo-pkg"), "{text}");
    assert!(
        text.contains(&format!(
            "[Installation | Demo Project]({base}/docs/README.md#installation)"
        )),
        "{text}"
    );
    assert!(
        ev.iter().filter(|(t, _)| t == "text_delta").count() > 5,
        "text streams in small deltas"
    );
    // The linked page exists and has the anchor.
    let page = client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"installation\""), "{page}");
    s.stop().await;
}

#[tokio::test]
async fn record_framing_client_tool_round_trip_is_stored() {
    let e = env();
    let s = server(&e, |_| {}).await;
    let base = s.url();
    let (tok, _) = session(&base, None).await;
    let body = chat_body(
        None,
        json!({"type": "user_message", "content": "Please calculate 2*(3+4)"}),
        demo_tools(),
    );
    let (status, ct, ev) = chat(&base, "", &tok, &body, &[("x-kapa-framing", "record")]).await;
    assert_eq!(status, 200);
    assert!(!ct.starts_with("text/event-stream"), "{ct}");
    assert_eq!(
        types(&ev),
        vec!["stream_start", "tool_call", "requires_action"]
    );
    let thread = ev[0].1["thread_id"].as_str().unwrap().to_string();
    let call = &ev[1].1;
    assert_eq!(call["name"], "calculator");
    assert_eq!(call["executor"], "client");
    assert_eq!(call["arguments"], json!({"expression": "2*(3+4)"}));
    assert_eq!(ev[2].1["tool_call_ids"], json!([call["id"]]));

    let follow = chat_body(
        Some(&thread),
        json!({"type": "tool_results", "results": [{"tool_call_id": call["id"], "status": "completed", "output": {"result": 14}}]}),
        demo_tools(),
    );
    let (status, _, ev2) = chat(&base, "", &tok, &follow, &[("x-kapa-framing", "record")]).await;
    assert_eq!(status, 200);
    assert_eq!(types(&ev2), vec!["stream_start", "text_delta", "done"]);
    assert!(
        text_of(&ev2).contains("`2*(3+4)` = **14**"),
        "{}",
        text_of(&ev2)
    );

    // History shows one assistant message spanning both round trips.
    let t = client()
        .get(format!(
            "{base}/agent/v1/projects/demo/agent/threads/{thread}/"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    let msgs = t["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "{t}");
    assert_eq!(
        msgs[0],
        json!({"role": "user", "content": "Please calculate 2*(3+4)"})
    );
    let a = &msgs[1];
    assert_eq!(a["role"], "assistant");
    assert_eq!(a["blocks"][0]["type"], "tool_calls");
    let stored = &a["blocks"][0]["tool_calls"][0];
    assert_eq!(stored["status"], "completed");
    assert_eq!(stored["result"], json!({"result": 14}));
    assert_eq!(stored["arguments"], json!({"expression": "2*(3+4)"}));
    assert_eq!(a["blocks"][1]["type"], "text");
    assert_eq!(a["content"], a["blocks"][1]["content"]);
    s.stop().await;
}

#[tokio::test]
async fn parallel_tools_denial_errors_and_framing_selectors() {
    let e = env();
    let s = server(&e, |c| c.framing = Framing::Record).await;
    let base = s.url();
    let (tok, _) = session(&base, None).await;
    let body = chat_body(
        None,
        json!({"type": "user_message", "content": "What time is it, and what is 6*7?"}),
        demo_tools(),
    );
    // Server default is record; the query parameter and the path prefix override it.
    let (_, ct, ev) = chat(&base, "", &tok, &body, &[]).await;
    assert!(ct.starts_with("text/plain"), "{ct}");
    let calls: Vec<&Value> = ev
        .iter()
        .filter(|(t, _)| t == "tool_call")
        .map(|(_, c)| c)
        .collect();
    assert_eq!(
        calls
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["get_current_time", "calculator"]
    );
    assert_eq!(
        ev.last().unwrap().1["tool_call_ids"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let thread = ev[0].1["thread_id"].as_str().unwrap();
    let follow = chat_body(
        Some(thread),
        json!({"type": "tool_results", "results": [
            {"tool_call_id": calls[0]["id"], "status": "denied"},
            {"tool_call_id": calls[1]["id"], "status": "error", "error": "Division by zero"}
        ]}),
        demo_tools(),
    );
    let (_, ct, ev2) = chat(&base, "/framing/sse", &tok, &follow, &[]).await;
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let text = text_of(&ev2);
    assert!(text.contains("You declined **get_current_time**"), "{text}");
    assert!(text.contains("Division by zero"), "{text}");
    // Results again: nothing is waiting any more.
    let (status, _, _) = chat(&base, "", &tok, &follow, &[]).await;
    assert_eq!(status, 409);

    let (_, ct, _) = client()
        .post(format!(
            "{base}/agent/v1/projects/demo/agent/chat/?framing=sse"
        ))
        .bearer_auth(&tok)
        .body(
            chat_body(
                None,
                json!({"type": "user_message", "content": "streaming"}),
                json!([]),
            )
            .to_string(),
        )
        .send()
        .await
        .map(|r| {
            (
                0,
                r.headers()["content-type"].to_str().unwrap().to_string(),
                (),
            )
        })
        .unwrap();
    assert!(ct.starts_with("text/event-stream"));
    s.stop().await;
}

#[tokio::test]
async fn new_message_cancels_unanswered_client_calls() {
    let e = env();
    let s = server(&e, |_| {}).await;
    let base = s.url();
    let (tok, _) = session(&base, None).await;
    let (_, _, ev) = chat(
        &base,
        "",
        &tok,
        &chat_body(
            None,
            json!({"type": "user_message", "content": "what time is it"}),
            demo_tools(),
        ),
        &[],
    )
    .await;
    let thread = ev[0].1["thread_id"].as_str().unwrap();
    let (status, _, ev2) = chat(
        &base,
        "",
        &tok,
        &chat_body(
            Some(thread),
            json!({"type": "user_message", "content": "tell me about tools"}),
            demo_tools(),
        ),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ev2.last().unwrap().0, "done");
    let t = client()
        .get(format!(
            "{base}/agent/v1/projects/demo/agent/threads/{thread}/"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(
        t["messages"][1]["blocks"][0]["tool_calls"][0]["status"],
        "stopped"
    );
    assert_eq!(t["messages"].as_array().unwrap().len(), 4);
    s.stop().await;
}

#[tokio::test]
async fn tokens_are_checked() {
    let e = env();
    let s = server(&e, |c| c.token_ttl_secs = 1).await;
    let base = s.url();
    let body = chat_body(
        None,
        json!({"type": "user_message", "content": "hi"}),
        json!([]),
    );
    let url = format!("{base}/agent/v1/projects/demo/agent/chat/");
    let res = client()
        .post(&url)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (status, _, _) = chat(&base, "", "kds_unknown", &body, &[]).await;
    assert_eq!(status, 401);
    let (tok, _) = session(&base, None).await;
    let res = client()
        .get(format!("{base}/agent/v1/projects/other/agent/threads/"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "token of another project");
    let (status, _, _) = chat(&base, "", &tok, &body, &[]).await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _, _) = chat(&base, "", &tok, &body, &[]).await;
    assert_eq!(status, 401, "expired");
    let res = client()
        .get(format!("{base}/agent/v1/projects/demo/agent/threads/"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    s.stop().await;
}

#[tokio::test]
async fn history_pagination_delete_and_ownership() {
    let e = env();
    let s = server(&e, |_| {}).await;
    let base = s.url();
    let (tok, cookie) = session(&base, None).await;
    let mut ids = vec![];
    for i in 0..5 {
        let (_, _, ev) = chat(
            &base,
            "",
            &tok,
            &chat_body(
                None,
                json!({"type": "user_message", "content": format!("question {i} about streaming")}),
                json!([]),
            ),
            &[],
        )
        .await;
        ids.push(ev[0].1["thread_id"].as_str().unwrap().to_string());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // Same cookie, new token: same owner.
    let (tok2, _) = session(&base, Some(&cookie)).await;
    let list = |t: String, q: String| {
        let base = base.clone();
        async move {
            client()
                .get(format!("{base}/agent/v1/projects/demo/agent/threads/{q}"))
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
        }
    };
    let p1 = list(tok2.clone(), "?limit=2".into())
        .await
        .json_value()
        .await;
    assert_eq!(p1["threads"].as_array().unwrap().len(), 2);
    assert_eq!(p1["threads"][0]["id"], json!(ids[4]), "newest first");
    assert_eq!(p1["threads"][0]["title"], "question 4 about streaming");
    assert_eq!(p1["threads"][0]["message_count"], 2);
    assert!(p1["threads"][0]["created_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let c1 = p1["next_cursor"].as_str().unwrap().to_string();
    let p2 = list(tok2.clone(), format!("?limit=2&cursor={c1}"))
        .await
        .json_value()
        .await;
    let c2 = p2["next_cursor"].as_str().unwrap().to_string();
    let p3 = list(tok2.clone(), format!("?limit=2&cursor={c2}"))
        .await
        .json_value()
        .await;
    assert_eq!(p3["threads"].as_array().unwrap().len(), 1);
    assert_eq!(p3["next_cursor"], Value::Null);
    let mut seen: Vec<String> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| {
            p["threads"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string())
        })
        .collect();
    seen.reverse();
    assert_eq!(seen, ids);
    let all = list(tok2.clone(), String::new()).await.json_value().await;
    assert_eq!(
        all["threads"].as_array().unwrap().len(),
        5,
        "default limit 20"
    );
    assert_eq!(list(tok2.clone(), "?limit=0".into()).await.status(), 400);
    assert_eq!(list(tok2.clone(), "?cursor=zz".into()).await.status(), 400);

    // Another visitor sees none of them.
    let (other, other_cookie) = session(&base, None).await;
    assert_ne!(other_cookie, cookie);
    let o = list(other.clone(), String::new()).await.json_value().await;
    assert_eq!(o["threads"], json!([]));
    let thread_url = |id: &str| format!("{base}/agent/v1/projects/demo/agent/threads/{id}/");
    assert_eq!(
        status_of(client().get(thread_url(&ids[0])).bearer_auth(&other)).await,
        404
    );
    assert_eq!(
        status_of(client().delete(thread_url(&ids[0])).bearer_auth(&other)).await,
        404
    );
    let (status, _, _) = chat(
        &base,
        "",
        &other,
        &chat_body(
            Some(&ids[0]),
            json!({"type": "user_message", "content": "hi"}),
            json!([]),
        ),
        &[],
    )
    .await;
    assert_eq!(status, 404);

    // Soft delete.
    let res = client()
        .delete(thread_url(&ids[2]))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        status_of(client().get(thread_url(&ids[2])).bearer_auth(&tok)).await,
        404
    );
    assert_eq!(
        status_of(client().delete(thread_url(&ids[2])).bearer_auth(&tok)).await,
        404
    );
    assert_eq!(
        status_of(client().get(thread_url("thr_nope")).bearer_auth(&tok)).await,
        404
    );
    let all = list(tok.clone(), String::new()).await.json_value().await;
    assert_eq!(all["threads"].as_array().unwrap().len(), 4);
    assert!(!all.to_string().contains(&ids[2]));
    let (status, _, _) = chat(
        &base,
        "",
        &tok,
        &chat_body(
            Some(&ids[2]),
            json!({"type": "user_message", "content": "hi"}),
            json!([]),
        ),
        &[],
    )
    .await;
    assert_eq!(status, 404, "a deleted thread takes no messages");

    // A session without an owner chats but has no history.
    let res = client()
        .post(format!("{base}/agent/v1/projects/demo/agent/sessions/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "needs X-API-Key");
    let res = client()
        .post(format!("{base}/agent/v1/projects/demo/agent/sessions/"))
        .header("x-api-key", "dev")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let ownerless = res.json_value().await["session_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _, _) = chat(
        &base,
        "",
        &ownerless,
        &chat_body(
            None,
            json!({"type": "user_message", "content": "hi"}),
            json!([]),
        ),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let res = list(ownerless.clone(), String::new()).await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.json_value().await["code"], "session_without_owner");
    let res = client()
        .get(thread_url(&ids[0]))
        .bearer_auth(&ownerless)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    s.stop().await;
}

fn spawn_binary(root: &Path, data: &Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kapa-dev-server"))
        .args(["--port", "0", "--delta-delay-ms", "0", "--quiet"])
        .arg("--root")
        .arg(root)
        .arg("--data-dir")
        .arg(data)
        .env_remove("KAPA_API_KEY")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(out).lines();
    let url = loop {
        let line = lines.next().expect("server printed its URL").unwrap();
        if let Some(u) = line.strip_prefix("Open ") {
            break u.trim_end_matches('/').to_string();
        }
    };
    (child, url)
}

#[tokio::test]
async fn sqlite_state_survives_a_restart() {
    let e = env();
    let (mut child, base) = spawn_binary(&e.root, &e.data);
    let (tok, cookie) = session(&base, None).await;
    let (_, _, ev) = chat(
        &base,
        "",
        &tok,
        &chat_body(
            None,
            json!({"type": "user_message", "content": "How do I install?"}),
            json!([]),
        ),
        &[],
    )
    .await;
    let thread = ev[0].1["thread_id"].as_str().unwrap().to_string();
    let before = client()
        .get(format!(
            "{base}/agent/v1/projects/demo/agent/threads/{thread}/"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(e.data.join("kapa-dev.sqlite3").exists());

    let (mut child, base2) = spawn_binary(&e.root, &e.data);
    // The old token still works, and so does the owner cookie with a new token.
    let after = client()
        .get(format!(
            "{base2}/agent/v1/projects/demo/agent/threads/{thread}/"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(before, after);
    assert_eq!(after["messages"].as_array().unwrap().len(), 2);
    assert!(after["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains("npm install"));
    let (tok2, _) = session(&base2, Some(&cookie)).await;
    let list = client()
        .get(format!("{base2}/agent/v1/projects/demo/agent/threads/"))
        .bearer_auth(&tok2)
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(list["threads"][0]["id"], json!(thread));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn session_proxy_forwards_to_kapa_and_hides_the_key() {
    use axum::{routing::post, Router};
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<(String, String, String)>>> = Default::default();
    let seen2 = seen.clone();
    let kapa = Router::new().route(
        "/agent/v1/projects/{pid}/agent/sessions/",
        post(move |axum::extract::Path(pid): axum::extract::Path<String>, headers: axum::http::HeaderMap, body: String| {
            let seen = seen2.clone();
            async move {
                let key = headers.get("x-api-key").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
                seen.lock().unwrap().push((pid, key, body));
                (axum::http::StatusCode::CREATED, axum::Json(json!({"session_token": "upstream-token", "expires_at": "2030-01-01T00:00:00Z"})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let kapa_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, kapa).await.unwrap() });

    let e = env();
    let key = "sk-very-secret-key-123";
    let s = server(&e, |c| {
        c.upstream = Some(kapa_dev_server::config::Upstream {
            api_key: key.into(),
            project_id: "proj_42".into(),
            api_url: kapa_url.clone(),
            integration_id: Some("int_7".into()),
        })
    })
    .await;
    let base = s.url();
    let res = client()
        .post(format!("{base}/api/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "the upstream status passes through");
    let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let owner = set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let headers = format!("{:?}", res.headers());
    let body = res.text().await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"session_token": "upstream-token", "expires_at": "2030-01-01T00:00:00Z"})
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "proj_42");
        assert_eq!(seen[0].1, key);
        assert_eq!(
            serde_json::from_str::<Value>(&seen[0].2).unwrap(),
            json!({"external_owner_id": owner})
        );
    }
    // Same visitor again: same owner id.
    client()
        .post(format!("{base}/api/session"))
        .header("cookie", format!("kapa_owner={owner}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&seen.lock().unwrap()[1].2).unwrap()["external_owner_id"],
        json!(owner)
    );

    let config = client()
        .get(format!("{base}/api/config"))
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(config["mode"], "kapa");
    assert_eq!(config["projectId"], "proj_42");
    assert_eq!(config["baseUrl"], json!(kapa_url));
    // The key appears in no response.
    let mut everything = headers + &body + &config.to_string();
    for path in [
        "/",
        "/api/config",
        "/__requests",
        "/__faults",
        "/docs/README.md",
        "/nope",
    ] {
        let r = client().get(format!("{base}{path}")).send().await.unwrap();
        everything.push_str(&format!("{:?}", r.headers()));
        everything.push_str(&r.text().await.unwrap());
    }
    assert!(!everything.contains(key), "API key leaked");
    s.stop().await;
}

#[tokio::test]
async fn faults_apply_to_the_next_chat_requests() {
    let e = env();
    let s = server(&e, |_| {}).await;
    let base = s.url();
    let (tok, _) = session(&base, None).await;
    let body = chat_body(
        None,
        json!({"type": "user_message", "content": "How do I install the package?"}),
        json!([]),
    );
    let fault = |f: Value| {
        let base = base.clone();
        async move {
            let r = client()
                .post(format!("{base}/__faults"))
                .body(f.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    };
    let bad = client()
        .post(format!("{base}/__faults"))
        .body(json!({"kind": "418"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    fault(json!({"kind": "401", "count": 2})).await;
    assert_eq!(chat(&base, "", &tok, &body, &[]).await.0, 401);
    assert_eq!(chat(&base, "", &tok, &body, &[]).await.0, 401);
    assert_eq!(chat(&base, "", &tok, &body, &[]).await.0, 200);

    fault(json!({"kind": "429", "retry_after": "2"})).await;
    let r = client()
        .post(format!("{base}/agent/v1/projects/demo/agent/chat/"))
        .bearer_auth(&tok)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    for code in [502u16, 503, 504] {
        fault(json!({"kind": code.to_string()})).await;
        assert_eq!(chat(&base, "", &tok, &body, &[]).await.0, code);
    }

    fault(json!({"kind": "error", "reason": "Injected: the model is unavailable."})).await;
    let (_, _, ev) = chat(&base, "", &tok, &body, &[]).await;
    let last = ev.last().unwrap();
    assert_eq!(last.0, "error");
    assert_eq!(last.1["reason"], "Injected: the model is unavailable.");
    assert!(
        ev.iter().any(|(t, _)| t == "text_delta"),
        "fails mid-answer"
    );
    let thread = ev[0].1["thread_id"].as_str().unwrap();
    let t = client()
        .get(format!(
            "{base}/agent/v1/projects/demo/agent/threads/{thread}/"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(t["messages"][1]["is_error"], true);

    for framing in ["sse", "record"] {
        fault(json!({"kind": "malformed"})).await;
        let (status, _, ev) = chat(&base, &format!("/framing/{framing}"), &tok, &body, &[]).await;
        assert_eq!(status, 200);
        assert!(
            ev.last().unwrap().1.get("__malformed").is_some(),
            "{framing}: {ev:?}"
        );
        assert!(!ev.iter().any(|(t, _)| t == "done" || t == "error"));
    }

    fault(json!({"kind": "drop_mid_stream"})).await;
    let r = client()
        .post(format!("{base}/agent/v1/projects/demo/agent/chat/"))
        .bearer_auth(&tok)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    match r.bytes().await {
        Err(_) => {}
        Ok(b) => {
            let ev = decode("text/event-stream", &b);
            assert!(
                !ev.iter().any(|(t, _)| t == "done"),
                "dropped stream must not complete: {ev:?}"
            );
        }
    }

    fault(json!({"kind": "stall", "stall_ms": 300})).await;
    let t0 = std::time::Instant::now();
    let (_, _, ev) = chat(&base, "", &tok, &body, &[]).await;
    assert!(t0.elapsed() >= std::time::Duration::from_millis(290));
    assert_eq!(types(&ev), vec!["stream_start"]);

    // Cleared faults no longer apply.
    fault(json!({"kind": "503", "count": 5})).await;
    let r = client()
        .delete(format!("{base}/__faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(chat(&base, "", &tok, &body, &[]).await.0, 200);
    s.stop().await;
}

#[tokio::test]
async fn request_log_records_what_was_sent_without_the_token() {
    let e = env();
    let s = server(&e, |_| {}).await;
    let base = s.url();
    let (tok, _) = session(&base, None).await;
    let body = chat_body(
        None,
        json!({"type": "user_message", "content": "hello"}),
        demo_tools(),
    );
    chat(&base, "", &tok, &body, &[]).await;
    let log = client()
        .get(format!("{base}/__requests"))
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    let r = &log["requests"][0];
    assert_eq!(r["method"], "POST");
    assert_eq!(r["path"], "/agent/v1/projects/demo/agent/chat/");
    assert_eq!(r["idempotency_key"], "idem-1");
    assert_eq!(r["body"], body);
    assert_eq!(r["has_authorization"], true);
    assert!(
        !log.to_string().contains(&tok),
        "the token must not be logged"
    );
    assert_eq!(
        status_of(client().delete(format!("{base}/__requests"))).await,
        204
    );
    let log = client()
        .get(format!("{base}/__requests"))
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(log["requests"], json!([]));
    s.stop().await;
}

#[tokio::test]
async fn static_files_csp_and_owner_cookie() {
    let e = env();
    let s = server(&e, |_| {}).await;
    let base = s.url();
    let r = client().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let sc = r.headers()["set-cookie"].to_str().unwrap();
    assert!(sc.starts_with("kapa_owner=own_") && sc.contains("HttpOnly"));
    let r = client()
        .get(format!("{base}/pkg/index.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(r.text().await.unwrap(), "export const x = 1;");
    for path in [
        "/server/secret.txt",
        "/pkg/../README.md",
        "/pkg/%2e%2e/README.md",
        "/.git/config",
        "/missing.js",
    ] {
        let r = client().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let page = client()
        .get(format!("{base}/docs/README.md"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h2 id=\"streaming-answers\">"), "{page}");
    s.stop().await;
}

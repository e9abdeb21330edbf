//! Fault injection and the request log: for tests and demos on this machine only, so every
//! route here is guarded once by the loopback check.

use crate::error::{Error, Result};
use crate::faults::{Fault, RequestRecord, KINDS, MAX_SCRIPT_BYTES};
use crate::App;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde::Serialize;
use std::sync::Arc;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/__faults",
            get(faults_list).post(faults_add).delete(faults_clear),
        )
        .route("/__requests", get(requests_list).delete(requests_clear))
        .route_layer(middleware::from_fn(super::loopback_guard))
}

#[derive(Serialize)]
pub struct FaultList {
    faults: Vec<Fault>,
}

#[derive(Serialize)]
pub struct RequestList {
    requests: Vec<RequestRecord>,
}

/// Why `f` cannot be queued, if it cannot.
fn check_fault(f: &Fault) -> Result<()> {
    if !KINDS.contains(&f.kind.as_str()) {
        return Err(Error::bad_request(format!(
            "unknown kind; one of {}",
            KINDS.join(", ")
        )));
    }
    if f.count == 0 {
        return Err(Error::bad_request("count must be at least 1"));
    }
    let mut script_bytes = 0usize;
    for c in &f.chunks {
        script_bytes += c
            .bytes()
            .map_err(|e| Error::bad_request(format!("bad chunk: {e}")))?
            .len();
    }
    if script_bytes > MAX_SCRIPT_BYTES {
        return Err(Error::bad_request("scripted body too large"));
    }
    if f.then
        .as_deref()
        .is_some_and(|t| !["end", "drop", "stall"].contains(&t))
    {
        return Err(Error::bad_request("then must be end, drop or stall"));
    }
    let bad_header = |v: &Option<String>| {
        v.as_deref()
            .is_some_and(|c| HeaderValue::from_str(c).is_err())
    };
    if bad_header(&f.content_type) {
        return Err(Error::bad_request(
            "content_type is not a valid header value",
        ));
    }
    if bad_header(&f.retry_after) {
        return Err(Error::bad_request(
            "retry_after is not a valid header value",
        ));
    }
    Ok(())
}

async fn faults_add(
    State(app): State<Arc<App>>,
    body: axum::body::Bytes,
) -> Result<Json<FaultList>> {
    let f: Fault =
        serde_json::from_slice(&body).map_err(|e| Error::bad_request(format!("bad fault: {e}")))?;
    check_fault(&f)?;
    app.faults.push(f);
    Ok(Json(FaultList {
        faults: app.faults.list(),
    }))
}

async fn faults_list(State(app): State<Arc<App>>) -> Json<FaultList> {
    Json(FaultList {
        faults: app.faults.list(),
    })
}

async fn faults_clear(State(app): State<Arc<App>>) -> StatusCode {
    app.faults.clear();
    StatusCode::NO_CONTENT
}

async fn requests_list(State(app): State<Arc<App>>) -> Json<RequestList> {
    Json(RequestList {
        requests: app.requests.all(),
    })
}

async fn requests_clear(State(app): State<Arc<App>>) -> StatusCode {
    app.requests.clear();
    StatusCode::NO_CONTENT
}

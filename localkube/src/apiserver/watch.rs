//! Watch streams: newline-delimited JSON events (`ADDED`, `MODIFIED`,
//! `DELETED`, `BOOKMARK`, `ERROR`), resumable from a resourceVersion, with
//! `sendInitialEvents` and periodic bookmarks.
//!
//! As in Kubernetes, an object that starts matching the selectors is sent as
//! `ADDED` and one that stops matching as `DELETED`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::apiserver::cluster::{Cluster, ListOptions, Target};
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::http::AppState;
use crate::apiserver::store::{Change, ChangeType};
use crate::apiserver::table;

/// How often a bookmark is sent when bookmarks are allowed.
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

/// Parameters of a watch request.
#[derive(Debug, Clone)]
pub struct WatchParams {
    /// `resourceVersion` to resume after (`None`/0 = start with the current state).
    pub resource_version: Option<u64>,
    /// `sendInitialEvents=true`.
    pub send_initial_events: bool,
    /// `allowWatchBookmarks=true`.
    pub bookmarks: bool,
    /// `timeoutSeconds`.
    pub timeout: Duration,
    /// Selectors.
    pub list: ListOptions,
    /// Encode objects as single-row Tables (`kubectl get -w`).
    pub as_table: bool,
}

/// The event type a watch of `target` with these selectors sees for a
/// change, if any: an object that starts matching the selectors is ADDED,
/// one that stops matching is DELETED.
fn event_for(target: &Target, list: &ListOptions, c: &Change) -> Option<ChangeType> {
    if c.key.resource != target.ty.key()
        || (target.ty.namespaced
            && target
                .namespace
                .as_ref()
                .is_some_and(|n| *n != c.key.namespace))
    {
        return None;
    }
    let sel = |o: &Value| list.labels.matches(o) && list.fields.matches(o);
    let now = sel(&c.object);
    match (c.kind, c.previous.as_ref().map(sel)) {
        (ChangeType::Modified, Some(false)) if now => Some(ChangeType::Added),
        (ChangeType::Modified, Some(true)) if !now => Some(ChangeType::Deleted),
        (kind, _) if now => Some(kind),
        _ => None,
    }
}

struct Stream {
    target: Target,
    params: WatchParams,
    tx: mpsc::Sender<Result<Bytes, std::convert::Infallible>>,
}

impl Stream {
    fn encode(&self, kind: &str, object: &Value) -> Bytes {
        let object = if self.params.as_table && kind != "BOOKMARK" && kind != "ERROR" {
            let rv = object
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            table::table(&self.target, std::slice::from_ref(object), rv, None)
        } else {
            object.clone()
        };
        let mut line =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }

    async fn send(&self, kind: &str, object: &Value) -> bool {
        self.tx.send(Ok(self.encode(kind, object))).await.is_ok()
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Value {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"kind": self.target.ty.kind, "apiVersion": self.target.api_version(), "metadata": meta})
    }

    async fn run(
        self,
        initial: Vec<(ChangeType, Value)>,
        start_rv: u64,
        mut rx: broadcast::Receiver<Arc<Change>>,
    ) {
        for (kind, obj) in &initial {
            if !self.send(kind.as_str(), obj).await {
                return;
            }
        }
        if self.params.send_initial_events
            && !self.send("BOOKMARK", &self.bookmark(start_rv, true)).await
        {
            return;
        }
        let deadline = tokio::time::sleep(self.params.timeout);
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(BOOKMARK_EVERY);
        ticker.tick().await;
        let mut last_rv = start_rv;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = ticker.tick(), if self.params.bookmarks => {
                    if !self.send("BOOKMARK", &self.bookmark(last_rv, false)).await {
                        return;
                    }
                }
                _ = self.tx.closed() => return,
                got = rx.recv() => match got {
                    Ok(c) => {
                        if c.rv <= last_rv {
                            continue;
                        }
                        last_rv = c.rv;
                        if let Some(kind) = event_for(&self.target, &self.params.list, &c) {
                            let obj = Cluster::present(&self.target, &c.object);
                            if !self.send(kind.as_str(), &obj).await {
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let gone = ApiError::Gone { requested: last_rv, oldest: last_rv + 1 };
                        let _ = self.send("ERROR", &gone.status()).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }
}

/// Start a watch: a streaming response fed by a background task.
pub fn start(app: &AppState, target: Target, params: WatchParams) -> ApiResult<Response> {
    let (tx, rx_body) = mpsc::channel(256);
    let (initial, start_rv, rx) = {
        let cluster = app.lock();
        let rx = cluster.store.subscribe();
        let now = cluster.store.resource_version();
        let from = params
            .resource_version
            .filter(|rv| *rv > 0 && !params.send_initial_events);
        let initial = match from {
            None => {
                let page = cluster.list(
                    &target,
                    &ListOptions {
                        limit: 0,
                        continue_token: None,
                        ..params.list.clone()
                    },
                )?;
                page.items
                    .into_iter()
                    .map(|o| (ChangeType::Added, o))
                    .collect()
            }
            Some(rv) => match cluster.store.changes_since(rv) {
                Ok(changes) => changes
                    .iter()
                    .filter_map(|c| event_for(&target, &params.list, c).map(|k| (k, c)))
                    .map(|(k, c)| (k, Cluster::present(&target, &c.object)))
                    .collect(),
                Err(oldest) => {
                    return Ok(expired(ApiError::Gone {
                        requested: rv,
                        oldest,
                    }))
                }
            },
        };
        (initial, now, rx)
    };
    let stream = Stream { target, params, tx };
    tokio::spawn(stream.run(initial, start_rv, rx));
    Ok(streaming(Body::from_stream(ReceiverStream::new(rx_body))))
}

fn streaming(body: Body) -> Response {
    let mut r = Response::new(body);
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    r
}

/// A watch that ends at once with an `ERROR` event (410 Expired), as the
/// API server answers a resourceVersion older than its history.
fn expired(err: ApiError) -> Response {
    let mut line =
        serde_json::to_vec(&json!({"type": "ERROR", "object": err.status()})).unwrap_or_default();
    line.push(b'\n');
    streaming(Body::from(line))
}

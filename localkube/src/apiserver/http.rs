//! HTTP front end: one fallback handler that routes every request by path,
//! method, query and content type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use crate::apiserver::cluster::{Cluster, ListOptions, Target};
use crate::apiserver::delete::DeleteOptions;
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::route::{self, ObjectPath, Route};
use crate::apiserver::selectors::{FieldSelector, LabelSelector};
use crate::apiserver::watch::{self, WatchParams};
use crate::apiserver::write::{PatchType, WriteOptions, Written};
use crate::apiserver::{discovery, table};

/// Where `pods/log` reads a container's output: `(namespace, pod, tailLines)`.
pub type LogSource = Arc<dyn Fn(&str, &str, Option<u64>) -> Result<String, String> + Send + Sync>;

/// Shared state of the server.
#[derive(Clone, Default)]
pub struct AppState {
    cluster: Arc<Mutex<Cluster>>,
    logs: Arc<Mutex<Option<LogSource>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// Serve `pods/log` from this source (the workload runner's engine).
    pub fn set_log_source(&self, source: LogSource) {
        *self.logs.lock().unwrap_or_else(|p| p.into_inner()) = Some(source);
    }

    fn log_source(&self) -> Option<LogSource> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Lock the cluster (a poisoned lock is recovered: the state is plain data).
    pub fn lock(&self) -> MutexGuard<'_, Cluster> {
        self.cluster.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The router serving the whole API.
pub fn router(state: AppState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

type Params = HashMap<String, String>;

fn json_response(code: StatusCode, body: &Value, warnings: &[String]) -> Response {
    let mut r = (code, axum::Json(body)).into_response();
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('"', "'"));
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().append("warning", v);
        }
    }
    r
}

fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"))
}

fn flag(p: &Params, k: &str) -> bool {
    matches!(p.get(k).map(String::as_str), Some("true" | "1"))
}

async fn handle(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Query::<Params>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let result = dispatch(&app, &method, uri.path(), &params, &headers, &body);
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(%method, path = %uri.path(), error = %e, "request failed");
            e.into_response()
        }
    };
    tracing::trace!(%method, uri = %uri, status = %response.status(), "request");
    response
}

fn dispatch(
    app: &AppState,
    method: &Method,
    path: &str,
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v, &[]));
    match route::parse(path) {
        Route::Version => ok(discovery::version()),
        Route::Health => Ok((StatusCode::OK, "ok").into_response()),
        Route::CoreVersions => ok(discovery::core_versions()),
        Route::Groups => ok(discovery::group_list(&app.lock().registry)),
        Route::Group(g) => discovery::group(&app.lock().registry, &g)
            .map(|d| json_response(StatusCode::OK, &d, &[]))
            .ok_or_else(|| ApiError::NotFound {
                resource: "apigroups".into(),
                name: g,
            }),
        Route::Resources { group, version } => {
            discovery::resource_list(&app.lock().registry, &group, &version)
                .map(|d| json_response(StatusCode::OK, &d, &[]))
                .ok_or_else(|| ApiError::NotFound {
                    resource: "apiversions".into(),
                    name: format!("{group}/{version}"),
                })
        }
        Route::OpenApiV2 => Err(ApiError::NotFound {
            resource: "openapi".into(),
            name: "v2".into(),
        }),
        Route::OpenApiV3 => ok(discovery::openapi_v3_root(&app.lock().registry)),
        Route::OpenApiV3Doc(gv) => discovery::openapi_v3_doc(&app.lock().registry, &gv)
            .map(|d| json_response(StatusCode::OK, &d, &[]))
            .ok_or_else(|| ApiError::NotFound {
                resource: "openapi".into(),
                name: gv,
            }),
        Route::Object(o) => object(app, method, o, params, headers, body),
        Route::Unknown => Err(ApiError::NoResource),
    }
}

fn list_options(p: &Params) -> ApiResult<ListOptions> {
    Ok(ListOptions {
        labels: LabelSelector::parse(p.get("labelSelector").map(String::as_str).unwrap_or(""))?,
        fields: FieldSelector::parse(p.get("fieldSelector").map(String::as_str).unwrap_or(""))?,
        limit: p.get("limit").and_then(|l| l.parse().ok()).unwrap_or(0),
        continue_token: p.get("continue").filter(|c| !c.is_empty()).cloned(),
    })
}

fn write_options(p: &Params) -> WriteOptions {
    WriteOptions {
        dry_run: p.get("dryRun").is_some_and(|d| d == "All"),
        field_manager: p.get("fieldManager").cloned(),
        strict: p.get("fieldValidation").is_some_and(|v| v == "Strict"),
        force: flag(p, "force"),
    }
}

/// The body of a POST, PUT or DELETE: JSON, or the protobuf kubectl's and
/// helm's typed clients send for a few kinds.
fn parse_body(content_type: &str, body: &[u8]) -> ApiResult<Value> {
    if content_type.contains("protobuf") {
        return crate::apiserver::proto::decode(body);
    }
    if content_type.contains("cbor") {
        return Err(ApiError::UnsupportedMediaType(
            "CBOR is not supported; accepted media types include: application/json".into(),
        ));
    }
    parse_json(body)
}

fn parse_json(body: &[u8]) -> ApiResult<Value> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))
}

fn parse_yaml(body: &[u8]) -> ApiResult<Value> {
    serde_yaml::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!("the apply configuration is not valid YAML: {e}"))
    })
}

fn written(w: Written, code_if_created: StatusCode) -> Response {
    let code = if w.created {
        code_if_created
    } else {
        StatusCode::OK
    };
    json_response(code, &w.object, &w.warnings)
}

fn object(
    app: &AppState,
    method: &Method,
    o: ObjectPath,
    p: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    let ty = app.lock().resolve(&o.group, &o.version, &o.plural)?;
    let t = Target {
        ty,
        version: o.version.clone(),
        namespace: o.namespace.clone(),
        name: o.name.clone(),
        subresource: o.subresource.clone(),
    };
    if let Some(sub) = &t.subresource {
        let ok = match sub.as_str() {
            "status" => t.ty.has_status,
            "scale" => t.ty.scale.is_some(),
            "log" => t.ty.key() == "pods" && method == Method::GET,
            _ => false,
        };
        if !ok {
            return Err(ApiError::NotFound {
                resource: format!("{}/{sub}", t.ty.key()),
                name: o.name.clone().unwrap_or_default(),
            });
        }
    }
    if t.subresource.as_deref() == Some("log") {
        return pod_log(app, &t, p);
    }
    let table = wants_table(headers);
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let opts = write_options(p);
    let scale = t.subresource.as_deref() == Some("scale");
    match (method.as_str(), t.name.is_some()) {
        ("GET", true) => {
            let c = app.lock();
            let obj = if scale { c.get_scale(&t)? } else { c.get(&t)? };
            if table && !scale {
                let rv = c.store.resource_version();
                return Ok(json_response(
                    StatusCode::OK,
                    &table::table(&t, &[obj], rv, None),
                    &[],
                ));
            }
            Ok(json_response(StatusCode::OK, &obj, &[]))
        }
        ("GET", false) if flag(p, "watch") => {
            let params = WatchParams {
                resource_version: p.get("resourceVersion").and_then(|r| r.parse().ok()),
                send_initial_events: flag(p, "sendInitialEvents"),
                bookmarks: flag(p, "allowWatchBookmarks"),
                timeout: Duration::from_secs(
                    p.get("timeoutSeconds")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(1800),
                ),
                list: list_options(p)?,
                as_table: table,
            };
            watch::start(app, t, params)
        }
        ("GET", false) => {
            let page = app.lock().list(&t, &list_options(p)?)?;
            if table {
                let doc = table::table(
                    &t,
                    &page.items,
                    page.resource_version,
                    page.continue_token.as_deref(),
                );
                return Ok(json_response(StatusCode::OK, &doc, &[]));
            }
            let mut meta = json!({"resourceVersion": page.resource_version.to_string()});
            if let Some(c) = &page.continue_token {
                meta["continue"] = json!(c);
                meta["remainingItemCount"] = json!(page.remaining);
            }
            let list = json!({"kind": format!("{}List", t.ty.kind), "apiVersion": t.api_version(), "metadata": meta, "items": page.items});
            Ok(json_response(StatusCode::OK, &list, &[]))
        }
        ("POST", false) => {
            let w = app
                .lock()
                .create(&t, parse_body(content_type, body)?, &opts)?;
            Ok(written(w, StatusCode::CREATED))
        }
        ("PUT", true) => {
            let body = parse_body(content_type, body)?;
            let w = if scale {
                app.lock().update_scale(&t, body, &opts)?
            } else {
                app.lock().update(&t, body, &opts)?
            };
            Ok(written(w, StatusCode::CREATED))
        }
        ("PATCH", true) => {
            let kind = PatchType::from_content_type(content_type).ok_or_else(|| {
                ApiError::UnsupportedMediaType(format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type})"))
            })?;
            let patch = if kind == PatchType::Apply {
                parse_yaml(body)?
            } else {
                parse_json(body)?
            };
            let w = app.lock().patch(&t, kind, patch, &opts)?;
            Ok(written(w, StatusCode::CREATED))
        }
        ("DELETE", true) => {
            let opts = DeleteOptions::from_body(&parse_body(content_type, body)?, opts.dry_run)?;
            let obj = app.lock().delete(&t, &opts)?;
            let code = if obj.pointer("/metadata/deletionTimestamp").is_some() {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            Ok(json_response(code, &obj, &[]))
        }
        ("DELETE", false) => {
            let opts = DeleteOptions::from_body(&parse_body(content_type, body)?, opts.dry_run)?;
            let items = app.lock().delete_collection(&t, &list_options(p)?, &opts)?;
            let list = json!({"kind": format!("{}List", t.ty.kind), "apiVersion": t.api_version(), "metadata": {}, "items": items});
            Ok(json_response(StatusCode::OK, &list, &[]))
        }
        (m, _) => Err(ApiError::MethodNotAllowed(format!(
            "{m} is not supported on this path"
        ))),
    }
}

/// `GET pods/<name>/log`: the container's output so far (no `follow`).
fn pod_log(app: &AppState, t: &Target, p: &Params) -> ApiResult<Response> {
    app.lock().get(t)?;
    let source = app.log_source().ok_or_else(|| {
        ApiError::BadRequest(
            "pod logs are only available when the workload runner runs the pods".into(),
        )
    })?;
    let ns = t.namespace.clone().unwrap_or_default();
    let name = t.name.clone().unwrap_or_default();
    let tail = p.get("tailLines").and_then(|n| n.parse().ok());
    let text = source(&ns, &name, tail)
        .map_err(|e| ApiError::BadRequest(format!("cannot read logs of {ns}/{name}: {e}")))?;
    Ok((StatusCode::OK, [("content-type", "text/plain")], text).into_response())
}

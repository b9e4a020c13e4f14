//! Create, replace, patch (merge, JSON, strategic, apply) and the scale
//! subresource, with generation, status-subresource and finalizer semantics.

use serde_json::{json, Map, Value};

use crate::apiserver::cluster::{Cluster, Target};
use crate::apiserver::error::{ApiError, ApiResult, FieldCause};
use crate::apiserver::store::ObjKey;
use crate::apiserver::{defaults, jsonpath, schema, ssa, strategic, time};

/// Query options of a write.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: validate and answer without storing.
    pub dry_run: bool,
    /// `fieldManager`.
    pub field_manager: Option<String>,
    /// `fieldValidation=Strict`: unknown fields are errors instead of warnings.
    pub strict: bool,
    /// `force` (server-side apply).
    pub force: bool,
}

/// The patch formats the emulator understands (by `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchType {
    /// The patch type of a `Content-Type` header value.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let base = ct.split(';').next().unwrap_or("").trim();
        Some(match base {
            "application/merge-patch+json" => PatchType::Merge,
            "application/json-patch+json" => PatchType::Json,
            "application/strategic-merge-patch+json" => PatchType::Strategic,
            "application/apply-patch+yaml" | "application/apply-patch+json" => PatchType::Apply,
            _ => return None,
        })
    }
}

/// A stored (or dry-run) object and the warnings to send with it.
#[derive(Debug, Clone)]
pub struct Written {
    /// The object as stored.
    pub object: Value,
    /// `Warning` headers (e.g. pruned unknown fields).
    pub warnings: Vec<String>,
    /// True when the write created the object.
    pub created: bool,
}

fn meta(o: &Value, field: &str) -> Option<String> {
    o.pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn meta_mut(o: &mut Value) -> &mut Map<String, Value> {
    if !o.get("metadata").is_some_and(Value::is_object) {
        o["metadata"] = json!({});
    }
    match o.get_mut("metadata").and_then(Value::as_object_mut) {
        Some(m) => m,
        None => unreachable!("metadata was just made an object"),
    }
}

/// Everything but metadata and status: a change here bumps `generation`.
fn spec_part(o: &Value) -> Value {
    let mut o = o.clone();
    if let Some(m) = o.as_object_mut() {
        for k in ["metadata", "status", "apiVersion", "kind"] {
            m.remove(k);
        }
    }
    o
}

fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..5].to_string()
}

impl Cluster {
    fn check_kind(t: &Target, body: &Value) -> ApiResult<()> {
        if !body.is_object() {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        }
        if let Some(k) = body.get("kind").and_then(Value::as_str) {
            if k != t.ty.kind {
                return Err(ApiError::BadRequest(format!(
                    "the kind {k:?} of the object does not match the resource {:?} (kind {:?})",
                    t.ty.plural, t.ty.kind
                )));
            }
        }
        if let Some(av) = body.get("apiVersion").and_then(Value::as_str) {
            let group = av.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
            if group != t.ty.group {
                return Err(ApiError::BadRequest(format!(
                    "the API version {av:?} of the object does not match the group {:?}",
                    t.ty.group
                )));
            }
        }
        Ok(())
    }

    /// Run the schema of a custom type; pruned fields become warnings (or an error when strict).
    fn run_schema(
        t: &Target,
        obj: &mut Value,
        old: Option<&Value>,
        opts: &WriteOptions,
    ) -> ApiResult<Vec<String>> {
        let Some(s) = t.ty.schema(&t.version) else {
            return Ok(Vec::new());
        };
        let out = schema::process(s, obj, old);
        for r in &out.skipped_rules {
            tracing::warn!(rule = %r, "validation rule not evaluated (unsupported by the emulator)");
        }
        if !out.causes.is_empty() {
            return Err(ApiError::Invalid {
                kind: t.ty.qualified_kind(),
                name: meta(obj, "name").unwrap_or_default(),
                causes: out.causes,
            });
        }
        let unknown: Vec<String> = out
            .unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        if opts.strict && !unknown.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
                t.ty.kind,
                t.version,
                t.ty.kind,
                unknown.join(", ")
            )));
        }
        Ok(unknown)
    }

    /// POST: create an object.
    pub fn create(
        &mut self,
        t: &Target,
        mut body: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Written> {
        Self::check_kind(t, &body)?;
        let m = meta_mut(&mut body);
        let name = match (
            m.get("name").and_then(Value::as_str),
            m.get("generateName").and_then(Value::as_str),
        ) {
            (Some(n), _) if !n.is_empty() => n.to_string(),
            (_, Some(g)) if !g.is_empty() => format!("{g}{}", random_suffix()),
            _ => {
                return Err(ApiError::Invalid {
                    kind: t.ty.qualified_kind(),
                    name: String::new(),
                    causes: vec![FieldCause {
                        field: "metadata.name".into(),
                        message: "Required value: name or generateName is required".into(),
                    }],
                })
            }
        };
        if t.ty.namespaced {
            let ns = t.namespace.clone().ok_or_else(|| {
                ApiError::BadRequest("a namespaced object must be created in a namespace".into())
            })?;
            if let Some(body_ns) = m.get("namespace").and_then(Value::as_str) {
                if !body_ns.is_empty() && body_ns != ns {
                    return Err(ApiError::BadRequest(
                        "the namespace of the provided object does not match the namespace sent on the request".into(),
                    ));
                }
            }
            m.insert("namespace".into(), json!(ns));
        } else {
            m.remove("namespace");
        }
        m.insert("name".into(), json!(name));
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), json!(time::now_rfc3339()));
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            m.remove(k);
        }
        if t.ty.has_status || t.ty.is_custom() {
            m.insert("generation".into(), json!(1));
        }
        let key = t.key_for(&name);
        if t.ty.namespaced {
            self.check_namespace(&key.namespace)?;
        }
        if self.store.get(&key).is_some() {
            return Err(ApiError::AlreadyExists {
                resource: t.ty.key(),
                name,
            });
        }
        if t.ty.has_status {
            if let Some(o) = body.as_object_mut() {
                o.remove("status");
            }
        }
        body["apiVersion"] = json!(t.ty.api_version(&t.ty.versions[0]));
        body["kind"] = json!(t.ty.kind);
        let warnings = Self::run_schema(t, &mut body, None, opts)?;
        defaults::on_create(&t.ty, &mut body, &mut self.alloc);
        if t.ty.key() == "services" {
            self.assign_service_addresses(&t.ty.qualified_kind(), &key, &mut body, None)?;
        }
        if t.ty.key() == "secrets" {
            defaults::secret_string_data(&mut body);
        }
        if opts.dry_run {
            return Ok(Written {
                object: Self::present(t, &body),
                warnings,
                created: true,
            });
        }
        let stored = self.store.put(key, body);
        if t.ty.key() == "customresourcedefinitions.apiextensions.k8s.io" {
            self.refresh_registry();
        }
        Ok(Written {
            object: Self::present(t, &stored),
            warnings,
            created: true,
        })
    }

    /// PUT: replace an object (or its status with `t.subresource == Some("status")`).
    pub fn update(&mut self, t: &Target, body: Value, opts: &WriteOptions) -> ApiResult<Written> {
        Self::check_kind(t, &body)?;
        let key = t.key()?;
        if let Some(n) = meta(&body, "name") {
            if n != key.name {
                return Err(ApiError::BadRequest(format!(
                    "the name of the object ({n}) does not match the name on the URL ({})",
                    key.name
                )));
            }
        }
        let old = self
            .store
            .get(&key)
            .cloned()
            .ok_or_else(|| t.not_found(&key.name))?;
        self.commit_update(t, key, old, body, opts)
    }

    /// Turn a desired object into the stored one: preconditions, subresource
    /// rules, immutable metadata, schema, generation, finalizers, no-op detection.
    pub(crate) fn commit_update(
        &mut self,
        t: &Target,
        key: ObjKey,
        old: Value,
        mut new: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Written> {
        let old_rv = meta(&old, "resourceVersion");
        if let Some(rv) = meta(&new, "resourceVersion").filter(|r| !r.is_empty()) {
            if Some(&rv) != old_rv.as_ref() {
                return Err(ApiError::Conflict(format!(
                    "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                    t.ty.key(),
                    key.name
                )));
            }
        }
        let status_only = t.subresource.as_deref() == Some("status");
        if status_only {
            let mut merged = old.clone();
            merged["status"] = new.get("status").cloned().unwrap_or(Value::Null);
            if merged["status"].is_null() {
                if let Some(m) = merged.as_object_mut() {
                    m.remove("status");
                }
            }
            if let Some(mf) = new.pointer("/metadata/managedFields").cloned() {
                meta_mut(&mut merged).insert("managedFields".into(), mf);
            }
            new = merged;
        } else if t.ty.has_status {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        // Metadata the client cannot change.
        let old_meta = old.get("metadata").cloned().unwrap_or(json!({}));
        {
            let m = meta_mut(&mut new);
            for k in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ] {
                match old_meta.get(k) {
                    Some(v) => m.insert(k.into(), v.clone()),
                    None => m.remove(k),
                };
            }
            if !m.contains_key("managedFields") {
                if let Some(mf) = old_meta.get("managedFields") {
                    m.insert("managedFields".into(), mf.clone());
                }
            }
            m.remove("resourceVersion");
        }
        if t.ty.key() == "services" && !status_only {
            self.assign_service_addresses(&t.ty.qualified_kind(), &key, &mut new, Some(&old))?;
        }
        if t.ty.key() == "secrets" {
            defaults::secret_string_data(&mut new);
        }
        new["apiVersion"] = json!(t.ty.api_version(&t.ty.versions[0]));
        new["kind"] = json!(t.ty.kind);
        let warnings = Self::run_schema(t, &mut new, Some(&old), opts)?;
        if spec_part(&new) != spec_part(&old) {
            if let Some(g) = old_meta.get("generation").and_then(Value::as_i64) {
                meta_mut(&mut new).insert("generation".into(), json!(g + 1));
            }
        }
        if t.ty.key() == "customresourcedefinitions.apiextensions.k8s.io" && !status_only {
            defaults::crd_status(&mut new);
            // Keep the old condition timestamps when nothing changed.
            if new.get("status").map(|s| &s["acceptedNames"])
                == old.get("status").map(|s| &s["acceptedNames"])
            {
                if let Some(s) = old.get("status") {
                    new["status"] = s.clone();
                }
            }
        }
        // Compare without resourceVersion.
        let mut old_cmp = old.clone();
        if let Some(m) = old_cmp.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        if new == old_cmp {
            return Ok(Written {
                object: Self::present(t, &old),
                warnings,
                created: false,
            });
        }
        if opts.dry_run {
            return Ok(Written {
                object: Self::present(t, &new),
                warnings,
                created: false,
            });
        }
        let deleting = new.pointer("/metadata/deletionTimestamp").is_some();
        let no_finalizers = new
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        let stored = if deleting && no_finalizers {
            self.store.put(key.clone(), new);
            let gone = self.store.remove(&key).unwrap_or(Value::Null);
            self.collect_garbage();
            gone
        } else {
            self.store.put(key, new)
        };
        if t.ty.key() == "customresourcedefinitions.apiextensions.k8s.io" {
            self.refresh_registry();
        }
        Ok(Written {
            object: Self::present(t, &stored),
            warnings,
            created: false,
        })
    }

    /// PATCH: apply a patch of any supported type to an object (or create it, for apply).
    pub fn patch(
        &mut self,
        t: &Target,
        kind: PatchType,
        patch: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Written> {
        if t.subresource.as_deref() == Some("scale") {
            return self.patch_scale(t, kind, patch, opts);
        }
        let key = t.key()?;
        let old = self.store.get(&key).cloned();
        let Some(old) = old else {
            if kind != PatchType::Apply {
                return Err(t.not_found(&key.name));
            }
            if t.subresource.is_some() {
                return Err(t.not_found(&key.name));
            }
            Self::check_kind(t, &patch)?;
            let mut obj = json!({"apiVersion": t.api_version(), "kind": t.ty.kind, "metadata": {"name": key.name}});
            self.server_side_apply(t, &mut obj, &patch, opts)?;
            return self.create(t, obj, opts);
        };
        let mut new = Self::present(t, &old);
        match kind {
            PatchType::Merge => json_patch::merge(&mut new, &patch),
            PatchType::Strategic => strategic::apply(&mut new, &patch),
            PatchType::Json => {
                let ops: json_patch::Patch = serde_json::from_value(patch)
                    .map_err(|e| ApiError::BadRequest(format!("invalid JSON patch: {e}")))?;
                json_patch::patch(&mut new, &ops).map_err(|e| ApiError::Invalid {
                    kind: t.ty.qualified_kind(),
                    name: key.name.clone(),
                    causes: vec![FieldCause {
                        field: String::new(),
                        message: format!("the JSON patch could not be applied: {e}"),
                    }],
                })?;
            }
            PatchType::Apply => {
                Self::check_kind(t, &patch)?;
                if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("resourceVersion");
                }
                self.server_side_apply(t, &mut new, &patch, opts)?;
            }
        }
        self.commit_update(t, key, old, new, opts)
    }

    fn server_side_apply(
        &self,
        t: &Target,
        obj: &mut Value,
        config: &Value,
        opts: &WriteOptions,
    ) -> ApiResult<()> {
        let manager = opts.field_manager.as_deref().ok_or_else(|| {
            ApiError::BadRequest(
                "PATCH, application/apply-patch+yaml, requires the fieldManager parameter".into(),
            )
        })?;
        let req = ssa::ApplyRequest {
            config,
            manager,
            force: opts.force,
            subresource: t.subresource.as_deref(),
            api_version: &t.api_version(),
        };
        ssa::apply(obj, &req).map_err(|conflicts| {
            ApiError::Conflict(format!(
                "Apply failed with {} conflict{}: {}",
                conflicts.len(),
                if conflicts.len() == 1 { "" } else { "s" },
                conflicts.join(", ")
            ))
        })
    }

    /// GET `/scale`.
    pub fn get_scale(&self, t: &Target) -> ApiResult<Value> {
        let key = t.key()?;
        let obj = self.store.get(&key).ok_or_else(|| t.not_found(&key.name))?;
        Self::scale_of(t, obj)
    }

    fn scale_of(t: &Target, obj: &Value) -> ApiResult<Value> {
        let paths = t.ty.scale.as_ref().ok_or_else(|| ApiError::NotFound {
            resource: format!("{}/scale", t.ty.key()),
            name: String::new(),
        })?;
        let spec = jsonpath::first(obj, &paths.spec_replicas)
            .cloned()
            .unwrap_or(json!(0));
        let status = jsonpath::first(obj, &paths.status_replicas)
            .cloned()
            .unwrap_or(json!(0));
        let selector = paths
            .label_selector
            .as_deref()
            .and_then(|p| jsonpath::first(obj, p))
            .map(|s| match s {
                Value::String(s) => s.clone(),
                other => other
                    .get("matchLabels")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default(),
            });
        let m = obj.get("metadata").cloned().unwrap_or(json!({}));
        let mut scale = json!({
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
                         "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]},
            "spec": {"replicas": spec},
            "status": {"replicas": status},
        });
        if let Some(s) = selector {
            scale["status"]["selector"] = json!(s);
        }
        Ok(scale)
    }

    /// PUT `/scale`.
    pub fn update_scale(
        &mut self,
        t: &Target,
        body: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Written> {
        self.write_scale(t, body, opts)
    }

    fn patch_scale(
        &mut self,
        t: &Target,
        kind: PatchType,
        patch: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Written> {
        let mut scale = self.get_scale(t)?;
        match kind {
            PatchType::Merge | PatchType::Apply => json_patch::merge(&mut scale, &patch),
            PatchType::Strategic => strategic::apply(&mut scale, &patch),
            PatchType::Json => {
                let ops: json_patch::Patch = serde_json::from_value(patch)
                    .map_err(|e| ApiError::BadRequest(format!("invalid JSON patch: {e}")))?;
                json_patch::patch(&mut scale, &ops)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            }
        }
        self.write_scale(t, scale, opts)
    }

    fn write_scale(&mut self, t: &Target, scale: Value, opts: &WriteOptions) -> ApiResult<Written> {
        let key = t.key()?;
        let old = self
            .store
            .get(&key)
            .cloned()
            .ok_or_else(|| t.not_found(&key.name))?;
        let replicas = scale
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .filter(|r| *r >= 0)
            .ok_or_else(|| ApiError::Invalid {
                kind: "Scale.autoscaling".into(),
                name: key.name.clone(),
                causes: vec![FieldCause {
                    field: "spec.replicas".into(),
                    message: "Invalid value: must be a non-negative integer".into(),
                }],
            })?;
        let paths = t.ty.scale.clone().ok_or_else(|| ApiError::NotFound {
            resource: format!("{}/scale", t.ty.key()),
            name: key.name.clone(),
        })?;
        let mut new = old.clone();
        if let Some(rv) = scale
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
        {
            meta_mut(&mut new).insert("resourceVersion".into(), json!(rv));
        }
        jsonpath::set(&mut new, &paths.spec_replicas, json!(replicas));
        let main = Target {
            subresource: None,
            ..t.clone()
        };
        let written = self.commit_update(&main, key, old, new, opts)?;
        Ok(Written {
            object: Self::scale_of(t, &written.object)?,
            ..written
        })
    }
}

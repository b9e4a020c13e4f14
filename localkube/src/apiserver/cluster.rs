//! The emulated cluster state (registry + store) and its read operations.
//! Writes live in [`crate::apiserver::write`], deletion and garbage collection in
//! [`crate::apiserver::delete`].

use serde_json::{json, Value};

use crate::apiserver::defaults::Allocator;
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::resources::{Registry, ResourceType};
use crate::apiserver::selectors::{FieldSelector, LabelSelector};
use crate::apiserver::store::{ObjKey, Store};

/// Namespaces that exist from the start.
pub const INITIAL_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// What a request addresses: a resource type at one version, maybe a
/// namespace, name and subresource.
#[derive(Debug, Clone)]
pub struct Target {
    /// The resource type.
    pub ty: ResourceType,
    /// The version in the URL.
    pub version: String,
    /// Namespace from the URL (`None` for cluster-scoped or all-namespace requests).
    pub namespace: Option<String>,
    /// Object name from the URL.
    pub name: Option<String>,
    /// `status`, `scale`, ... from the URL.
    pub subresource: Option<String>,
}

impl Target {
    /// Store key of the named object.
    pub fn key(&self) -> ApiResult<ObjKey> {
        let name = self
            .name
            .clone()
            .ok_or_else(|| ApiError::BadRequest("resource name may not be empty".into()))?;
        Ok(self.key_for(&name))
    }

    /// Store key of an object with the given name in the target's namespace.
    pub fn key_for(&self, name: &str) -> ObjKey {
        ObjKey {
            resource: self.ty.key(),
            namespace: if self.ty.namespaced {
                self.namespace.clone().unwrap_or_default()
            } else {
                String::new()
            },
            name: name.to_string(),
        }
    }

    /// `apiVersion` of responses.
    pub fn api_version(&self) -> String {
        self.ty.api_version(&self.version)
    }

    /// NotFound error for `name`.
    pub fn not_found(&self, name: &str) -> ApiError {
        ApiError::NotFound {
            resource: self.ty.key(),
            name: name.to_string(),
        }
    }
}

/// Options of a list request.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit` (0 = no limit).
    pub limit: usize,
    /// `continue` token from a previous page.
    pub continue_token: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// Matching objects.
    pub items: Vec<Value>,
    /// Token for the next page, if any.
    pub continue_token: Option<String>,
    /// Items left after this page.
    pub remaining: usize,
    /// resourceVersion of the list.
    pub resource_version: u64,
}

/// Registry, store and allocators of the emulated cluster.
#[derive(Debug)]
pub struct Cluster {
    /// Served resource types.
    pub registry: Registry,
    /// Objects.
    pub store: Store,
    /// ClusterIP allocation.
    pub alloc: Allocator,
    /// Pods are deleted gracefully (a kubelet, the workload runner, finishes
    /// the deletion); otherwise they are removed at once.
    pub graceful_pods: bool,
}

impl Default for Cluster {
    fn default() -> Self {
        Self::new()
    }
}

impl Cluster {
    /// A cluster with the initial namespaces.
    pub fn new() -> Self {
        let mut c = Cluster {
            registry: Registry::new(),
            store: Store::new(),
            alloc: Allocator::default(),
            graceful_pods: false,
        };
        for ns in INITIAL_NAMESPACES {
            let key = ObjKey {
                resource: "namespaces".into(),
                namespace: String::new(),
                name: ns.to_string(),
            };
            c.store.put(
                key,
                json!({
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": ns, "uid": uuid::Uuid::new_v4().to_string(),
                                 "creationTimestamp": crate::apiserver::time::now_rfc3339(),
                                 "labels": {"kubernetes.io/metadata.name": ns}},
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                }),
            );
        }
        c
    }

    /// Resolve a URL's group/version/plural.
    pub fn resolve(&self, group: &str, version: &str, plural: &str) -> ApiResult<ResourceType> {
        self.registry
            .find(group, version, plural)
            .cloned()
            .ok_or(ApiError::NoResource)
    }

    /// The object as served at the target's version.
    pub fn present(t: &Target, obj: &Value) -> Value {
        let mut o = obj.clone();
        if let Some(m) = o.as_object_mut() {
            m.insert("apiVersion".into(), json!(t.api_version()));
            m.insert("kind".into(), json!(t.ty.kind));
        }
        o
    }

    /// GET one object.
    pub fn get(&self, t: &Target) -> ApiResult<Value> {
        let key = t.key()?;
        self.store
            .get(&key)
            .map(|o| Self::present(t, o))
            .ok_or_else(|| t.not_found(&key.name))
    }

    /// LIST objects (sorted by namespace and name, paginated).
    pub fn list(&self, t: &Target, opts: &ListOptions) -> ApiResult<ListPage> {
        let resource = t.ty.key();
        let ns = if t.ty.namespaced {
            t.namespace.as_deref()
        } else {
            None
        };
        let after = opts.continue_token.as_deref().unwrap_or("");
        let all: Vec<(&ObjKey, &Value)> = self
            .store
            .list(&resource, ns)
            .filter(|(k, _)| {
                after.is_empty() || format!("{}/{}", k.namespace, k.name).as_str() > after
            })
            .filter(|(_, o)| opts.labels.matches(o) && opts.fields.matches(o))
            .collect();
        let take = if opts.limit > 0 {
            opts.limit.min(all.len())
        } else {
            all.len()
        };
        let remaining = all.len() - take;
        let continue_token = (remaining > 0 && take > 0)
            .then(|| format!("{}/{}", all[take - 1].0.namespace, all[take - 1].0.name));
        Ok(ListPage {
            items: all[..take]
                .iter()
                .map(|(_, o)| Self::present(t, o))
                .collect(),
            continue_token,
            remaining,
            resource_version: self.store.resource_version(),
        })
    }

    /// Does the namespace exist and accept new objects?
    pub fn check_namespace(&self, ns: &str) -> ApiResult<()> {
        let key = ObjKey {
            resource: "namespaces".into(),
            namespace: String::new(),
            name: ns.to_string(),
        };
        match self.store.get(&key) {
            None => Err(ApiError::NotFound {
                resource: "namespaces".into(),
                name: ns.to_string(),
            }),
            Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
                Err(ApiError::Forbidden(format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                )))
            }
            Some(_) => Ok(()),
        }
    }

    /// Rebuild the registry after a CRD changed.
    pub fn refresh_registry(&mut self) {
        let crds: Vec<Value> = self
            .store
            .list("customresourcedefinitions.apiextensions.k8s.io", None)
            .filter(|(_, o)| o.pointer("/metadata/deletionTimestamp").is_none())
            .map(|(_, o)| o.clone())
            .collect();
        self.registry.rebuild(crds.iter());
    }
}

//! Resource types the emulator serves: the built-in ones and those registered
//! by CustomResourceDefinitions.

use serde_json::Value;

/// Where the scale subresource finds replicas in an object.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalePaths {
    /// JSON path of the desired replicas, e.g. `.spec.replicas`.
    pub spec_replicas: String,
    /// JSON path of the observed replicas, e.g. `.status.replicas`.
    pub status_replicas: String,
    /// JSON path of the label selector string, if any.
    pub label_selector: Option<String>,
}

/// One `additionalPrinterColumns` entry (or a built-in column).
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// OpenAPI type: `string`, `integer`, `number`, `boolean`, `date`.
    pub type_: String,
    /// JSON path evaluated against the object.
    pub json_path: String,
    /// Description shown by `kubectl explain`-style tools.
    pub description: String,
    /// 0 = always shown, >0 = only with `-o wide`.
    pub priority: i64,
}

/// Everything the emulator knows about one resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// API group (`""` for core).
    pub group: String,
    /// Versions served; the first one is the storage version.
    pub versions: Vec<String>,
    /// Plural resource name used in URLs.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names (`ck`, `sts`, ...).
    pub short_names: Vec<String>,
    /// Categories (`all`, ...).
    pub categories: Vec<String>,
    /// Has a `/status` subresource (spec and status are written separately).
    pub has_status: bool,
    /// The `/scale` subresource, if any.
    pub scale: Option<ScalePaths>,
    /// OpenAPI v3 schema per version (custom resources only).
    pub schemas: Vec<(String, Value)>,
    /// Printer columns per version (custom resources only).
    pub columns: Vec<(String, Vec<PrinterColumn>)>,
}

impl ResourceType {
    /// Key used in the store: `plural` or `plural.group`.
    pub fn key(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `apiVersion` for one served version.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{}", self.group, version)
        }
    }

    /// `Kind.group` as used in `Invalid` errors.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// Schema of a version, if it is a custom resource.
    pub fn schema(&self, version: &str) -> Option<&Value> {
        self.schemas
            .iter()
            .find(|(v, _)| v == version)
            .map(|(_, s)| s)
    }

    /// Printer columns of a version, if it is a custom resource that has them.
    pub fn printer_columns(&self, version: &str) -> Option<&[PrinterColumn]> {
        self.columns
            .iter()
            .find(|(v, _)| v == version)
            .map(|(_, c)| c.as_slice())
    }

    /// True for resources defined by a CRD.
    pub fn is_custom(&self) -> bool {
        !self.schemas.is_empty()
    }
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    status: bool,
    scale: bool,
}

const fn b(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
) -> Builtin {
    Builtin {
        group,
        version,
        plural,
        kind,
        namespaced,
        short,
        status: false,
        scale: false,
    }
}

const fn with_status(mut x: Builtin) -> Builtin {
    x.status = true;
    x
}

const fn with_scale(mut x: Builtin) -> Builtin {
    x.status = true;
    x.scale = true;
    x
}

const BUILTINS: &[Builtin] = &[
    with_status(b("", "v1", "namespaces", "Namespace", false, &["ns"])),
    b("", "v1", "configmaps", "ConfigMap", true, &["cm"]),
    b("", "v1", "secrets", "Secret", true, &[]),
    b("", "v1", "serviceaccounts", "ServiceAccount", true, &["sa"]),
    with_status(b("", "v1", "services", "Service", true, &["svc"])),
    with_status(b("", "v1", "pods", "Pod", true, &["po"])),
    with_status(b(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
    )),
    with_status(b(
        "",
        "v1",
        "persistentvolumes",
        "PersistentVolume",
        false,
        &["pv"],
    )),
    b("", "v1", "events", "Event", true, &["ev"]),
    b("", "v1", "endpoints", "Endpoints", true, &["ep"]),
    with_status(b("", "v1", "nodes", "Node", false, &["no"])),
    with_scale(b(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        true,
        &["sts"],
    )),
    with_scale(b(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        true,
        &["deploy"],
    )),
    with_scale(b("apps", "v1", "replicasets", "ReplicaSet", true, &["rs"])),
    b(
        "apps",
        "v1",
        "controllerrevisions",
        "ControllerRevision",
        true,
        &[],
    ),
    with_status(b(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
        &["pdb"],
    )),
    b("coordination.k8s.io", "v1", "leases", "Lease", true, &[]),
    b("events.k8s.io", "v1", "events", "Event", true, &["ev"]),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        false,
        &[],
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
        &[],
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "Role",
        true,
        &[],
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        true,
        &[],
    ),
    with_status(b(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
    )),
    b(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
        &["netpol"],
    ),
    b(
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "StorageClass",
        false,
        &["sc"],
    ),
];

/// The built-in resource types.
pub fn builtins() -> Vec<ResourceType> {
    BUILTINS
        .iter()
        .map(|x| ResourceType {
            group: x.group.to_string(),
            versions: vec![x.version.to_string()],
            plural: x.plural.to_string(),
            singular: x.kind.to_lowercase(),
            kind: x.kind.to_string(),
            namespaced: x.namespaced,
            short_names: x.short.iter().map(|s| s.to_string()).collect(),
            categories: if ["pods", "services", "statefulsets", "deployments"].contains(&x.plural) {
                vec!["all".to_string()]
            } else {
                Vec::new()
            },
            has_status: x.status,
            scale: x.scale.then(|| ScalePaths {
                spec_replicas: ".spec.replicas".to_string(),
                status_replicas: ".status.replicas".to_string(),
                label_selector: Some(".spec.selector".to_string()),
            }),
            schemas: Vec::new(),
            columns: Vec::new(),
        })
        .collect()
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

fn strings_at(v: &Value, ptr: &str) -> Vec<String> {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The resource type a CustomResourceDefinition object defines, or a message
/// explaining why it is not usable.
pub fn from_crd(crd: &Value) -> Result<ResourceType, String> {
    let group = str_at(crd, "/spec/group");
    let plural = str_at(crd, "/spec/names/plural");
    let kind = str_at(crd, "/spec/names/kind");
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return Err("spec.group, spec.names.plural and spec.names.kind are required".into());
    }
    let mut versions = Vec::new();
    let mut schemas = Vec::new();
    let mut columns = Vec::new();
    let mut has_status = false;
    let mut scale = None;
    let list = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .ok_or("spec.versions is required")?;
    // The storage version goes first.
    let mut ordered: Vec<&Value> = list.iter().collect();
    ordered.sort_by_key(|v| !v.get("storage").and_then(Value::as_bool).unwrap_or(false));
    for v in ordered {
        if !v.get("served").and_then(Value::as_bool).unwrap_or(true) {
            continue;
        }
        let name = str_at(v, "/name").to_string();
        if name.is_empty() {
            return Err("spec.versions[].name is required".into());
        }
        let schema = v
            .pointer("/schema/openAPIV3Schema")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
        schemas.push((name.clone(), schema));
        let cols = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .map(|c| PrinterColumn {
                        name: str_at(c, "/name").to_string(),
                        type_: str_at(c, "/type").to_string(),
                        json_path: str_at(c, "/jsonPath").to_string(),
                        description: str_at(c, "/description").to_string(),
                        priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                    })
                    .collect::<Vec<_>>()
            });
        if let Some(cols) = cols {
            columns.push((name.clone(), cols));
        }
        if let Some(sub) = v.get("subresources") {
            has_status |= sub.get("status").is_some();
            if let Some(s) = sub.get("scale") {
                scale = Some(ScalePaths {
                    spec_replicas: str_at(s, "/specReplicasPath").to_string(),
                    status_replicas: str_at(s, "/statusReplicasPath").to_string(),
                    label_selector: s
                        .get("labelSelectorPath")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                });
            }
        }
        versions.push(name);
    }
    if versions.is_empty() {
        return Err("no served version".into());
    }
    let singular = match str_at(crd, "/spec/names/singular") {
        "" => kind.to_lowercase(),
        s => s.to_string(),
    };
    Ok(ResourceType {
        group: group.to_string(),
        versions,
        plural: plural.to_string(),
        singular,
        kind: kind.to_string(),
        namespaced: str_at(crd, "/spec/scope") != "Cluster",
        short_names: strings_at(crd, "/spec/names/shortNames"),
        categories: strings_at(crd, "/spec/names/categories"),
        has_status,
        scale,
        schemas,
        columns,
    })
}

/// All resource types currently served: built-ins plus every stored CRD.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    types: Vec<ResourceType>,
}

impl Registry {
    /// A registry with the built-in types only.
    pub fn new() -> Self {
        Registry { types: builtins() }
    }

    /// Rebuild the custom part from the given CRD objects (invalid ones are skipped).
    pub fn rebuild<'a>(&mut self, crds: impl Iterator<Item = &'a Value>) {
        let mut types = builtins();
        for crd in crds {
            if let Ok(t) = from_crd(crd) {
                types.retain(|x| x.key() != t.key());
                types.push(t);
            }
        }
        self.types = types;
    }

    /// Every type.
    pub fn all(&self) -> &[ResourceType] {
        &self.types
    }

    /// The type served at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types.iter().find(|t| {
            t.group == group && t.plural == plural && t.versions.iter().any(|v| v == version)
        })
    }

    /// The type with the given store key.
    pub fn by_key(&self, key: &str) -> Option<&ResourceType> {
        self.types.iter().find(|t| t.key() == key)
    }

    /// The type with this `apiVersion` and kind (used to resolve ownerReferences).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<&ResourceType> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.types
            .iter()
            .find(|t| t.group == group && t.kind == kind && t.versions.iter().any(|v| v == version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_becomes_a_type() {
        let crd: Value = serde_yaml::from_str(
            r#"
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}, scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}}
    additionalPrinterColumns:
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    schema: {openAPIV3Schema: {type: object}}
"#,
        )
        .unwrap();
        let t = from_crd(&crd).unwrap();
        assert_eq!(t.key(), "widgets.example.com");
        assert!(t.has_status && t.scale.is_some() && t.namespaced);
        assert_eq!(t.printer_columns("v1").unwrap()[0].name, "Replicas");
        let mut r = Registry::new();
        r.rebuild([crd].iter());
        assert!(r.find("example.com", "v1", "widgets").is_some());
        assert!(r.by_kind("apps/v1", "StatefulSet").is_some());
    }
}

//! Parse request paths into what they address.

/// What a URL path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`.
    Version,
    /// `/healthz`, `/readyz`, `/livez`.
    Health,
    /// `/api`.
    CoreVersions,
    /// `/apis`.
    Groups,
    /// `/apis/<group>`.
    Group(String),
    /// `/api/v1`, `/apis/<group>/<version>`.
    Resources {
        /// Group (`""` for core).
        group: String,
        /// Version.
        version: String,
    },
    /// `/openapi/v2`.
    OpenApiV2,
    /// `/openapi/v3`.
    OpenApiV3,
    /// `/openapi/v3/<group-version path>`.
    OpenApiV3Doc(String),
    /// A resource, collection or subresource.
    Object(ObjectPath),
    /// Anything else.
    Unknown,
}

/// The parts of a resource URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    /// Group (`""` for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Namespace, when the URL has `/namespaces/<ns>/<plural>`.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub plural: String,
    /// Object name.
    pub name: Option<String>,
    /// Subresource.
    pub subresource: Option<String>,
}

/// Parse a request path.
pub fn parse(path: &str) -> Route {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "readyz" | "livez", ..] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["apis", g] => Route::Group(g.to_string()),
        ["api", v] => Route::Resources {
            group: String::new(),
            version: v.to_string(),
        },
        ["apis", g, v] => Route::Resources {
            group: g.to_string(),
            version: v.to_string(),
        },
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3,
        ["openapi", "v3", rest @ ..] => Route::OpenApiV3Doc(rest.join("/")),
        ["api", v, rest @ ..] => object("", v, rest),
        ["apis", g, v, rest @ ..] => object(g, v, rest),
        _ => Route::Unknown,
    }
}

fn object(group: &str, version: &str, rest: &[&str]) -> Route {
    let (namespace, rest) = match rest {
        // /namespaces/<ns>/<plural>/... but not /namespaces/<ns>/status|finalize
        ["namespaces", ns, plural, tail @ ..]
            if !(group.is_empty()
                && tail.is_empty()
                && (*plural == "status" || *plural == "finalize")) =>
        {
            (Some(ns.to_string()), {
                let mut v = vec![*plural];
                v.extend_from_slice(tail);
                v
            })
        }
        _ => (None, rest.to_vec()),
    };
    match rest.as_slice() {
        [plural] => Route::Object(ObjectPath {
            group: group.into(),
            version: version.into(),
            namespace,
            plural: plural.to_string(),
            name: None,
            subresource: None,
        }),
        [plural, name] => Route::Object(ObjectPath {
            group: group.into(),
            version: version.into(),
            namespace,
            plural: plural.to_string(),
            name: Some(name.to_string()),
            subresource: None,
        }),
        [plural, name, sub] => Route::Object(ObjectPath {
            group: group.into(),
            version: version.into(),
            namespace,
            plural: plural.to_string(),
            name: Some(name.to_string()),
            subresource: Some(sub.to_string()),
        }),
        _ => Route::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(p: &str) -> ObjectPath {
        match parse(p) {
            Route::Object(o) => o,
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn parses_paths() {
        assert_eq!(parse("/apis"), Route::Groups);
        assert_eq!(
            parse("/apis/apps/v1"),
            Route::Resources {
                group: "apps".into(),
                version: "v1".into()
            }
        );
        let o = obj("/apis/chronik.io/v1alpha1/namespaces/ns1/chronikclusters/c/scale");
        assert_eq!(
            (
                o.namespace.as_deref(),
                o.plural.as_str(),
                o.name.as_deref(),
                o.subresource.as_deref()
            ),
            (Some("ns1"), "chronikclusters", Some("c"), Some("scale"))
        );
        let o = obj("/api/v1/namespaces/ns1");
        assert_eq!(
            (o.namespace, o.plural.as_str(), o.name.as_deref()),
            (None, "namespaces", Some("ns1"))
        );
        let o = obj("/api/v1/namespaces/ns1/status");
        assert_eq!(
            (o.plural.as_str(), o.subresource.as_deref()),
            ("namespaces", Some("status"))
        );
        let o = obj("/api/v1/namespaces/ns1/pods");
        assert_eq!((o.namespace.as_deref(), o.name), (Some("ns1"), None));
        let o = obj("/api/v1/pods");
        assert_eq!((o.namespace, o.plural.as_str()), (None, "pods"));
    }
}

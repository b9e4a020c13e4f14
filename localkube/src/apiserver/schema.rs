//! Structural-schema processing of custom objects: defaulting, pruning of
//! unknown fields (or rejecting them with `fieldValidation=Strict`), OpenAPI
//! v3 validation and `x-kubernetes-validations` rules (see [`crate::apiserver::cel`]).
//!
//! Supported keywords: `type`, `properties`, `additionalProperties`,
//! `items`, `required`, `enum`, `default`, `nullable`, `minimum`, `maximum`,
//! `exclusiveMinimum`, `exclusiveMaximum`, `minLength`, `maxLength`,
//! `pattern`, `minItems`, `maxItems`, `x-kubernetes-int-or-string`,
//! `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-validations`
//! (`rule`, `message`). Not supported: `format` checks, `anyOf`/`oneOf`/
//! `allOf`/`not`, `messageExpression`, `uniqueItems`, list-type set/map
//! uniqueness, and CEL cost limits.

use serde_json::{Map, Value};

use crate::apiserver::cel::{self, CelError};
use crate::apiserver::error::FieldCause;

/// Result of processing one object.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Validation failures.
    pub causes: Vec<FieldCause>,
    /// Unknown fields (pruned unless strict).
    pub unknown: Vec<String>,
    /// Rules that could not be evaluated and were skipped.
    pub skipped_rules: Vec<String>,
}

/// Default, prune and validate `object` (a whole custom object) against the
/// version's `openAPIV3Schema`. `old` is the stored object on updates.
pub fn process(schema: &Value, object: &mut Value, old: Option<&Value>) -> Outcome {
    let mut out = Outcome::default();
    let Some(obj) = object.as_object_mut() else {
        out.causes.push(FieldCause {
            field: String::new(),
            message: "object must be a JSON map".into(),
        });
        return out;
    };
    let props = schema.get("properties").and_then(Value::as_object);
    let keys: Vec<String> = obj.keys().cloned().collect();
    for k in keys {
        if k == "apiVersion" || k == "kind" || k == "metadata" {
            continue;
        }
        let old_child = old.and_then(|o| o.get(&k));
        match props.and_then(|p| p.get(&k)) {
            Some(s) => {
                if let Some(v) = obj.get_mut(&k) {
                    walk(s, v, old_child, &k, &mut out);
                }
            }
            None if preserves(schema) => {}
            None => {
                obj.remove(&k);
                out.unknown.push(k);
            }
        }
    }
    apply_defaults(schema, obj, "", &mut out);
    check_required(schema, obj, "", &mut out);
    run_rules(schema, object, old, "", &mut out);
    out
}

fn preserves(s: &Value) -> bool {
    s.get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

fn join(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_string()
    } else {
        format!("{path}.{k}")
    }
}

fn invalid(out: &mut Outcome, path: &str, value: &Value, msg: String) {
    out.causes.push(FieldCause {
        field: path.to_string(),
        message: format!("Invalid value: {value}: {msg}"),
    });
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(s: &Value, v: &mut Value, old: Option<&Value>, path: &str, out: &mut Outcome) {
    if v.is_null() {
        if s.get("nullable").and_then(Value::as_bool) != Some(true) && !preserves(s) {
            invalid(
                out,
                path,
                v,
                format!(
                    "{path} in body must be of type {}",
                    s.get("type").and_then(Value::as_str).unwrap_or("object")
                ),
            );
        }
        return;
    }
    let actual = type_name(v);
    let int_or_string = s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    if int_or_string {
        if actual != "integer" && actual != "string" {
            invalid(
                out,
                path,
                v,
                format!("{path} in body must be of type int-or-string: {actual:?}"),
            );
            return;
        }
    } else if let Some(want) = s.get("type").and_then(Value::as_str) {
        let ok = want == actual || (want == "number" && actual == "integer");
        if !ok {
            out.causes.push(FieldCause {
                field: path.to_string(),
                message: format!("Invalid value: \"{actual}\": {path} in body must be of type {want}: \"{actual}\""),
            });
            return;
        }
    }
    check_scalar(s, v, path, out);
    match v {
        Value::Object(m) => {
            let props = s.get("properties").and_then(Value::as_object);
            let additional = s.get("additionalProperties");
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let child_path = join(path, &k);
                let old_child = old.and_then(|o| o.get(&k));
                let child_schema = props
                    .and_then(|p| p.get(&k))
                    .or_else(|| additional.filter(|a| a.is_object()));
                match child_schema {
                    Some(cs) => {
                        if let Some(child) = m.get_mut(&k) {
                            walk(cs, child, old_child, &child_path, out);
                        }
                    }
                    None if preserves(s) || additional.and_then(Value::as_bool) == Some(true) => {}
                    None => {
                        m.remove(&k);
                        out.unknown.push(child_path);
                    }
                }
            }
            apply_defaults(s, m, path, out);
            check_required(s, m, path, out);
        }
        Value::Array(items) => {
            if let Some(n) = s.get("maxItems").and_then(Value::as_u64) {
                if items.len() as u64 > n {
                    out.causes.push(FieldCause {
                        field: path.into(),
                        message: format!("Too many: {}: must have at most {n} items", items.len()),
                    });
                }
            }
            if let Some(n) = s.get("minItems").and_then(Value::as_u64) {
                if (items.len() as u64) < n {
                    out.causes.push(FieldCause {
                        field: path.into(),
                        message: format!(
                            "Invalid value: {}: {path} in body should have at least {n} items",
                            items.len()
                        ),
                    });
                }
            }
            if let Some(is) = s.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(is, item, None, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
    run_rules(s, v, old, path, out);
}

fn check_scalar(s: &Value, v: &Value, path: &str, out: &mut Outcome) {
    if let Some(options) = s.get("enum").and_then(Value::as_array) {
        if !options.contains(v) {
            let list: Vec<String> = options.iter().map(Value::to_string).collect();
            out.causes.push(FieldCause {
                field: path.into(),
                message: format!(
                    "Unsupported value: {v}: supported values: {}",
                    list.join(", ")
                ),
            });
        }
    }
    if let Some(x) = v.as_f64() {
        let excl_min = s.get("exclusiveMinimum").and_then(Value::as_bool) == Some(true);
        let excl_max = s.get("exclusiveMaximum").and_then(Value::as_bool) == Some(true);
        if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
            if x < min || (excl_min && x == min) {
                let rel = if excl_min {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                invalid(
                    out,
                    path,
                    v,
                    format!("{path} in body should be {rel} {}", s["minimum"]),
                );
            }
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
            if x > max || (excl_max && x == max) {
                let rel = if excl_max {
                    "less than"
                } else {
                    "less than or equal to"
                };
                invalid(
                    out,
                    path,
                    v,
                    format!("{path} in body should be {rel} {}", s["maximum"]),
                );
            }
        }
    }
    if let Some(text) = v.as_str() {
        let len = text.chars().count() as u64;
        if let Some(n) = s.get("maxLength").and_then(Value::as_u64) {
            if len > n {
                out.causes.push(FieldCause {
                    field: path.into(),
                    message: format!("Too long: may not be more than {n} bytes"),
                });
            }
        }
        if let Some(n) = s.get("minLength").and_then(Value::as_u64) {
            if len < n {
                invalid(
                    out,
                    path,
                    v,
                    format!("{path} in body should be at least {n} chars long"),
                );
            }
        }
        if let Some(p) = s.get("pattern").and_then(Value::as_str) {
            match regex::Regex::new(p) {
                Ok(re) if !re.is_match(text) => {
                    invalid(out, path, v, format!("{path} in body should match '{p}'"))
                }
                Ok(_) => {}
                Err(_) => out
                    .skipped_rules
                    .push(format!("{path}: pattern {p:?} not supported")),
            }
        }
    }
}

fn apply_defaults(s: &Value, m: &mut Map<String, Value>, path: &str, out: &mut Outcome) {
    let Some(props) = s.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (k, ps) in props {
        if m.contains_key(k) {
            continue;
        }
        if let Some(d) = ps.get("default") {
            let mut d = d.clone();
            walk(ps, &mut d, None, &join(path, k), out);
            m.insert(k.clone(), d);
        }
    }
}

fn check_required(s: &Value, m: &Map<String, Value>, path: &str, out: &mut Outcome) {
    for r in s
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(r) = r.as_str() {
            if !m.contains_key(r) {
                out.causes.push(FieldCause {
                    field: join(path, r),
                    message: "Required value".into(),
                });
            }
        }
    }
}

fn run_rules(s: &Value, v: &Value, old: Option<&Value>, path: &str, out: &mut Outcome) {
    let Some(rules) = s.get("x-kubernetes-validations").and_then(Value::as_array) else {
        return;
    };
    for r in rules {
        let Some(rule) = r.get("rule").and_then(Value::as_str) else {
            continue;
        };
        if cel::is_transition_rule(rule) && old.is_none() {
            continue;
        }
        let message = r
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("failed rule: {rule}"));
        let field = if path.is_empty() { "<root>" } else { path };
        match cel::eval_rule(rule, v, old) {
            Ok(true) => {}
            Ok(false) => out.causes.push(FieldCause {
                field: field.to_string(),
                message: format!("Invalid value: \"{}\": {message}", type_name(v)),
            }),
            Err(CelError::Eval(e)) => out.causes.push(FieldCause {
                field: field.to_string(),
                message: format!(
                    "Invalid value: \"{}\": rule {rule:?} failed to evaluate: {e}",
                    type_name(v)
                ),
            }),
            Err(CelError::Unsupported(e)) => {
                out.skipped_rules.push(format!("{field}: {rule:?} ({e})"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["image"], "properties": {
            "replicas": {"type": "integer", "default": 3, "minimum": 1,
                         "x-kubernetes-validations": [{"rule": "self % 2 == 1", "message": "replicas must be odd"}]},
            "image": {"type": "string"},
            "policy": {"type": "string", "enum": ["A", "B"], "default": "A"},
            "size": {"x-kubernetes-int-or-string": true, "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]},
            "config": {"type": "object", "additionalProperties": {"type": "string"}},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}})
    }

    #[test]
    fn defaults_prunes_and_validates() {
        let mut o = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
            "spec": {"image": "i", "bogus": 1, "config": {"k": "v"}, "extra": {"any": [1]}}});
        let out = process(&schema(), &mut o, None);
        assert!(out.causes.is_empty(), "{:?}", out.causes);
        assert_eq!(out.unknown, ["spec.bogus"]);
        assert_eq!(o["spec"]["replicas"], 3);
        assert_eq!(o["spec"]["policy"], "A");
        assert_eq!(o["spec"]["extra"], json!({"any": [1]}));
    }

    #[test]
    fn reports_schema_and_rule_failures() {
        let mut o = json!({"spec": {"replicas": 2, "policy": "C", "config": {"k": 1}}});
        let out = process(&schema(), &mut o, None);
        let text: Vec<String> = out
            .causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert!(
            text.iter()
                .any(|t| t.contains("spec.replicas") && t.contains("replicas must be odd")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("spec.policy: Unsupported value")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("spec.config.k: Invalid value")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t == "spec.image: Required value"),
            "{text:?}"
        );
        let old = json!({"spec": {"image": "i", "size": "1Gi"}});
        let mut o = json!({"spec": {"image": "i", "size": "2Gi"}});
        let out = process(&schema(), &mut o, Some(&old));
        assert_eq!(out.causes.len(), 1);
        assert!(out.causes[0].message.contains("immutable"));
    }
}

//! The small JSONPath subset used by printer columns and the scale
//! subresource: `.a.b`, `.a[0]`, `.a[*].b`, `.a[?(@.type=="Ready")].status`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    Filter(String, String),
}

fn parse(path: &str) -> Option<Vec<Step>> {
    let p = path.trim();
    let p = p
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(p);
    let p = p.strip_prefix('$').unwrap_or(p);
    let mut steps = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                steps.push(Step::Field(r[..end].to_string()));
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            rest = &r[end + 1..];
            if inner == "*" {
                steps.push(Step::All);
            } else if let Ok(i) = inner.parse::<usize>() {
                steps.push(Step::Index(i));
            } else if let Some(f) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (field, value) = f.split_once("==")?;
                let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
                steps.push(Step::Filter(field.trim().to_string(), value.to_string()));
            } else {
                let name = inner.trim_matches(|c| c == '\'' || c == '"');
                steps.push(Step::Field(name.to_string()));
            }
        } else {
            return None;
        }
    }
    Some(steps)
}

/// Every value the path selects (empty when the path is invalid or absent).
pub fn select<'a>(object: &'a Value, path: &str) -> Vec<&'a Value> {
    let Some(steps) = parse(path) else {
        return Vec::new();
    };
    let mut cur = vec![object];
    for step in &steps {
        let mut next = Vec::new();
        for v in cur {
            match step {
                Step::Field(f) => next.extend(v.get(f.as_str())),
                Step::Index(i) => next.extend(v.get(*i)),
                Step::All => next.extend(v.as_array().into_iter().flatten()),
                Step::Filter(field, want) => {
                    next.extend(v.as_array().into_iter().flatten().filter(|item| {
                        match item.get(field.as_str()) {
                            Some(Value::String(s)) => s == want,
                            Some(other) => {
                                let text = other.to_string();
                                text == *want
                            }
                            None => false,
                        }
                    }))
                }
            }
        }
        cur = next;
    }
    cur
}

/// The first selected value.
pub fn first<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    select(object, path).into_iter().next()
}

/// Set the value at a path of plain fields (`.spec.replicas`), creating maps on the way.
pub fn set(object: &mut Value, path: &str, value: Value) -> bool {
    let Some(steps) = parse(path) else {
        return false;
    };
    let mut cur = object;
    for (i, step) in steps.iter().enumerate() {
        let Step::Field(f) = step else {
            return false;
        };
        let Some(map) = cur.as_object_mut() else {
            return false;
        };
        if i + 1 == steps.len() {
            map.insert(f.clone(), value);
            return true;
        }
        cur = map
            .entry(f.clone())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_fields_indexes_and_filters() {
        let o = json!({"spec": {"replicas": 3}, "status": {"conditions": [
            {"type": "Progressing", "status": "False"}, {"type": "Available", "status": "True"}]}});
        assert_eq!(first(&o, ".spec.replicas"), Some(&json!(3)));
        assert_eq!(
            first(&o, "{.status.conditions[1].type}"),
            Some(&json!("Available"))
        );
        assert_eq!(
            first(&o, ".status.conditions[?(@.type==\"Available\")].status"),
            Some(&json!("True"))
        );
        assert_eq!(select(&o, ".status.conditions[*].type").len(), 2);
        assert!(first(&o, ".status.leader.pod").is_none());
        let mut o = json!({});
        assert!(set(&mut o, ".spec.replicas", json!(5)));
        assert_eq!(o, json!({"spec": {"replicas": 5}}));
    }
}

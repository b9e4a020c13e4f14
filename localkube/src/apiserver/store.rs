//! In-memory object store: objects as JSON, one global monotonic
//! resourceVersion, a bounded change history and a broadcast of changes for
//! watches.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

/// How many changes are kept for watches that resume from a resourceVersion.
const HISTORY: usize = 8192;

/// Identity of a stored object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjKey {
    /// Resource key (`plural` or `plural.group`).
    pub resource: String,
    /// Namespace, `""` for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// Watch event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl ChangeType {
    /// Wire name (`ADDED`, `MODIFIED`, `DELETED`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug, Clone)]
pub struct Change {
    /// resourceVersion of the change.
    pub rv: u64,
    /// What happened.
    pub kind: ChangeType,
    /// Which object.
    pub key: ObjKey,
    /// The object after the change (before it, for deletions, with the new rv).
    pub object: Value,
    /// The object before a modification (for selector transitions in watches).
    pub previous: Option<Value>,
}

/// The object store.
#[derive(Debug)]
pub struct Store {
    objects: BTreeMap<ObjKey, Value>,
    rv: u64,
    history: VecDeque<Arc<Change>>,
    tx: broadcast::Sender<Arc<Change>>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(HISTORY);
        Store {
            objects: BTreeMap::new(),
            rv: 1,
            history: VecDeque::new(),
            tx,
        }
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// The object at `key`.
    pub fn get(&self, key: &ObjKey) -> Option<&Value> {
        self.objects.get(key)
    }

    /// Objects of one resource, optionally in one namespace, sorted by namespace and name.
    pub fn list<'a>(
        &'a self,
        resource: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjKey, &'a Value)> + 'a {
        self.objects.iter().filter(move |(k, _)| {
            k.resource == resource && namespace.is_none_or(|n| k.namespace == n)
        })
    }

    /// Every object (for garbage collection).
    pub fn iter(&self) -> impl Iterator<Item = (&ObjKey, &Value)> {
        self.objects.iter()
    }

    /// Store `object` at `key` with a new resourceVersion, emitting ADDED or MODIFIED.
    pub fn put(&mut self, key: ObjKey, mut object: Value) -> Value {
        self.rv += 1;
        set_rv(&mut object, self.rv);
        let kind = if self.objects.contains_key(&key) {
            ChangeType::Modified
        } else {
            ChangeType::Added
        };
        let previous = self.objects.insert(key.clone(), object.clone());
        self.emit(kind, key, object.clone(), previous);
        object
    }

    /// Remove the object at `key`, emitting DELETED; returns it.
    pub fn remove(&mut self, key: &ObjKey) -> Option<Value> {
        let mut object = self.objects.remove(key)?;
        self.rv += 1;
        set_rv(&mut object, self.rv);
        self.emit(ChangeType::Deleted, key.clone(), object.clone(), None);
        Some(object)
    }

    fn emit(&mut self, kind: ChangeType, key: ObjKey, object: Value, previous: Option<Value>) {
        let change = Arc::new(Change {
            rv: self.rv,
            kind,
            key,
            object,
            previous,
        });
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(change.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(change);
    }

    /// Changes after `rv`, or `Err(oldest)` when `rv` is older than the history.
    pub fn changes_since(&self, rv: u64) -> Result<Vec<Arc<Change>>, u64> {
        let oldest = self.history.front().map(|c| c.rv).unwrap_or(self.rv + 1);
        if rv + 1 < oldest && rv < self.rv {
            return Err(oldest);
        }
        Ok(self.history.iter().filter(|c| c.rv > rv).cloned().collect())
    }

    /// A receiver of every future change.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }
}

fn set_rv(object: &mut Value, rv: u64) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str) -> ObjKey {
        ObjKey {
            resource: "configmaps".into(),
            namespace: "default".into(),
            name: name.into(),
        }
    }

    #[test]
    fn versions_are_monotonic_and_history_replays() {
        let mut s = Store::new();
        let start = s.resource_version();
        let a = s.put(key("a"), json!({"metadata": {"name": "a"}}));
        let b = s.put(key("a"), json!({"metadata": {"name": "a"}, "data": {}}));
        assert!(a["metadata"]["resourceVersion"] != b["metadata"]["resourceVersion"]);
        s.remove(&key("a"));
        let kinds: Vec<ChangeType> = s
            .changes_since(start)
            .unwrap()
            .iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(
            kinds,
            [ChangeType::Added, ChangeType::Modified, ChangeType::Deleted]
        );
        assert_eq!(s.list("configmaps", None).count(), 0);
    }
}

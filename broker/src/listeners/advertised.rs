//! `--advertised-listeners-file`: lines `NODE_ID LISTENER HOST:PORT` (the
//! operator writes NodePort and LoadBalancer addresses there). A line for
//! this node overrides that listener's advertised address; the file is
//! re-read when it changes and the broker registers the new addresses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::watch;

/// How often the file is checked for changes.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// This node's overrides in `text`; malformed lines are skipped with a warning.
pub fn overrides(text: &str, node_id: u64) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let parsed = match fields.as_slice() {
            [id, name, addr]
                if addr
                    .rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok()) =>
            {
                id.parse::<u64>().ok().map(|id| (id, name, addr))
            }
            _ => None,
        };
        match parsed {
            Some((id, name, addr)) if id == node_id => {
                out.insert((*name).to_string(), (*addr).to_string());
            }
            Some(_) => {}
            None => tracing::warn!(
                line = i + 1,
                "advertised listeners file: expected NODE_ID LISTENER HOST:PORT"
            ),
        }
    }
    out
}

fn read(path: &Path, node_id: u64) -> BTreeMap<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => overrides(&text, node_id),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "advertised listeners file not readable");
            BTreeMap::new()
        }
    }
}

/// The advertised addresses: `base` (from the flags) with the file's
/// overrides, kept current while the broker runs.
pub fn watch_file(
    base: BTreeMap<String, String>,
    file: Option<PathBuf>,
    node_id: u64,
) -> watch::Receiver<BTreeMap<String, String>> {
    let Some(path) = file else {
        return watch::channel(base).1;
    };
    let merged = move |o: BTreeMap<String, String>| {
        let mut m = base.clone();
        for (name, addr) in o {
            if let Some(slot) = m.get_mut(&name) {
                *slot = addr;
            }
        }
        m
    };
    let (tx, rx) = watch::channel(merged(read(&path, node_id)));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tick.tick().await;
            let next = merged(read(&path, node_id));
            let changed = tx.send_if_modified(|current| {
                let differs = *current != next;
                if differs {
                    current.clone_from(&next);
                }
                differs
            });
            if changed {
                tracing::info!(listeners = ?next, "advertised listener addresses changed");
            }
            if tx.is_closed() {
                return;
            }
        }
    });
    rx
}

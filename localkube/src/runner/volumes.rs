//! ConfigMap, Secret and projected volumes as files on the host, bind-mounted
//! (as a directory) into the pod's container, and kept up to date while the
//! pod runs, as the kubelet does.
//!
//! A volume's files are `key` (or an item's `path`) → content, from `data`
//! and `binaryData` (ConfigMap) or `data` (Secret), laid out as the kubelet's
//! atomic writer does (see [`sync_dir`]): a change is a new version
//! directory and one rename of the `..data` symlink, so a reader sees all
//! old or all new files. A directory bind mount shows the swapped symlink; a
//! single-file mount would keep the old inode, which is why volumes are
//! mounted as directories.
//! `defaultMode` and items' `mode` are not applied (files are 0644).

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path};

use serde_json::Value;

use super::pods::Lookup;

/// Why a volume cannot be set up (the container waits, as the kubelet's
/// `MountVolume.SetUp failed`).
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A ConfigMap, Secret or key the volume needs does not exist.
    #[error("MountVolume.SetUp failed for volume \"{volume}\" : {reason}")]
    Missing {
        /// The volume's name.
        volume: String,
        /// What is missing, as the kubelet says it.
        reason: String,
    },
    /// Writing the files failed.
    #[error("writing the files of volume \"{volume}\": {source}")]
    Io {
        /// The volume's name.
        volume: String,
        /// The I/O error.
        source: io::Error,
    },
}

/// Relative path → content.
pub type Files = BTreeMap<String, Vec<u8>>;

fn s<'a>(o: &'a Value, ptr: &str) -> &'a str {
    o.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

/// Decode standard base64 (Secret `data`, ConfigMap `binaryData`); other
/// characters are skipped.
pub fn base64_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// The keys of a ConfigMap or Secret with their content.
fn object_data(obj: &Value, secret: bool) -> Files {
    let field = |k: &str| obj.get(k).and_then(Value::as_object).into_iter().flatten();
    let mut out = Files::new();
    for (k, v) in field("data") {
        let text = v.as_str().unwrap_or_default();
        let bytes = if secret {
            base64_decode(text)
        } else {
            text.as_bytes().to_vec()
        };
        out.insert(k.clone(), bytes);
    }
    if !secret {
        for (k, v) in field("binaryData") {
            out.insert(k.clone(), base64_decode(v.as_str().unwrap_or_default()));
        }
    }
    out
}

/// The files one source (a `configMap`/`secret` volume or projection)
/// contributes: every key, or only its `items` under their paths.
fn source_files(src: &Value, secret: bool, ns: &str, lookup: &Lookup) -> Result<Files, String> {
    let name = if secret {
        match s(src, "/secretName") {
            "" => s(src, "/name"),
            n => n,
        }
    } else {
        s(src, "/name")
    };
    let optional = src
        .get("optional")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (store, what) = if secret {
        (&lookup.secrets, "secret")
    } else {
        (&lookup.config_maps, "configmap")
    };
    let Some(obj) = store.get(&format!("{ns}/{name}")) else {
        return if optional {
            Ok(Files::new())
        } else {
            Err(format!("{what} \"{name}\" not found"))
        };
    };
    let data = object_data(obj, secret);
    let Some(items) = src.get("items").and_then(Value::as_array) else {
        return Ok(data);
    };
    let mut out = Files::new();
    for item in items {
        let key = s(item, "/key");
        match data.get(key) {
            Some(bytes) => {
                out.insert(s(item, "/path").to_string(), bytes.clone());
            }
            None if optional => {}
            None => {
                let kind = if secret { "secret" } else { "config" };
                return Err(format!("{what} references non-existent {kind} key: {key}"));
            }
        }
    }
    Ok(out)
}

/// The files of a `configMap`, `secret` or `projected` volume (`None` for
/// other kinds of volume). Projected `downwardAPI` and
/// `serviceAccountToken` sources contribute nothing.
pub fn volume_files(volume: &Value, ns: &str, lookup: &Lookup) -> Option<Result<Files, String>> {
    if let Some(cm) = volume.get("configMap") {
        return Some(source_files(cm, false, ns, lookup));
    }
    if let Some(sec) = volume.get("secret") {
        return Some(source_files(sec, true, ns, lookup));
    }
    let sources = volume.pointer("/projected/sources")?.as_array()?;
    let mut out = Files::new();
    for src in sources {
        let part = if let Some(cm) = src.get("configMap") {
            source_files(cm, false, ns, lookup)
        } else if let Some(sec) = src.get("secret") {
            source_files(sec, true, ns, lookup)
        } else {
            continue;
        };
        match part {
            Ok(files) => out.extend(files),
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(out))
}

/// A path inside the volume: relative, without `..`, not one of the
/// volume's own `..`-prefixed entries.
fn safe(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with("..")
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn files_under(dir: &Path, base: &Path, out: &mut Files) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files_under(&path, base, out)?;
        } else if let Ok(rel) = path.strip_prefix(base) {
            out.insert(rel.to_string_lossy().into_owned(), std::fs::read(&path)?);
        }
    }
    Ok(())
}

/// The symlink naming the current version of a volume's files.
const DATA: &str = "..data";

/// Replace `link` by a symlink to `target` in one rename.
fn swap_symlink(dir: &Path, link: &str, target: &str) -> io::Result<()> {
    let tmp = dir.join(format!("..{link}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, dir.join(link))
}

/// Make `dir` hold exactly `files`, laid out as the kubelet does: the files
/// live in a version directory `..<version>`, `..data` links to it and every
/// top-level name is a link through `..data`. A change writes a new version
/// and swaps `..data` in one rename, so a reader sees all old or all new
/// files (a certificate never with another version's key). Returns whether
/// anything changed.
pub fn sync_dir(dir: &Path, files: &Files) -> io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let wanted: Files = files
        .iter()
        .filter(|(p, _)| safe(p))
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect();
    let current = std::fs::read_link(dir.join(DATA)).ok();
    if let Some(cur) = &current {
        let mut have = Files::new();
        let cur_dir = dir.join(cur);
        files_under(&cur_dir, &cur_dir, &mut have)?;
        if have == wanted {
            return Ok(false);
        }
    }
    let version = format!("..{}", uuid::Uuid::new_v4().simple());
    let new_dir = dir.join(&version);
    for (rel, bytes) in &wanted {
        let target = new_dir.join(rel);
        std::fs::create_dir_all(target.parent().unwrap_or(&new_dir))?;
        std::fs::write(&target, bytes)?;
    }
    std::fs::create_dir_all(&new_dir)?;
    swap_symlink(dir, DATA, &version)?;
    let top: std::collections::BTreeSet<String> = wanted
        .keys()
        .filter_map(|p| p.split('/').next().map(str::to_string))
        .collect();
    for name in &top {
        let link = format!("{DATA}/{name}");
        let path = dir.join(name);
        if std::fs::read_link(&path).ok().as_deref() != Some(Path::new(&link)) {
            if path.is_dir() && !path.is_symlink() {
                std::fs::remove_dir_all(&path)?;
            }
            swap_symlink(dir, name, &link)?;
        }
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = if name.starts_with("..") {
            name != DATA && name != version
        } else {
            !top.contains(&name)
        };
        let path = entry.path();
        if !stale {
            continue;
        }
        if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(path)?;
        } else {
            std::fs::remove_file(path)?;
        }
    }
    Ok(true)
}

/// Write (or bring up to date) the directory of one volume under
/// `files_dir`; `Ok(None)` for volumes that are not files (claims).
pub fn prepare(
    volume: &Value,
    ns: &str,
    lookup: &Lookup,
    files_dir: &Path,
) -> Result<Option<std::path::PathBuf>, VolumeError> {
    let name = s(volume, "/name");
    if volume.get("persistentVolumeClaim").is_some() {
        return Ok(None);
    }
    let dir = files_dir.join(name);
    let io_err = |source| VolumeError::Io {
        volume: name.to_string(),
        source,
    };
    match volume_files(volume, ns, lookup) {
        // emptyDir and anything else: an empty directory.
        None => std::fs::create_dir_all(&dir).map_err(io_err)?,
        Some(Ok(files)) => {
            sync_dir(&dir, &files).map_err(io_err)?;
        }
        Some(Err(reason)) => {
            return Err(VolumeError::Missing {
                volume: name.to_string(),
                reason,
            })
        }
    }
    Ok(Some(dir))
}

/// Bring every ConfigMap, Secret and projected volume of a running pod up
/// to date. A volume whose source is gone keeps its files (as the kubelet
/// does); failures are logged.
pub fn refresh(pod: &Value, lookup: &Lookup, files_dir: &Path) {
    let ns = s(pod, "/metadata/namespace");
    for v in pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(Ok(files)) = volume_files(v, ns, lookup) else {
            continue;
        };
        let dir = files_dir.join(s(v, "/name"));
        match sync_dir(&dir, &files) {
            Ok(true) => tracing::debug!(dir = %dir.display(), "volume files updated"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "updating volume files failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup() -> Lookup {
        let mut l = Lookup::default();
        l.secrets.insert(
            "ns/brokers".into(),
            json!({"data": {"b-0.crt": "Y2VydA==", "b-0.key": "a2V5"}}),
        );
        l.config_maps.insert(
            "ns/ca".into(),
            json!({"data": {"ca.crt": "CA"}, "binaryData": {"bin": "AAE="}}),
        );
        l
    }

    #[test]
    fn projected_volume_with_items_and_optional_sources() {
        let v = json!({"name": "tls", "projected": {"sources": [
            {"secret": {"name": "brokers"}},
            {"configMap": {"name": "ca", "items": [{"key": "ca.crt", "path": "ca/ca.crt"}]}},
            {"secret": {"name": "absent", "optional": true}},
            {"downwardAPI": {"items": []}}]}});
        let files = volume_files(&v, "ns", &lookup()).unwrap().unwrap();
        let keys: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(keys, ["b-0.crt", "b-0.key", "ca/ca.crt"]);
        assert_eq!(files["b-0.crt"], b"cert");
        let missing = json!({"name": "x", "secret": {"secretName": "absent"}});
        assert_eq!(
            volume_files(&missing, "ns", &lookup())
                .unwrap()
                .unwrap_err(),
            "secret \"absent\" not found"
        );
        let bad_key = json!({"name": "x", "configMap": {"name": "ca", "items": [{"key": "nope", "path": "p"}]}});
        assert!(volume_files(&bad_key, "ns", &lookup())
            .unwrap()
            .unwrap_err()
            .contains("non-existent config key: nope"));
        let all = json!({"name": "x", "configMap": {"name": "ca"}});
        assert_eq!(
            volume_files(&all, "ns", &lookup()).unwrap().unwrap()["bin"],
            [0u8, 1]
        );
    }

    #[test]
    fn sync_replaces_changed_files_and_removes_stale_ones() {
        let dir = tempfile_dir();
        let mut files = Files::new();
        files.insert("a".into(), b"1".to_vec());
        files.insert("sub/b".into(), b"2".to_vec());
        files.insert("../escape".into(), b"x".to_vec());
        assert!(sync_dir(&dir, &files).unwrap());
        assert!(!sync_dir(&dir, &files).unwrap());
        assert_eq!(std::fs::read(dir.join("sub/b")).unwrap(), b"2");
        assert!(
            std::fs::read_link(dir.join("a")).is_ok(),
            "a link through ..data"
        );
        files.insert("a".into(), b"one".to_vec());
        files.remove("sub/b");
        assert!(sync_dir(&dir, &files).unwrap());
        assert_eq!(std::fs::read(dir.join("a")).unwrap(), b"one");
        assert!(!dir.join("sub/b").exists());
        assert!(!dir.parent().unwrap().join("escape").exists());
        let entries: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(entries.len(), 3, "a, ..data and one version: {entries:?}");
        assert!(entries.contains(&"..data".to_string()), "{entries:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("lk-vol-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}

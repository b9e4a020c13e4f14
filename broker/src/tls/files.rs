//! Where a broker's TLS files are: the layout of a Kubernetes TLS Secret
//! mounted as a directory.

use std::path::{Path, PathBuf};

/// The PEM files of one identity and the CA it trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// PKCS#8, PKCS#1 or SEC1 private key of the leaf.
    pub key: PathBuf,
    /// CA certificates the other side's certificate must chain to.
    pub ca: PathBuf,
}

impl TlsFiles {
    /// The files in `dir`: `ca.crt`, and `<name>.crt` with `<name>.key` when
    /// `name` is given and both exist (one Secret holding every pod's
    /// certificate, as Strimzi lays them out), else `tls.crt` with `tls.key`.
    pub fn in_dir(dir: &Path, name: Option<&str>) -> Self {
        let named = name.map(|n| (dir.join(format!("{n}.crt")), dir.join(format!("{n}.key"))));
        let (cert, key) = match named {
            Some((cert, key)) if cert.is_file() && key.is_file() => (cert, key),
            _ => (dir.join("tls.crt"), dir.join("tls.key")),
        };
        Self {
            cert,
            key,
            ca: dir.join("ca.crt"),
        }
    }

    /// The three paths, for change detection.
    pub fn paths(&self) -> [&Path; 3] {
        [&self.cert, &self.key, &self.ca]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_the_pods_own_files_when_present() {
        let dir = tempfile::tempdir().unwrap();
        let generic = TlsFiles::in_dir(dir.path(), Some("c-0"));
        assert_eq!(generic.cert, dir.path().join("tls.crt"));
        std::fs::write(dir.path().join("c-0.crt"), "x").unwrap();
        std::fs::write(dir.path().join("c-0.key"), "x").unwrap();
        let own = TlsFiles::in_dir(dir.path(), Some("c-0"));
        assert_eq!(own.cert, dir.path().join("c-0.crt"));
        assert_eq!(own.key, dir.path().join("c-0.key"));
        assert_eq!(own.ca, dir.path().join("ca.crt"));
    }
}

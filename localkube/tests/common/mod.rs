//! Test harness: an in-process emulator on an ephemeral loopback port, a
//! kubeconfig for it, and the real `kubectl`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use chronik_localkube::RunningServer;

/// Minimum kubectl minor version the tests are written for.
pub const KUBECTL_MINOR: u32 = 34;

/// A running emulator plus a kubeconfig for it.
pub struct Env {
    pub server: RunningServer,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

/// Output of one kubectl run.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Env {
    pub async fn start() -> Env {
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("loopback address");
        let server = chronik_localkube::start(addr)
            .await
            .expect("emulator starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        server
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        Env {
            server,
            dir,
            kubeconfig,
        }
    }

    pub async fn client(&self) -> kube::Client {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig parses");
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .expect("kube config");
        kube::Client::try_from(cfg).expect("kube client")
    }

    /// Run kubectl with `args`, feeding `stdin` if given.
    pub async fn kubectl_in(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let bin = match chronik_localkube::tools::kubectl(KUBECTL_MINOR) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let mut cmd = tokio::process::Command::new(bin);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .env("HOME", self.dir.path())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("kubectl starts");
        if let Some(input) = stdin {
            use tokio::io::AsyncWriteExt;
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(input.as_bytes()).await.expect("write stdin");
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().await.expect("kubectl runs");
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub async fn kubectl(&self, args: &[&str]) -> Run {
        self.kubectl_in(args, None).await
    }

    /// kubectl that must succeed; returns stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let r = self.kubectl(args).await;
        assert!(r.ok, "kubectl {args:?} failed: {}{}", r.stdout, r.stderr);
        r.stdout
    }

    /// kubectl that must fail; returns stderr.
    pub async fn fails(&self, args: &[&str]) -> String {
        let r = self.kubectl(args).await;
        assert!(!r.ok, "kubectl {args:?} should have failed: {}", r.stdout);
        r.stderr
    }

    /// `kubectl apply -f -` of a YAML text; must succeed.
    pub async fn apply(&self, ns: &str, yaml: &str) -> String {
        let r = self
            .kubectl_in(&["apply", "-n", ns, "-f", "-"], Some(yaml))
            .await;
        assert!(
            r.ok,
            "kubectl apply failed: {}{}\n{yaml}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// `kubectl apply -f -` that must fail; returns stderr.
    pub async fn apply_fails(&self, ns: &str, yaml: &str) -> String {
        let r = self
            .kubectl_in(&["apply", "-n", ns, "-f", "-"], Some(yaml))
            .await;
        assert!(
            !r.ok,
            "kubectl apply should have failed: {}\n{yaml}",
            r.stdout
        );
        r.stderr
    }
}

pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

impl Env {
    /// Run helm against the emulator (HOME isolated in the temp dir); must succeed.
    pub async fn helm(&self, args: &[&str]) -> String {
        let bin = match chronik_localkube::tools::helm() {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let out = tokio::process::Command::new(bin)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("HOME", self.dir.path())
            .kill_on_drop(true)
            .output()
            .await
            .expect("helm runs");
        assert!(
            out.status.success(),
            "helm {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

//! The local Kubernetes API emulator (`chronik-localkube`) in-process on an
//! ephemeral loopback port, with a kubeconfig for it, the real kubectl and
//! helm, and a kube-rs client: the harness of the emulator's own tests.

use std::net::SocketAddr;
use std::path::PathBuf;

use chronik_localkube::RunningServer;

use crate::kubectl::{Kubectl, Run};

/// A running emulator plus a kubeconfig, kubectl and helm for it.
pub struct Env {
    /// The emulator (its address and state).
    pub server: RunningServer,
    /// A temporary directory holding the kubeconfig; tests may use it.
    pub dir: tempfile::TempDir,
    /// The kubeconfig of [`Env::server`].
    pub kubeconfig: PathBuf,
    kubectl: Kubectl,
}

impl Env {
    /// Starts the emulator on `127.0.0.1:0` and writes its kubeconfig.
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
        let kubectl = Kubectl::new(&kubeconfig);
        Env {
            server,
            dir,
            kubeconfig,
            kubectl,
        }
    }

    /// A kube-rs client for the emulator.
    pub async fn client(&self) -> kube::Client {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig parses");
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .expect("kube config");
        kube::Client::try_from(cfg).expect("kube client")
    }

    /// Runs kubectl with `args`, feeding `stdin` if given.
    pub async fn kubectl_in(&self, args: &[&str], stdin: Option<&str>) -> Run {
        self.kubectl.run_async(args, stdin).await
    }

    /// Runs kubectl with `args`.
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

    /// Runs helm against the emulator (`HOME` isolated in the temp dir);
    /// must succeed; returns stdout.
    pub async fn helm(&self, args: &[&str]) -> String {
        let bin = crate::tools::helm().unwrap_or_else(|e| panic!("{e}"));
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

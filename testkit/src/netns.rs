//! Test hosts in network namespaces joined by a bridge, so a link can be cut
//! (a real partition between broker processes). Only the addresses created
//! here are ever targeted.

use std::process::Command;

/// Runs `ip` with `args`, panicking with its stderr on failure.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Why namespaces cannot be used here (not root, no `ip`), if so.
pub fn unavailable() -> Option<String> {
    let probe = format!("chk-probe-{}", std::process::id());
    match Command::new("ip").args(["netns", "add", &probe]).output() {
        Ok(o) if o.status.success() => {
            let _ = Command::new("ip").args(["netns", "del", &probe]).status();
            None
        }
        Ok(o) => Some(format!(
            "ip netns add failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run ip: {e}")),
    }
}

/// Whether a test may use namespaces: `true` when they can be created.
/// Otherwise, under CI (`CI=true`, where the tests run as root) the test
/// fails, naming the reason; elsewhere it prints why `what` is skipped and
/// gets `false`.
pub fn required_under_ci(what: &str) -> bool {
    let Some(why) = unavailable() else {
        return true;
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} needs network namespaces, and CI must run it: {why}"
    );
    eprintln!("SKIPPED: {what} needs network namespaces: {why}");
    false
}

/// A bridge with one namespace per host.
pub struct Lab {
    tag: String,
    /// The third octet of the hosts' addresses (`10.213.<subnet>.<id>`).
    pub subnet: u8,
    hosts: Vec<u64>,
}

impl Lab {
    /// Creates hosts 1..=n at 10.213.<subnet>.<id>, the bridge at .254.
    pub fn new(n: u64) -> Self {
        let pid = std::process::id();
        let tag = format!("{:x}", pid % 0xfffff);
        let subnet = (pid % 200) as u8 + 20;
        let lab = Self {
            tag,
            subnet,
            hosts: (1..=n).collect(),
        };
        let br = lab.bridge();
        ip(&["link", "add", &br, "type", "bridge"]);
        ip(&[
            "addr",
            "add",
            &format!("10.213.{subnet}.254/24"),
            "dev",
            &br,
        ]);
        ip(&["link", "set", &br, "up"]);
        for id in 1..=n {
            let ns = lab.netns(id);
            let (host_if, ns_if) = (lab.host_if(id), format!("cn{id}"));
            ip(&["netns", "add", &ns]);
            ip(&[
                "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
            ]);
            ip(&["link", "set", &ns_if, "netns", &ns]);
            ip(&["link", "set", &host_if, "master", &br]);
            ip(&["link", "set", &host_if, "up"]);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", lab.addr(id)),
                "dev",
                &ns_if,
            ]);
            ip(&["-n", &ns, "link", "set", &ns_if, "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        lab
    }

    fn bridge(&self) -> String {
        format!("cb{}", self.tag)
    }

    fn host_if(&self, id: u64) -> String {
        format!("ch{}{id}", self.tag)
    }

    /// Namespace name of host `id`.
    pub fn netns(&self, id: u64) -> String {
        format!("chk-{}-{id}", self.tag)
    }

    /// Address of host `id`.
    pub fn addr(&self, id: u64) -> String {
        format!("10.213.{}.{id}", self.subnet)
    }

    /// Cuts host `id` off the bridge.
    pub fn isolate(&self, id: u64) {
        ip(&["link", "set", &self.host_if(id), "down"]);
    }

    /// Reconnects host `id`.
    pub fn heal(&self, id: u64) {
        ip(&["link", "set", &self.host_if(id), "up"]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for id in &self.hosts {
            let _ = Command::new("ip")
                .args(["link", "del", &self.host_if(*id)])
                .status();
            let _ = Command::new("ip")
                .args(["netns", "del", &self.netns(*id)])
                .status();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge()])
            .status();
    }
}

/// An HTTP request made from inside namespace `ns` (reaches an isolated
/// host). Returns the status code and body.
pub fn curl_in(ns: &str, method: &str, url: &str, body: Option<&str>) -> (u16, String) {
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        ns,
        "curl",
        "-s",
        "--max-time",
        "12",
        "-X",
        method,
    ]);
    cmd.args(["-w", "\n%{http_code}"]);
    if let Some(b) = body {
        cmd.args(["--data-binary", b]);
    }
    cmd.arg(url);
    let out = cmd.output().expect("run curl in the namespace");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

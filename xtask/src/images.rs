//! `cargo xtask images`: build the broker, operator and Kafka client images.
//!
//! Each binary is compiled statically (`+crt-static`, glibc, target
//! `x86_64-unknown-linux-gnu`) on the host, copied alone into a build
//! context, and packaged `FROM scratch` by `<crate>/Dockerfile`. podman is
//! used when present (with `CONTAINERS_CONF=.ci/containers.conf`), docker
//! otherwise; `CHRONIK_CONTAINER_ENGINE` overrides the choice.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::run::{root as repo_root, run};

pub use crate::run::TARGET;

/// One image the project builds.
#[derive(Debug, Clone, Copy)]
pub struct ImageSpec {
    /// Image name (also the binary's name inside it: `/<name>`).
    pub name: &'static str,
    /// Dockerfile, relative to the repository root.
    pub dockerfile: &'static str,
}

/// Every image, in build order.
pub const IMAGES: [ImageSpec; 3] = [
    ImageSpec {
        name: "chronik-broker",
        dockerfile: "broker/Dockerfile",
    },
    ImageSpec {
        name: "chronik-operator",
        dockerfile: "operator/Dockerfile",
    },
    ImageSpec {
        name: "chronik-kafka-client",
        dockerfile: "kafka-client/Dockerfile",
    },
];

/// What to build.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// Only the image with this name (all when `None`).
    pub only: Option<String>,
    /// Tag of the built images.
    pub tag: String,
    /// Run each image with `--help` after building it.
    pub check: bool,
    /// Optimised binaries (`--release`); CI packages debug builds, which
    /// compile in a fraction of the time and exercise the same packaging.
    pub release: bool,
}

impl Default for ImageOptions {
    fn default() -> Self {
        Self {
            only: None,
            tag: "latest".to_string(),
            check: true,
            release: true,
        }
    }
}

/// The container engine: `CHRONIK_CONTAINER_ENGINE`, else podman, else docker.
pub fn container_engine() -> String {
    if let Ok(engine) = std::env::var("CHRONIK_CONTAINER_ENGINE") {
        return engine;
    }
    let has = |name: &str| {
        Command::new(name)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if has("podman") || !has("docker") {
        "podman".to_string()
    } else {
        "docker".to_string()
    }
}

/// `<repo>/.ci/containers.conf`.
pub fn containers_conf() -> PathBuf {
    repo_root().join(".ci").join("containers.conf")
}

/// A command for the container engine, configured for this project.
pub fn engine_command() -> Command {
    let engine = container_engine();
    let mut cmd = Command::new(&engine);
    if engine.ends_with("podman") {
        cmd.env("CONTAINERS_CONF", containers_conf());
    }
    cmd
}

/// Compile the binary of one image statically; returns its path.
pub fn build_static_binary(spec: &ImageSpec, release: bool) -> Result<PathBuf> {
    build_static(spec.name, release)
}

/// Compile every binary of the workspace statically for [`TARGET`] and
/// return the path of `bin`.
///
/// A debug build is `cargo test --workspace --no-run`: cargo resolves
/// features per invocation (the selected packages, plus dev-dependencies
/// when tests are built), so `cargo build` of the binaries would compile
/// tokio, rustls, kube and everything above them a second time with
/// another feature set. Building the binaries the way the test run does
/// lets the images, `cargo xtask test` and the e2e scenarios share one
/// build. Release builds are for images only: `cargo build --release`.
pub fn build_static(bin: &str, release: bool) -> Result<PathBuf> {
    println!("building static binaries ({bin} among them) for {TARGET}");
    let mut cargo = crate::run::cargo();
    if release {
        cargo.args(["build", "--workspace", "--bins", "--release"]);
    } else {
        cargo.args(["test", "--workspace", "--no-run"]);
    }
    run(&mut cargo)?;
    let binary = crate::run::built_binary(bin, release);
    if !binary.is_file() {
        bail!("{} was not produced", binary.display());
    }
    Ok(binary)
}

/// Build one image from an already compiled binary; returns `name:tag`.
pub fn package_image(spec: &ImageSpec, binary: &Path, tag: &str) -> Result<String> {
    let root = repo_root();
    let context = root.join("target").join("images").join(spec.name);
    if context.exists() {
        fs::remove_dir_all(&context)?;
    }
    fs::create_dir_all(&context)?;
    fs::copy(binary, context.join(spec.name))
        .with_context(|| format!("copying {} into the build context", binary.display()))?;
    let image = format!("{}:{tag}", spec.name);
    run(engine_command()
        .args(["build", "--tag", &image, "--file"])
        .arg(root.join(spec.dockerfile))
        .arg(&context))?;
    Ok(image)
}

/// Check that an image starts: `<image> --help` exits 0.
pub fn check_image_starts(image: &str) -> Result<()> {
    let output = engine_command()
        .args(["run", "--rm", "--read-only", image, "--help"])
        .output()
        .with_context(|| format!("running {image}"))?;
    if !output.status.success() {
        bail!(
            "{image} --help failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    println!("{image} starts (--help exits 0)");
    Ok(())
}

/// Build the selected images; returns their `name:tag`s.
pub fn build_images(options: &ImageOptions) -> Result<Vec<String>> {
    let selected: Vec<&ImageSpec> = IMAGES
        .iter()
        .filter(|s| options.only.as_deref().is_none_or(|o| o == s.name))
        .collect();
    if selected.is_empty() {
        let names: Vec<_> = IMAGES.iter().map(|s| s.name).collect();
        bail!("no image named {:?}; choose one of {names:?}", options.only);
    }
    let mut built = Vec::new();
    for spec in selected {
        let binary = build_static_binary(spec, options.release)?;
        let image = package_image(spec, &binary, &options.tag)?;
        if options.check {
            check_image_starts(&image)?;
        }
        built.push(image);
    }
    Ok(built)
}

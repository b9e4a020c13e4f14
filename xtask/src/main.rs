mod images;
mod tools;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "Developer commands")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install helm and kubectl into .tools/bin (idempotent).
    Tools,
    /// Build the broker and operator images with podman.
    Images,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Tools => tools::install_tools().map(|_| ()),
        Cmd::Images => images::build_images().map(|_| ()),
    }
}

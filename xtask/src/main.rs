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
    /// Build the broker and operator images (podman, else docker) and check they start.
    Images {
        /// Build only this image (chronik-broker or chronik-operator).
        #[arg(long)]
        only: Option<String>,
        /// Image tag.
        #[arg(long, default_value = "latest")]
        tag: String,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Tools => tools::install_tools().map(|_| ()),
        Cmd::Images { only, tag } => {
            let options = images::ImageOptions {
                only,
                tag,
                ..images::ImageOptions::default()
            };
            for image in images::build_images(&options)? {
                println!("built {image}");
            }
            Ok(())
        }
    }
}

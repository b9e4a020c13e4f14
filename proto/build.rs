//! Compiles the .proto files with `protox` (a protobuf compiler written in
//! Rust), so building needs no `protoc` binary. Setting `PROTOC` globally is
//! not an option: raft-proto's build panics with a modern protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["raft_transport.proto", "metadata.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["."])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}

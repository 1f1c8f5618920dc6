//! Compiles `proto/` with protox (pure Rust, no protoc) and generates prost messages and tonic
//! services, plus the encoded descriptor set that gRPC reflection serves.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "rollcall/admin/v1/admin.proto",
    "rollcall/export/v1/export.proto",
    "rollcall/feed/v1/feed.proto",
    "rollcall/pipeline/v1/messages.proto",
    "rollcall/pipeline/v2/messages.proto",
    "rollcall/query/v1/operations.proto",
    "rollcall/query/v1/query.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    println!("cargo:rerun-if-changed={}", root.display());

    let descriptors = protox::compile(PROTOS, [&root])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("rollcall_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}

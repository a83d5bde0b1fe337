//! Generates `grpc_greeter`'s code from `proto/helloworld.proto` with
//! tonic-prost-build, running the `protoc` that `protoc-bin-vendored`
//! ships inside the crate: nothing beyond cargo is needed, and a `protoc`
//! on the PATH is not used. Only the message types and tonic's
//! transport-free client and server are generated (tonic's `transport`
//! feature hard-wires tokio).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure()
        .build_transport(false)
        .compile_with_config(config, &["proto/helloworld.proto"], &["proto"])?;
    Ok(())
}

//! Shared helpers of Warden's integration tests: where the workspace is, and the `warden` binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
}

/// A `warden` command running in the workspace root. The binary is built once per test process
/// (cargo only hands a package's own binaries to its tests).
pub fn warden() -> Command {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    let binary = BINARY.get_or_init(|| {
        escargot::CargoBuild::new()
            .package("warden-cli")
            .bin("warden")
            .current_release()
            .manifest_path(root().join("Cargo.toml"))
            .run()
            .expect("cargo builds the warden binary")
            .path()
            .to_path_buf()
    });
    let mut command = Command::new(binary);
    command.current_dir(root()).env("NO_COLOR", "1");
    command
}

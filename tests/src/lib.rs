//! Shared helpers of Warden's integration tests: where the workspace is, the `warden` binary, and
//! a folder to start real runs in ([`workspace`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub mod workspace;

/// The workspace root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
}

/// The release `warden` binary, built once per process (cargo only hands a package's own
/// binaries to its tests).
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        escargot::CargoBuild::new()
            .package("warden-cli")
            .bin("warden")
            .current_release()
            .manifest_path(root().join("Cargo.toml"))
            .run()
            .expect("cargo builds the warden binary")
            .path()
            .to_path_buf()
    })
}

/// A `warden` command running in the workspace root.
pub fn warden() -> Command {
    let mut command = Command::new(binary());
    command.current_dir(root()).env("NO_COLOR", "1");
    command
}

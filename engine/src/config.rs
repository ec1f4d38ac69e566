//! The project's configuration: `.warden.yaml`, found from a protocol's folder upward.
//!
//! ```yaml
//! check:
//!   ignore: [P060, unused-event]   # warnings `warden check` never reports in this project
//!   docs_url: https://example.org/warden/docs/checks.md   # where `--format sarif` links rules
//! ```
//!
//! The file is looked for in the protocol's folder, then in each folder above it, up to and
//! including the first that holds `.git` (the repository's root) or the filesystem's root. The
//! name starts with a dot so that `warden check *.yaml` never takes it for a protocol.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::codes::{Code, Severity};

/// The config file's name.
pub const FILE_NAME: &str = ".warden.yaml";

/// What a config file says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Settings of `warden check`.
    #[serde(default)]
    pub check: CheckConfig,
}

/// The `check:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// Warnings never reported, by code or name.
    #[serde(default)]
    pub ignore: Vec<IgnoredCode>,
    /// Where `docs/checks.md` is published, an absolute URL: SARIF rules link
    /// `DOCS_URL#p011-unknown-state`.
    #[serde(default)]
    pub docs_url: Option<String>,
}

impl CheckConfig {
    /// The codes of `ignore`.
    pub fn ignored(&self) -> Vec<Code> {
        self.ignore.iter().map(|c| c.0).collect()
    }
}

/// A code that may be ignored project-wide: a warning's, written as `P060` or `unbounded-restart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IgnoredCode(pub Code);

impl std::str::FromStr for IgnoredCode {
    type Err = String;

    /// Reads a code to ignore, refusing names that are no code and the codes of errors.
    fn from_str(name: &str) -> Result<IgnoredCode, String> {
        let Some(code) = Code::lookup(name) else {
            let help =
                Code::did_you_mean(name).map_or_else(String::new, |help| format!("; {help}"));
            return Err(format!("`{name}` is not a check code{help}"));
        };
        if code.severity() == Severity::Error {
            return Err(format!(
                "{code} is an error, and errors cannot be ignored; fix what it reports \
                 (`warden explain {code}`)"
            ));
        }
        Ok(IgnoredCode(code))
    }
}

impl<'de> Deserialize<'de> for IgnoredCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but says something wrong.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// The config file that applies to the protocol at `protocol` (or, for `None`, to the current
/// folder), if there is one.
pub fn find(protocol: Option<&Path>) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    let start = match protocol.and_then(Path::parent) {
        Some(parent) if !parent.as_os_str().is_empty() => cwd.join(parent),
        _ => cwd,
    };
    for folder in start.ancestors() {
        let candidate = folder.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if folder.join(".git").exists() {
            return None;
        }
    }
    None
}

/// Reads the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Reads config `text` as if from `path`. An empty file is the default config.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let config: Config = serde_yaml::from_str(text).map_err(|error| {
        let (line, column) = error
            .location()
            .map_or((1, 1), |at| (at.line(), at.column()));
        // serde_yaml ends its message with the position, which the error names first.
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_owned(),
            None => message,
        };
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    })?;
    if let Some(url) = &config.check.docs_url {
        if !url.contains("://") {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line: line_of(text, "docs_url"),
                column: 1,
                message: format!("check.docs_url: `{url}` is not an absolute URL (https://...)"),
            });
        }
    }
    Ok(config)
}

/// The 1-based line of the first line of `text` that mentions `key`.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.contains(key))
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Config, String> {
        parse(Path::new(".warden.yaml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn ignores_are_read_by_code_or_name() {
        let config = parsed("check:\n  ignore: [P060, unused-event]\n").unwrap();
        assert_eq!(config.check.ignored(), [Code::P060, Code::P022]);
        assert_eq!(parsed("").unwrap(), Config::default());
        assert_eq!(parsed("check: {}\n").unwrap(), Config::default());
    }

    #[test]
    fn a_wrong_config_names_its_line() {
        let error = parsed("check:\n  ignore: [P060, P60]\n").unwrap_err();
        assert!(error.starts_with(".warden.yaml:2:"), "{error}");
        assert!(error.contains("`P60` is not a check code"), "{error}");
        assert!(error.contains("did you mean `P060`?"), "{error}");
        let error = parsed("check:\n  ignore: [P011]\n").unwrap_err();
        assert!(error.contains("P011 is an error"), "{error}");
        let error = parsed("check:\n  ignroe: [P060]\n").unwrap_err();
        assert!(error.starts_with(".warden.yaml:2:"), "{error}");
        assert!(error.contains("unknown field `ignroe`"), "{error}");
        let error = parsed("check:\n  docs_url: docs/checks.md\n").unwrap_err();
        assert!(error.starts_with(".warden.yaml:2:1:"), "{error}");
    }

    #[test]
    fn the_config_is_found_upward_and_not_past_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("repo/.git")).unwrap();
        std::fs::create_dir_all(root.join("repo/protocols/deep")).unwrap();
        std::fs::write(root.join(FILE_NAME), "").unwrap();
        let protocol = root.join("repo/protocols/deep/p.yaml");
        assert_eq!(find(Some(&protocol)), None);
        std::fs::write(root.join("repo").join(FILE_NAME), "").unwrap();
        assert_eq!(
            find(Some(&protocol)),
            Some(root.join("repo").join(FILE_NAME))
        );
        std::fs::write(root.join("repo/protocols").join(FILE_NAME), "").unwrap();
        assert_eq!(
            find(Some(&protocol)),
            Some(root.join("repo/protocols").join(FILE_NAME))
        );
    }
}

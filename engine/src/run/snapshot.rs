//! The protocol a run follows, copied into the run when it starts: replaying the journal needs
//! the protocol and templates exactly as they were, whatever happens to the files later.

use arcstr::ArcStr;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::store::RunDir;
use super::{io_error, write_atomic, RunError};
use crate::machine::Machine;
use crate::protocol::{self, Protocol, TemplateSource};

/// A protocol file and the templates its messages name, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Where the protocol was read from.
    pub path: PathBuf,
    /// Its text.
    pub source: String,
    /// Each template's text, by name.
    pub templates: BTreeMap<String, String>,
}

impl Snapshot {
    /// Reads the protocol at `path` and its templates.
    pub fn take(path: &Path) -> Result<Snapshot, RunError> {
        let bytes = std::fs::read(path).map_err(io_error(path))?;
        // Text that is not UTF-8 is a P001 of the parse.
        Snapshot::of(&protocol::parse(path, &bytes)?)
    }

    /// A loaded protocol, with the templates it names read.
    pub fn of(protocol: &Protocol) -> Result<Snapshot, RunError> {
        let (templates, diagnostics) = protocol::load_templates(protocol);
        if !diagnostics.is_empty() {
            return Err(RunError::Invalid {
                path: protocol.path.clone(),
                diagnostics,
            });
        }
        Ok(Snapshot {
            path: protocol.path.clone(),
            source: protocol.source.to_string(),
            templates: templates
                .into_iter()
                .map(|(name, t)| (name, t.text.to_string()))
                .collect(),
        })
    }

    /// The protocol, parsed (not compiled: for what needs only its declarations).
    pub fn protocol(&self) -> Result<Protocol, RunError> {
        Ok(protocol::parse(&self.path, self.source.as_bytes())?)
    }

    /// Compiles it.
    pub fn compile(&self) -> Result<Machine, RunError> {
        let protocol = self.protocol()?;
        let templates = self
            .templates
            .iter()
            .map(|(name, text)| {
                let source = TemplateSource {
                    name: name.clone(),
                    path: protocol::template_path(&protocol, name),
                    text: ArcStr::from(text.as_str()),
                };
                (name.clone(), source)
            })
            .collect();
        Ok(Machine::new(protocol, &templates)?.fire_missed_once())
    }

    /// Stores it in `run`.
    pub fn write(&self, run: &RunDir) -> Result<(), RunError> {
        let path = run.snapshot();
        let json = serde_json::to_vec(self).expect("a snapshot serializes");
        write_atomic(&path, &json).map_err(io_error(&path))
    }

    /// The snapshot stored in `run`.
    pub fn read(run: &RunDir) -> Result<Snapshot, RunError> {
        Ok(Snapshot::read_hashed(run)?.0)
    }

    /// The snapshot stored in `run`, with the hash of its file (see [`super::saved::hash`]).
    pub fn read_hashed(run: &RunDir) -> Result<(Snapshot, u64), RunError> {
        let path = run.snapshot();
        let bytes = super::files::read(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => {
                RunError::Store(super::store::StoreError::NoRun(run.id.clone()))
            }
            _ => io_error(&path)(source),
        })?;
        let snapshot = serde_json::from_slice(&bytes).map_err(|e| RunError::Journal {
            path,
            message: format!("not a protocol snapshot: {e}"),
        })?;
        Ok((snapshot, super::saved::hash(&bytes)))
    }

    /// Whether the protocol's text or one of its templates' holds `word`.
    pub fn mentions(&self, word: &str) -> bool {
        self.source.contains(word) || self.templates.values().any(|t| t.contains(word))
    }
}

//! Warden: a workflow state-machine engine driven by declarative protocol files.
//!
//! The crate is a pipeline of stages, each in its own module: [`protocol`] loads a YAML file into
//! a typed model with positions, [`graph`] makes its states and transitions one petgraph graph,
//! [`check`] lints it, [`expr`] configures the template environment that guards, `set`
//! expressions, messages and metric rules share, [`machine`] compiles a protocol once and steps
//! a run, [`classify`] turns log output into incidents, metric records and the machine's inputs,
//! [`scenario`] replays runs on a virtual clock, and [`run`] supervises real ones.
//!
//! Everything before [`run`] is pure: values in, values out, with no clock, no process and no
//! file but the protocol, templates and scenarios it is asked to read (and the transcripts
//! `warden test --bless` writes). [`run`] is the shell: the journal, the job's processes,
//! signals and time. The architecture is described in `docs/architecture.md`.

#![deny(missing_docs)]

pub mod check;
pub mod classify;
pub mod codes;
pub mod config;
pub mod context;
pub mod diagnostic;
pub mod duration;
pub mod expr;
pub mod gate;
pub mod graph;
pub mod machine;
pub mod nesting;
pub mod protocol;
pub mod run;
pub mod sarif;
pub mod scaffold;
pub mod scenario;
pub mod schema;
pub mod span;
mod suggest;

pub use codes::{Code, Severity};
pub use diagnostic::Diagnostic;
pub use span::{Span, Spanned, Str};

//! Warden: a workflow state-machine engine driven by declarative protocol files.
//!
//! The crate is a pipeline of stages, each in its own module: [`protocol`] loads a YAML file into
//! a typed model with positions, [`check`] lints it, [`graph`] views its states as a graph,
//! [`expr`] is the one template environment that guards, `set` expressions and messages share,
//! [`classify`] turns log lines into incidents and metric records, [`machine`] steps a run, and
//! [`scenario`] replays runs on a virtual clock. Everything here is pure but for reading files.

#![deny(missing_docs)]

pub mod check;
pub mod classify;
pub mod codes;
pub mod context;
pub mod diagnostic;
pub mod duration;
pub mod expr;
pub mod graph;
pub mod machine;
pub mod protocol;
pub mod run;
pub mod scenario;
pub mod schema;
pub mod span;
mod suggest;

pub use codes::{Code, Severity};
pub use diagnostic::Diagnostic;
pub use span::{Span, Spanned};

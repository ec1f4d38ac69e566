//! The shell around the pure core: everything that touches processes, files and time for
//! `warden run`. Only this module and the CLI do I/O on behalf of a run.

pub mod job;
pub mod store;
pub mod tail;

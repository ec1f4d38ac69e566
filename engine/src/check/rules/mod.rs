//! The rules, one file each. Every file starts with what the rule finds, why it matters, and an
//! example; `docs/checks.md` shows each code's real output.

use super::Cx;
use crate::diagnostic::Diagnostic;

mod catch_all;
mod channel_denied;
mod duplicate_id;
mod eventless_cycle;
mod expressions;
mod final_state_exit;
mod gate_category;
mod gate_value;
mod initial_state;
mod invalid_regex;
mod invalid_timer;
pub(super) mod malformed_ignore;
mod maybe_undefined;
mod metric_context;
mod metric_name;
mod reserved_name;
mod shadowed_transition;
mod shell_words;
mod slurm_launcher;
mod template_missing;
mod templates;
mod trap_state;
mod unbounded_restart;
mod unhandled_exit;
mod unhandled_gate_failure;
mod unknown_gate;
mod unknown_role;
mod unknown_state;
mod unreachable_state;
mod unused_event;
mod unused_gate;
pub(super) mod unused_ignore;
mod unwatched_job;
mod values;

/// A rule: reads the context, appends its findings.
pub(crate) type Rule = fn(&Cx, &mut Vec<Diagnostic>);

/// Every rule, in the order of their codes.
pub(crate) const ALL: &[Rule] = &[
    values::check,
    duplicate_id::check,
    reserved_name::check,
    initial_state::check,
    unknown_state::check,
    unreachable_state::check,
    trap_state::check,
    final_state_exit::check,
    shadowed_transition::check,
    eventless_cycle::check,
    unknown_role::check,
    channel_denied::check,
    unused_event::check,
    template_missing::check,
    expressions::check,
    templates::check,
    maybe_undefined::check,
    invalid_regex::check,
    unwatched_job::check,
    metric_context::check,
    metric_name::check,
    catch_all::check,
    unhandled_exit::check,
    invalid_timer::check,
    unbounded_restart::check,
    unknown_gate::check,
    gate_category::check,
    unused_gate::check,
    shell_words::check,
    gate_value::check,
    unhandled_gate_failure::check,
    slurm_launcher::check,
];

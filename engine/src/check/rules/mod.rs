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

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    /// The graph rules walk a chain of states with a stack of their own, not the thread's: a
    /// protocol of 200,000 states in a row once overflowed it.
    #[test]
    fn a_long_chain_of_states_is_checked_on_a_small_stack() {
        const STATES: usize = 20_000;
        let mut text = String::from("protocol: chain\nstates:\n  s0: { initial: true }\n");
        for i in 1..STATES {
            let _ = writeln!(text, "  s{i}: {{}}");
        }
        text.push_str("  done: { final: true }\ntransitions:\n");
        for i in 0..STATES {
            let next = if i + 1 == STATES {
                "done".to_owned()
            } else {
                format!("s{}", i + 1)
            };
            let _ = writeln!(text, "  - {{ from: s{i}, to: {next} }}");
        }
        let checked = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                crate::check::check_source("chain.yaml".as_ref(), &text)
                    .map(|r| r.diagnostics.len())
            })
            .expect("a thread starts")
            .join()
            .expect("the check returns");
        assert_eq!(checked.expect("the chain loads"), 0);
    }
}

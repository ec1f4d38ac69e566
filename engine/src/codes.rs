//! The one table of diagnostic codes.
//!
//! Every finding Warden reports has a stable code, a severity and a one-line summary, all defined
//! here. `docs/checks.md` documents each code with an example, and a test keeps that page and this
//! table in step.

use std::fmt;

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Must be fixed: `check` exits 1.
    Error,
    /// Should be fixed: `check` exits 1 only with `--deny warnings`.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

macro_rules! codes {
    ($($code:ident => ($severity:ident, $slug:literal, $summary:literal),)*) => {
        /// A stable diagnostic code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[allow(missing_docs)]
        pub enum Code {
            $($code,)*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$code,)*];

            /// The code as written, `P011`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$code => stringify!($code),)*
                }
            }

            /// The severity of every finding with this code.
            pub fn severity(self) -> Severity {
                match self {
                    $(Code::$code => Severity::$severity,)*
                }
            }

            /// A short name for file names and docs, `unknown-state`.
            pub fn slug(self) -> &'static str {
                match self {
                    $(Code::$code => $slug,)*
                }
            }

            /// What the code finds, in one line.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$code => $summary,)*
                }
            }
        }
    };
}

codes! {
    P001 => (Error, "yaml-syntax", "YAML syntax error"),
    P002 => (Error, "unknown-key", "unknown key"),
    P003 => (Error, "malformed-value", "wrong type or malformed value"),
    P004 => (Error, "duplicate-id", "duplicate id"),
    P005 => (Error, "reserved-name", "a variable uses a name the context reserves"),
    P010 => (Error, "initial-state", "no initial state, or more than one"),
    P011 => (Error, "unknown-state", "transition names an unknown state"),
    P012 => (Warning, "unreachable-state", "state unreachable from the initial state"),
    P013 => (Error, "trap-state", "non-final state from which no final state can be reached"),
    P014 => (Error, "final-state-exit", "final state with outgoing transitions"),
    P015 => (Warning, "shadowed-transition", "transition can never be taken"),
    P016 => (Error, "eventless-cycle", "cycle of eventless transitions with no guard"),
    P020 => (Error, "unknown-role", "unknown role"),
    P021 => (Error, "channel-denied", "message not allowed by channels"),
    P022 => (Warning, "unused-event", "event that no transition uses, or a transition on an unknown event"),
    P030 => (Error, "template-missing", "template file not found"),
    P031 => (Error, "template-syntax", "template or expression syntax error"),
    P032 => (Error, "unknown-name", "template or guard uses a name that is not in the context"),
    P033 => (Warning, "maybe-undefined", "a guard, `set` or message reads a name that may not be there when it runs"),
    P040 => (Error, "invalid-regex", "invalid regular expression in a category rule"),
    P041 => (Warning, "unwatched-job", "a state the job is launched into does not handle `incident` or `exited`"),
    P042 => (Error, "metric-context", "metric rule reads the run's context or an attribute of a var, which it cannot see"),
    P043 => (Warning, "metric-name", "metric rule reads a reserved name or a near miss of a var, which only a record key would give a value"),
    P044 => (Error, "catch-all", "more than one category is `catch_all`"),
    P045 => (Warning, "unhandled-exit", "the job may end in a state that takes no `exited` and that only the job's events lead out of"),
    P050 => (Error, "invalid-timer", "timer names an unknown state or has an invalid duration"),
    P060 => (Warning, "unbounded-restart", "restart cycle with no guard on `counters`"),
    P070 => (Error, "unknown-gate", "transition requires a gate that is not declared"),
    P071 => (Error, "gate-category", "gate names an incident category that is not declared"),
    P072 => (Warning, "unused-gate", "gate that no transition requires"),
    P073 => (Warning, "shell-words", "command gate written as a shell command line without `shell: true`"),
    P074 => (Error, "gate-value", "invalid gate timeout or table bound, or invalid job cadence"),
    P075 => (Warning, "unhandled-gate-failure", "a gate can fail in a state where no transition takes the failure"),
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_and_unique() {
        let names: Vec<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn slugs_are_unique() {
        let mut slugs: Vec<_> = Code::ALL.iter().map(|c| c.slug()).collect();
        slugs.sort();
        let before = slugs.len();
        slugs.dedup();
        assert_eq!(before, slugs.len());
    }
}

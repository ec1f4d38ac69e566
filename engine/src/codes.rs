//! The one table of diagnostic codes.
//!
//! Every finding Warden reports has a stable code, a severity and a one-line summary, all defined
//! here. What each code finds, why, and an example are the module docs of the rule files that
//! report it ([`Code::docs`]): `warden explain CODE` prints them, and `docs/checks.md` is
//! generated from them with each code's real output, by a test that keeps the page in step.

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
    P080 => (Error, "slurm-launcher", "`job.slurm` settings that do not fit the launcher or that Warden sets itself"),
    P090 => (Warning, "unused-ignore", "an ignore comment suppresses no finding"),
    P091 => (Warning, "malformed-ignore", "a `# warden:` comment that is not a well-formed ignore of warnings"),
}

/// The page that documents every code, relative to the repository's root.
pub const DOCS_PAGE: &str = "docs/checks.md";

/// The docs of the codes found while the file is read, before any rule runs, in the rule files'
/// form.
const READ_TIME: &[&str] = &[
    "//! P001: the file is not one YAML document that can be read: a syntax error (a mapping or a
//! string left open, a tab where indentation is expected), bytes that are not UTF-8, a second
//! document after `---`, or nesting too deep to load.
//!
//! **Why.** Nothing else can be checked until the file is read. The finding points where the YAML
//! reader stopped, which can be a line after the mistake: a `{` left open is found at the first
//! line that cannot continue it.
//!
//! **Example.**
//! ```yaml
//! states:
//!   done: { final: true
//! transitions: []   # P001
//! ```
",
    "//! P002: a key the protocol format does not have, at the top of the file or in one of its
//! parts (a state, a transition, a category, a gate...).
//!
//! **Why.** A misspelt key would otherwise be ignored, and what it meant silently missing: a
//! transition's `guard:` for `if:` would leave it unguarded. The finding names the closest key the
//! part takes, or lists them; the JSON Schema (`warden schema`) flags the same keys in an editor.
//!
//! **Example.**
//! ```yaml
//! transitions:
//!   - { from: start, to: done, guard: \"true\" }   # P002: expected one of `from`, `to`, `on`, `if`...
//! tranistions: []                               # P002: did you mean `transitions`?
//! ```
",
];

/// The rule files, each starting with module docs that name the codes it reports: "P011: what it
/// finds.", "P022 (warning): ...", or "P031 and P032 in message templates: ...".
macro_rules! rule_files {
    ($($name:ident),* $(,)?) => {
        &[$((
            concat!(stringify!($name), ".rs"),
            include_str!(concat!("check/rules/", stringify!($name), ".rs")),
        ),)*]
    };
}

const RULE_FILES: &[(&str, &str)] = rule_files![
    catch_all,
    channel_denied,
    duplicate_id,
    eventless_cycle,
    expressions,
    final_state_exit,
    gate_category,
    gate_value,
    initial_state,
    invalid_regex,
    invalid_timer,
    malformed_ignore,
    maybe_undefined,
    metric_context,
    metric_name,
    reserved_name,
    shadowed_transition,
    shell_words,
    slurm_launcher,
    template_missing,
    templates,
    trap_state,
    unbounded_restart,
    unhandled_exit,
    unhandled_gate_failure,
    unknown_gate,
    unknown_role,
    unknown_state,
    unreachable_state,
    unused_event,
    unused_gate,
    unused_ignore,
    unwatched_job,
    values,
];

/// One rule file's account of a code, in Markdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Doc {
    /// What the rule finds and why.
    pub text: String,
    /// A protocol that breaks the rule: a line that introduces it and a fenced block.
    pub example: Option<String>,
}

/// The module docs of a rule file, without the `//!`.
fn module_doc(source: &str) -> String {
    source
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| {
            let l = l.trim_start_matches("//!");
            l.strip_prefix(' ').unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The codes a rule file's docs name before their first `: `, and the docs with that lead
/// rewritten as a sentence: "P031 and P032 in message templates: the template files" becomes
/// "In message templates: the template files", "P011: a transition" becomes "A transition".
fn parse_doc(source: &str) -> Option<(Vec<Code>, Doc)> {
    let doc = module_doc(source);
    let (head, rest) = doc.split_once(": ")?;
    let mut codes = Vec::new();
    let mut qualifier = Vec::new();
    for word in head.split_whitespace() {
        match Code::ALL
            .iter()
            .find(|c| c.as_str() == word.trim_end_matches(','))
        {
            Some(code) if qualifier.is_empty() => codes.push(*code),
            None if qualifier.is_empty() && matches!(word, "and" | "(warning)" | "(error)") => {}
            _ => qualifier.push(word),
        }
    }
    if codes.is_empty() {
        return None;
    }
    let lead = if qualifier.is_empty() {
        rest.to_owned()
    } else {
        format!("{}: {rest}", qualifier.join(" "))
    };
    let mut chars = lead.chars();
    let lead: String = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default()
        + chars.as_str();
    let (text, example) = match lead.split_once("\n**Example") {
        Some((text, example)) => (text, Some(format!("**Example{}", example.trim_end()))),
        None => (lead.as_str(), None),
    };
    Some((
        codes,
        Doc {
            text: text.trim().to_owned(),
            example,
        },
    ))
}

impl Code {
    /// What the code finds, why, and an example: the docs of every rule file that reports it,
    /// in file order (for the codes found while the file is read, docs kept here).
    pub fn docs(self) -> Vec<Doc> {
        READ_TIME
            .iter()
            .chain(RULE_FILES.iter().map(|(_, source)| source))
            .filter_map(|source| parse_doc(source))
            .filter(|(codes, _)| codes.contains(&self))
            .map(|(_, doc)| doc)
            .collect()
    }

    /// The anchor of the code's section in `docs/checks.md`, `p011-unknown-state`.
    pub fn anchor(self) -> String {
        format!("{}-{}", self.as_str().to_lowercase(), self.slug())
    }

    /// Where the code is documented: `docs/checks.md#p011-unknown-state`.
    pub fn docs_link(self) -> String {
        format!("{DOCS_PAGE}#{}", self.anchor())
    }

    /// The code written as `P011`, `p011` or by its name, `unknown-state` (or `unknown_state`).
    pub fn lookup(name: &str) -> Option<Code> {
        let name = name.trim();
        Code::ALL.iter().copied().find(|code| {
            code.as_str().eq_ignore_ascii_case(name)
                || code.slug().eq_ignore_ascii_case(&name.replace('_', "-"))
        })
    }

    /// "did you mean `P032`?" for a name [`Code::lookup`] does not know, if a code or a code's
    /// name is close to it.
    pub fn did_you_mean(name: &str) -> Option<String> {
        let name = name.trim();
        let looks_like_a_code =
            name.starts_with(['p', 'P']) && name[1..].starts_with(|c: char| c.is_ascii_digit());
        if looks_like_a_code {
            crate::suggest::did_you_mean(&name.to_uppercase(), Code::ALL.iter().map(|c| c.as_str()))
        } else {
            crate::suggest::did_you_mean(
                &name.to_lowercase().replace('_', "-"),
                Code::ALL.iter().map(|c| c.slug()),
            )
        }
    }
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
    fn every_rule_file_is_read_for_the_docs() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/check/rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".rs") && n != "mod.rs")
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = RULE_FILES.iter().map(|(name, _)| *name).collect();
        assert_eq!(on_disk, listed);
        for (name, source) in RULE_FILES {
            assert!(parse_doc(source).is_some(), "{name} names no code first");
        }
    }

    #[test]
    fn docs_name_every_code_a_rule_file_leads_with() {
        let p031 = Code::P031.docs();
        assert_eq!(p031.len(), 2, "expressions.rs and templates.rs");
        assert!(p031[0].text.starts_with("In the protocol file: guards"));
        assert!(p031[1]
            .text
            .starts_with("In message templates: the template"));
        assert_eq!(Code::P032.docs(), p031);
        let p022 = &Code::P022.docs()[0];
        assert!(p022.text.starts_with("An event declared"), "{}", p022.text);
        assert!(!p022.text.contains("**Example"));
        let example = p022.example.as_deref().unwrap();
        assert!(example.starts_with("**Example.**\n```yaml\n"), "{example}");
        assert!(example.ends_with("```"), "{example}");
        assert!(Code::P001.docs()[0]
            .text
            .starts_with("The file is not one YAML document"));
    }

    #[test]
    fn every_code_is_documented_with_an_example() {
        for code in Code::ALL {
            let docs = code.docs();
            assert!(!docs.is_empty(), "{code} has no docs");
            for doc in docs {
                assert!(doc.text.contains("**Why.**"), "{code}: {}", doc.text);
                assert!(doc.example.is_some(), "{code}: {}", doc.text);
            }
        }
    }

    #[test]
    fn codes_are_found_by_code_or_name() {
        assert_eq!(Code::lookup("P032"), Some(Code::P032));
        assert_eq!(Code::lookup("p032"), Some(Code::P032));
        assert_eq!(Code::lookup("unknown-name"), Some(Code::P032));
        assert_eq!(Code::lookup("Unknown_Name"), Some(Code::P032));
        assert_eq!(Code::lookup("P099"), None);
        assert_eq!(Code::lookup(""), None);
        assert_eq!(
            Code::did_you_mean("unknown-nam").as_deref(),
            Some("did you mean `unknown-name`?")
        );
        assert_eq!(
            Code::did_you_mean("p32").as_deref(),
            Some("did you mean `P032`?")
        );
        assert_eq!(Code::did_you_mean("nothing like it"), None);
        assert_eq!(Code::P032.docs_link(), "docs/checks.md#p032-unknown-name");
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

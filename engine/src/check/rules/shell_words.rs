//! P073 (warning): a `command` gate written as a shell command line, without `shell: true`.
//!
//! **Why.** A gate's `command` is a program and its arguments, run without a shell. A single
//! string such as `python -m py_compile train.py` is therefore the name of one program, spaces
//! included, which does not exist; the gate fails every time it is checked. The same goes for
//! shell syntax: `make && make test`, `grep x log | wc -l`, `run > out.txt` or `$HOME/check` mean
//! something only to a shell, and `&&` or `|` written as list items are passed to the program as
//! arguments. List the program and its arguments, or set `shell: true` to run one string with
//! `/bin/sh -c` (with `shell: true` the command must be that one string: more items are P003).
//!
//! **Example.**
//! ```yaml
//! gates:
//!   compiles: { command: "python -m py_compile train.py", category: uncategorized }   # P073
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

/// What only a shell reads in a program's name.
const SHELL_CHARS: &[char] = &['&', '|', ';', '<', '>', '$', '`', '(', ')', '*', '?'];

/// Shell operators that, as list items, would be passed to the program as arguments.
const OPERATORS: &[&str] = &[
    "&&", "||", "|", ";", "&", ">", ">>", "<", "2>", "2>&1", "&>",
];

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for (name, gate) in cx.protocol.gates.iter() {
        let Some(command) = gate.command.as_ref().filter(|_| !gate.shell) else {
            continue;
        };
        let name = name.as_str();
        let Some(program) = command.first() else {
            continue;
        };
        let plain = without_templates(program);
        let spaced = plain.contains(char::is_whitespace);
        let shell_syntax = plain.contains(SHELL_CHARS) || plain.trim_start().starts_with('~');
        if spaced || shell_syntax {
            let what = if command.len() == 1 {
                "command"
            } else {
                "program"
            };
            let help = if spaced && !shell_syntax && plain == program.as_str() {
                let words: Vec<&str> = program.split_whitespace().collect();
                format!(
                    "list the program and its arguments, `command: [{}]`, or set `shell: true`",
                    words.join(", ")
                )
            } else {
                "set `shell: true` to run it with /bin/sh -c, or list the program and its \
                 arguments"
                    .to_owned()
            };
            out.push(
                cx.at(
                    Code::P073,
                    program.span,
                    format!(
                        "gate `{name}` runs the {what} `{}` as a program of that name, not \
                         through a shell",
                        program.as_str()
                    ),
                )
                .with_help(help),
            );
            continue;
        }
        if let Some(operator) = command
            .iter()
            .skip(1)
            .find(|arg| OPERATORS.contains(&arg.trim()))
        {
            out.push(
                cx.at(
                    Code::P073,
                    operator.span,
                    format!(
                        "gate `{name}` passes `{}` to `{}` as an argument; no shell reads it",
                        operator.trim(),
                        program.as_str()
                    ),
                )
                .with_help(
                    "set `shell: true` and write the command line as one string, or split the \
                     check into gates",
                ),
            );
        }
    }
}

/// `text` with every `{{ }}`, `{% %}` and `{# #}` block replaced by one letter, so that the
/// spaces inside them do not count.
fn without_templates(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(['{']) {
        let close = match rest[start..].chars().nth(1) {
            Some('{') => "}}",
            Some('%') => "%}",
            Some('#') => "#}",
            _ => {
                out.push_str(&rest[..=start]);
                rest = &rest[start + 1..];
                continue;
            }
        };
        out.push_str(&rest[..start]);
        match rest[start + 2..].find(close) {
            Some(end) => {
                out.push('x');
                rest = &rest[start + 2 + end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::without_templates;
    use crate::codes::Code;

    #[test]
    fn templates_do_not_count() {
        assert_eq!(without_templates("{{ python }} -m x"), "x -m x");
        assert_eq!(without_templates("{{ checker }}"), "x");
        assert_eq!(without_templates("a{%- if x %}b{% endif %}"), "axbx");
        assert_eq!(without_templates("a {b} {{ c"), "a {b} {{ c");
    }

    fn p073(command: &str, shell: bool) -> Vec<String> {
        let text = format!(
            "protocol: demo\n\
             vars:\n  checker: {{ type: string, default: x }}\n\
             states:\n  start: {{ initial: true }}\n  done: {{ final: true }}\n\
             gates:\n  g: {{ command: {command}, shell: {shell}, category: uncategorized }}\n\
             transitions:\n  - {{ from: start, on: exited, to: done, gates: [g] }}\n  \
             - {{ from: start, on: incident, to: done }}\n"
        );
        crate::check::findings_of(&text, Code::P073)
            .iter()
            .map(|d| format!("{} | {}", d.message, d.help.as_deref().unwrap_or("")))
            .collect()
    }

    #[test]
    fn commands() {
        assert_eq!(p073("[python, -m, x.py]", false), Vec::<String>::new());
        assert_eq!(p073("\"{{ checker }}\"", false), Vec::<String>::new());
        assert_eq!(p073("\"make && make test\"", true), Vec::<String>::new());
        assert_eq!(
            p073("[python, -c, \"print(1 | 2)\"]", false),
            Vec::<String>::new()
        );
        let spaced = p073("\"python -m x.py\"", false);
        assert!(
            spaced[0].contains("`command: [python, -m, x.py]`"),
            "{spaced:?}"
        );
        let program = p073("[\"python -m\", x.py]", false);
        assert!(
            program[0].contains("the program `python -m`"),
            "{program:?}"
        );
        assert!(p073("\"make && make test\"", false)[0].contains("shell: true` to run"));
        assert!(p073("\"{{ checker }} --all\"", false)[0].contains("shell: true` to run"));
        assert!(p073("\"$HOME/check\"", false).len() == 1);
        assert!(p073("[make, \"&&\", make, test]", false)[0].contains("passes `&&` to `make`"));
    }
}

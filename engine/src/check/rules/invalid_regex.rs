//! P040: an invalid regular expression in a category rule (and P003 for a malformed exception
//! name).
//!
//! **Why.** Rules are compiled when a run starts; a broken one would stop the watcher from
//! classifying anything. Exception names are Python names, optionally dotted
//! (`torch.OutOfMemoryError`).
//!
//! **Example.**
//! ```yaml
//! match:
//!   - { line: "CUDA out of memory (" }   # P040: unclosed group
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

/// What is wrong with `pattern`, if anything: compiled as the classifier will compile it, so
/// a syntax error and a pattern over the regex crate's size limit (a megabyte of literal
/// text, say, which would stop the protocol from compiling at run start) are both found.
fn syntax_error(pattern: &str) -> Option<String> {
    match regex::Regex::new(pattern).err()? {
        regex::Error::Syntax(error) => {
            let detail = error.lines().last().unwrap_or(&error).trim().to_owned();
            Some(format!("invalid regular expression: {detail}"))
        }
        regex::Error::CompiledTooBig(limit) => Some(format!(
            "the regular expression compiles to more than the {limit}-byte size limit"
        )),
        error => Some(format!("invalid regular expression: {error}")),
    }
}

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    for pattern in &p.error_lines {
        if let Some(message) = syntax_error(pattern) {
            out.push(
                cx.at(Code::P040, pattern.span, message)
                    .with_help("error lines use Rust regex syntax (https://docs.rs/regex); name the message's group `(?P<message>...)`"),
            );
        }
    }
    for rule in p.rules().map(|(_, rule)| rule) {
        for pattern in rule.message.iter().chain(&rule.traceback).chain(&rule.line) {
            if let Some(message) = syntax_error(pattern) {
                out.push(
                    cx.at(Code::P040, pattern.span, message)
                        .with_help("rules use Rust regex syntax (https://docs.rs/regex); escape literal characters such as `(` with `\\`"),
                );
            }
        }
        for name in rule.exception.iter().flat_map(|e| e.iter()) {
            if !is_python_name(name) {
                out.push(
                    cx.at(Code::P003, name.span, format!("`{}` is not an exception name", name.as_str()))
                        .with_help("write the exception's class name, optionally with its module: `KeyError`, `torch.OutOfMemoryError`"),
                );
            }
        }
    }
}

fn is_python_name(text: &str) -> bool {
    text.split('.').all(|part| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn python_names() {
        assert!(super::is_python_name("KeyError"));
        assert!(super::is_python_name("torch.OutOfMemoryError"));
        assert!(!super::is_python_name("Key Error"));
        assert!(!super::is_python_name("a..b"));
        assert!(!super::is_python_name(""));
    }

    #[test]
    fn a_pattern_too_big_to_compile_is_reported_like_a_syntax_error() {
        let huge = format!("(a|b){{1000}}{}", "x".repeat(100));
        let message = super::syntax_error(&format!("({huge}){{100}}")).unwrap();
        assert!(message.contains("size limit"), "{message}");
        assert_eq!(super::syntax_error("CUDA out of memory"), None);
    }
}

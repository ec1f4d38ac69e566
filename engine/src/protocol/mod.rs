//! Loading a protocol file into the typed model, with the place of every node.
//!
//! Loading never panics, whatever the bytes: invalid UTF-8, YAML errors and nesting deeper than
//! [`crate::nesting::MAX_DEPTH`] are P001, unknown keys P002, wrong types P003, duplicate keys
//! P004, each at its own line and column.

mod decode;
mod model;
mod tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arcstr::ArcStr;

pub use model::*;

use crate::codes::Code;
use crate::diagnostic::{self, Diagnostic};
use crate::span::{LineIndex, Span};
use tree::{Place, Tree, TreeError};

pub(crate) use decode::is_id;

/// Why a protocol could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid protocol.
    #[error(
        "{} is not a valid protocol ({} problem{})",
        .diagnostics.first().map_or_else(String::new, |d| d.file.display().to_string()),
        .diagnostics.len(),
        if .diagnostics.len() == 1 { "" } else { "s" }
    )]
    Invalid {
        /// The file's text, when it was text.
        source_text: Option<ArcStr>,
        /// Every problem found.
        diagnostics: Vec<Diagnostic>,
    },
}

/// Reads and parses the protocol at `path`.
pub fn load(path: &Path) -> Result<Protocol, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(text) = read_in_place(path).map_err(io)? {
        return parse_text(path, text);
    }
    // Empty, not UTF-8, not a plain file, or changed while it was read: read as bytes, whose
    // problems say where they are.
    let bytes = std::fs::read(path).map_err(io)?;
    let text = text(path, &bytes)?;
    drop(bytes);
    parse_text(path, text)
}

/// The text of the plain file at `path`, read into the one buffer that keeps it; `None` when
/// it is not a plain file, is empty, is not UTF-8, or changed size while it was read.
///
/// Reading the bytes and copying them into the text would free a buffer as large as the file
/// before the protocol is decoded: glibc then serves every allocation below that size from
/// its heap instead of mapping it, and the vectors the decoder grows and the checks build
/// leave their old room behind in that heap (a 10,000-state check took 2 MiB more of RSS,
/// a 50,000-state one 16 MiB: docs/benchmarks.md).
fn read_in_place(path: &Path) -> std::io::Result<Option<ArcStr>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    let Ok(len) = usize::try_from(metadata.len()) else {
        return Ok(None);
    };
    // An empty file is read as bytes too: `ArcStr` makes no empty buffer, and a file of
    // `/proc` says it is empty whatever it holds.
    if !metadata.is_file() || len == 0 {
        return Ok(None);
    }
    let mut read = Ok(());
    let text = ArcStr::init_with(len, |buffer| read = file.read_exact(buffer));
    match read {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let grew = file.read(&mut [0])? > 0;
    Ok(text.ok().filter(|_| !grew))
}

/// Parses protocol `bytes` read from `path`.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Protocol, LoadError> {
    parse_text(path, text(path, bytes)?)
}

/// The text of protocol `bytes`; bytes that are not UTF-8 are P001.
fn text(path: &Path, bytes: &[u8]) -> Result<ArcStr, LoadError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(ArcStr::from(text)),
        Err(error) => {
            let valid = String::from_utf8_lossy(&bytes[..error.valid_up_to()]);
            let line = valid.matches('\n').count() + 1;
            let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let span = Span::new(to_u32(line), to_u32(column), 1);
            let diagnostic = Diagnostic::new(
                Code::P001,
                path,
                span,
                format!(
                    "the file is not valid UTF-8 (byte {} of the file)",
                    error.valid_up_to() + 1
                ),
            )
            .with_help("protocol files are UTF-8; re-save the file as UTF-8");
            Err(LoadError::Invalid {
                source_text: Some(ArcStr::from(String::from_utf8_lossy(bytes))),
                diagnostics: vec![diagnostic],
            })
        }
    }
}

/// Parses a protocol's `text`, read from `path`.
fn parse_text(path: &Path, text: ArcStr) -> Result<Protocol, LoadError> {
    let invalid = |diagnostics: Vec<Diagnostic>| LoadError::Invalid {
        source_text: Some(text.clone()),
        diagnostics,
    };

    if let Some(span) = second_document(&text) {
        let diagnostic = Diagnostic::new(
            Code::P001,
            path,
            span,
            "a protocol file holds one YAML document; found a second",
        )
        .with_help("remove the `---` separator or split the file");
        return Err(invalid(vec![diagnostic]));
    }

    let lines = LineIndex::new(&text);
    let mut decoder = decode::Decoder::new(path, &text, &lines);
    // The transitions are decoded as the tree reads them, each once its nodes are read, so
    // that their nodes, most of a large protocol's, are never all held at once.
    let mut transitions = Vec::new();
    let tree = Tree::parse_streaming(&text, &lines, "transitions", &mut |item| {
        transitions.extend(decode::transition(&mut decoder, item));
    })
    .map_err(|error| invalid(vec![yaml_error(path, error)]))?;
    transitions.shrink_to_fit();
    let streamed = decoder.diagnostics.len();

    let parts = decode::protocol(&mut decoder, tree.root(), transitions);
    let mut diagnostics = decoder.diagnostics;
    if parts.is_none() {
        // A file with no usable `protocol` key is reported for that, and its top-level keys,
        // alone, as before its transitions were read along with its tree.
        diagnostics.drain(..streamed);
    }
    drop(tree);
    match parts {
        Some(parts) if diagnostics.is_empty() => Ok(Protocol {
            path: path.to_path_buf(),
            source: text,
            id: parts.id,
            version: parts.version,
            title: parts.title,
            doc: parts.doc,
            templates: parts.templates,
            roles: parts.roles,
            channels: parts.channels,
            vars: parts.vars,
            job: parts.job,
            events: parts.events,
            categories: parts.categories,
            uncategorized: parts.uncategorized,
            error_lines: parts.error_lines,
            states: parts.states,
            timers: parts.timers,
            transitions: parts.transitions,
            gates: parts.gates,
        }),
        _ => {
            diagnostic::sort(&mut diagnostics);
            Err(invalid(diagnostics))
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The place of a `---` that starts a second document, if any.
fn second_document(text: &str) -> Option<Span> {
    let mut content_seen = false;
    for (index, line) in text.lines().enumerate() {
        let is_marker = line == "---" || line.starts_with("--- ");
        if is_marker && content_seen {
            return Some(Span::new(to_u32(index + 1), 1, 3));
        }
        let trimmed = line.trim_start();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && !is_marker {
            content_seen = true;
        }
    }
    None
}

fn yaml_error(path: &Path, error: TreeError) -> Diagnostic {
    let at = |place: Place| Span::new(place.line, place.column, 1);
    match error {
        TreeError::NotAMapping(p) => Diagnostic::new(
            Code::P001,
            path,
            at(p),
            "a protocol file must be a YAML mapping",
        )
        .with_help("start with `protocol: NAME`"),
        TreeError::Anchor(p) => Diagnostic::new(
            Code::P001,
            path,
            at(p),
            "YAML anchors and aliases are not supported in protocol files",
        )
        .with_help("write the value out where it is used"),
        TreeError::KeyNotScalar(p) => Diagnostic::new(
            Code::P001,
            path,
            at(p),
            "a mapping key must be a plain string",
        ),
        TreeError::Tag(p) => Diagnostic::new(
            Code::P001,
            path,
            at(p),
            "YAML tags (`!name`) are not supported in protocol files",
        ),
        // Deep nesting would overflow the decoder's stack, which recurses: the tree refuses it.
        TreeError::TooDeep(p) => Diagnostic::new(
            Code::P001,
            path,
            at(p),
            format!(
                "the YAML nests deeper than {} levels",
                crate::nesting::MAX_DEPTH
            ),
        )
        .with_help("no protocol needs this depth; write the nested part out flatter"),
        TreeError::Syntax(p, info) => Diagnostic::new(
            Code::P001,
            path,
            at(p),
            format!("YAML syntax error: {info}"),
        ),
        TreeError::Duplicate {
            key,
            at: p,
            first_line,
        } => {
            let span = Span::new(p.line, p.column, to_u32(key.chars().count()));
            Diagnostic::new(Code::P004, path, span, format!("duplicate key `{key}`"))
                .with_help(format!("`{key}` is first defined on line {first_line}"))
        }
    }
}

/// A message template read from the protocol's templates folder.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    /// The template's name (the file is NAME.md.j2).
    pub name: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// Its text.
    pub text: ArcStr,
}

/// The file a template name resolves to.
pub fn template_path(protocol: &Protocol, name: &str) -> PathBuf {
    protocol.templates_dir().join(format!("{name}.md.j2"))
}

/// Reads every template the protocol's messages name; a missing or unreadable one is P030.
pub fn load_templates(protocol: &Protocol) -> (BTreeMap<String, TemplateSource>, Vec<Diagnostic>) {
    let mut templates = BTreeMap::new();
    let mut diagnostics = Vec::new();
    let mut reported = std::collections::BTreeSet::new();
    let names = protocol
        .transitions
        .iter()
        .flat_map(|t| &t.send)
        .filter_map(|send| send.template.as_ref());
    for name in names {
        if templates.contains_key(name.as_str()) || reported.contains(name.as_str()) {
            continue;
        }
        let path = template_path(protocol, name);
        let problem = match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => {
                    templates.insert(
                        name.to_string(),
                        TemplateSource {
                            name: name.to_string(),
                            path,
                            text: ArcStr::from(text),
                        },
                    );
                    continue;
                }
                Err(_) => format!("template `{}` is not valid UTF-8", name.as_str()),
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                format!("template `{}` not found", name.as_str())
            }
            Err(error) => format!("template `{}` cannot be read: {error}", name.as_str()),
        };
        reported.insert(name.value.clone());
        diagnostics.push(
            Diagnostic::new(Code::P030, &protocol.path, name.span, problem)
                .with_help(format!("expected the file {}", path.display())),
        );
    }
    (templates, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_protocol_counts_its_problems_in_words() {
        let one = parse(Path::new("p.yaml"), b"protocol: [\n").unwrap_err();
        assert!(one.to_string().ends_with("(1 problem)"), "{one}");
        let two = parse(Path::new("p.yaml"), b"protocol: p\nstatez: {}\nrolez: {}\n").unwrap_err();
        assert!(two.to_string().ends_with("(2 problems)"), "{two}");
    }

    fn errors(text: &str) -> Vec<String> {
        match parse(Path::new("p.yaml"), text.as_bytes()) {
            Ok(_) => vec![],
            Err(LoadError::Invalid { diagnostics, .. }) => {
                diagnostics.iter().map(Diagnostic::short).collect()
            }
            Err(other) => vec![other.to_string()],
        }
    }

    #[test]
    fn a_file_without_a_usable_protocol_key_is_reported_for_that_alone() {
        let text = "protocol: [x]\nstates: { a: { initial: true, bogus: 1 } }\n\
                    transitions: [{ form: a }]\n";
        assert_eq!(
            errors(text),
            ["p.yaml:1:11: error[P003]: expected a string, found a list"]
        );
    }

    #[test]
    fn a_string_the_protocol_repeats_is_held_once() {
        let p = parse(
            Path::new("p.yaml"),
            b"protocol: p\nstates:\n  a: { initial: true }\n  b: { final: true }\n\
              transitions:\n  - { from: a, on: go, to: b }\n  - { from: \"a\", on: 'go', to: b }\n",
        )
        .unwrap();
        let held = |text: &str| text.as_ptr();
        let (a, b) = (&p.transitions[0], &p.transitions[1]);
        let state = p.states.keys().next().unwrap();
        let from = |t: &Transition| match &t.from {
            From::States(states) => held(&states[0]),
            From::Any(_) => unreachable!(),
        };
        // Plain, double-quoted and single-quoted, as a key and as a value: one string.
        assert_eq!(from(a), held(state));
        assert_eq!(from(b), held(state));
        assert_eq!(held(a.on.as_ref().unwrap()), held(b.on.as_ref().unwrap()));
        assert_eq!(held(a.to.as_ref().unwrap()), held(b.to.as_ref().unwrap()));
        assert_ne!(held(a.to.as_ref().unwrap()), held(state));
    }

    #[test]
    fn minimal_protocol_loads() {
        let p = parse(
            Path::new("p.yaml"),
            b"protocol: p\nstates:\n  a: { initial: true }\n  b: { final: true }\ntransitions:\n  - { from: a, to: b }\n",
        )
        .unwrap();
        assert_eq!(p.id.as_str(), "p");
        assert_eq!(p.states.len(), 2);
        assert_eq!(
            p.transitions[0].to.as_ref().unwrap().span,
            Span::new(6, 20, 1)
        );
    }

    #[test]
    fn a_final_state_declares_its_outcome_success_by_default() {
        let p = parse(
            Path::new("p.yaml"),
            b"protocol: p\nstates:\n  a: { initial: true }\n  b: { final: true }\n  c: { final: true, outcome: failure }\n  d: { final: true, outcome: success }\ntransitions:\n  - { from: a, to: b }\n  - { from: a, to: c }\n  - { from: a, to: d }\n",
        )
        .unwrap();
        assert_eq!(p.outcome("a"), None);
        assert_eq!(p.outcome("b"), Some(Outcome::Success));
        assert_eq!(p.outcome("c"), Some(Outcome::Failure));
        assert_eq!(p.outcome("d"), Some(Outcome::Success));
        assert_eq!(p.outcome("nowhere"), None);
        assert_eq!(
            errors("protocol: p\nstates:\n  a: { initial: true, outcome: failure }\n  b: { final: true, outcome: fail }\ntransitions:\n  - { from: a, to: b }\n"),
            [
                "p.yaml:3:23: error[P003]: `outcome` is only for a final state, and this state is not final",
                "p.yaml:4:30: error[P003]: `fail` is not an outcome",
            ]
        );
    }

    #[test]
    fn phase5b_fails_when_it_gives_up_or_is_terminated() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocols/phase5b.yaml");
        let p = parse(&path, &std::fs::read(&path).unwrap()).unwrap();
        let mut finals: Vec<(&str, Outcome)> = p
            .states
            .keys()
            .filter_map(|s| Some((s.as_str(), p.outcome(s)?)))
            .collect();
        finals.sort_by_key(|(s, _)| *s);
        assert_eq!(
            finals,
            [
                ("complete", Outcome::Success),
                ("gave_up", Outcome::Failure),
                ("terminated", Outcome::Failure),
            ]
        );
    }

    #[test]
    fn every_malformed_node_is_reported_at_its_place() {
        let found = errors(
            "protocol: p\nstates:\n  a: { initial: yes }\ntransitons: []\ntransitions:\n  - { form: a, too: b }\n",
        );
        assert_eq!(
            found,
            [
                "p.yaml:3:17: error[P003]: expected true or false, found `yes`",
                "p.yaml:4:1: error[P002]: unknown key `transitons` in a protocol",
                "p.yaml:6:5: error[P003]: a transition is missing the required key `from`",
                "p.yaml:6:7: error[P002]: unknown key `form` in a transition",
                "p.yaml:6:16: error[P002]: unknown key `too` in a transition",
            ]
        );
    }

    #[test]
    fn yaml_errors_and_bad_bytes_are_p001() {
        assert_eq!(
            errors("protocol: p\nstates: [a, b\nx: 1\n"),
            ["p.yaml:3:2: error[P001]: YAML syntax error: illegal placement of ':' indicator"]
        );
        assert_eq!(
            errors("protocol: p\ntitle: caf\u{e9}\n").len(),
            0,
            "UTF-8 text is fine"
        );
        let mut bytes = b"protocol: p\ntitle: ab".to_vec();
        bytes.push(0xff);
        let found = match parse(Path::new("p.yaml"), &bytes) {
            Err(LoadError::Invalid { diagnostics, .. }) => diagnostics[0].short(),
            _ => String::new(),
        };
        assert_eq!(
            found,
            "p.yaml:2:10: error[P001]: the file is not valid UTF-8 (byte 22 of the file)"
        );
        assert_eq!(
            errors("- a\n"),
            ["p.yaml:1:1: error[P001]: a protocol file must be a YAML mapping"]
        );
        assert_eq!(
            errors("protocol: p\n---\nprotocol: q\n"),
            ["p.yaml:2:1: error[P001]: a protocol file holds one YAML document; found a second"]
        );
    }

    #[test]
    fn a_file_loads_as_its_bytes_parse_and_bad_bytes_are_still_p001() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.yaml");
        let text = "protocol: p\ntitle: caf\u{e9}\nstates: { a: { initial: true, final: true } }\n";
        std::fs::write(&good, text).unwrap();
        let loaded = load(&good).unwrap();
        assert_eq!(&*loaded.source, text);
        assert_eq!(
            loaded.title.map(|t| t.to_string()).as_deref(),
            Some("caf\u{e9}")
        );

        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, b"protocol: p\ntitle: ab\xff\n").unwrap();
        match load(&bad) {
            Err(LoadError::Invalid {
                source_text,
                diagnostics,
            }) => {
                assert_eq!(
                    diagnostics[0].message,
                    "the file is not valid UTF-8 (byte 22 of the file)"
                );
                assert_eq!(
                    source_text.as_deref(),
                    Some("protocol: p\ntitle: ab\u{fffd}\n")
                );
            }
            other => panic!("{other:?}"),
        }

        let empty = dir.path().join("empty.yaml");
        std::fs::write(&empty, "").unwrap();
        assert!(matches!(load(&empty), Err(LoadError::Invalid { .. })));
        assert!(matches!(load(dir.path()), Err(LoadError::Io { .. })));
        assert!(matches!(
            load(&dir.path().join("missing.yaml")),
            Err(LoadError::Io { .. })
        ));
    }

    #[test]
    fn duplicate_keys_are_p004() {
        assert_eq!(
            errors("protocol: p\nstates:\n  a: {}\n  a: {}\n"),
            ["p.yaml:4:3: error[P004]: duplicate key `a`"]
        );
    }
}

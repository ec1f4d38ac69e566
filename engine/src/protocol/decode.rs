//! From a YAML node tree with positions to the typed protocol.
//!
//! serde stops at the first error and loses positions inside "one or many" values; a linter must
//! report every malformed node at its own line and column. So each model type decodes itself from
//! a marked node, pushing a diagnostic for each problem and carrying on with the rest.

use std::path::Path;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::Node;

use super::model::*;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::span::{LineIndex, Span, Spanned};
use crate::suggest;

/// Reads nodes of one file, collecting diagnostics.
pub(crate) struct Decoder<'s> {
    path: &'s Path,
    text: &'s str,
    lines: LineIndex,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'s> Decoder<'s> {
    pub(crate) fn new(path: &'s Path, text: &'s str) -> Self {
        Decoder {
            path,
            text,
            lines: LineIndex::new(text),
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, code: Code, span: Span, message: impl Into<String>) {
        let diagnostic = Diagnostic::new(code, self.path, span, message);
        self.diagnostics.push(diagnostic);
    }

    pub(crate) fn error_with_help(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let diagnostic = Diagnostic::new(code, self.path, span, message).with_help_opt(help);
        self.diagnostics.push(diagnostic);
    }

    fn start(&self, node: &Node) -> (u32, u32) {
        node.span().start().map_or((1, 1), |m| {
            (
                u32::try_from(m.line()).unwrap_or(u32::MAX),
                u32::try_from(m.column()).unwrap_or(u32::MAX),
            )
        })
    }

    /// Whether a scalar was written in quotes (so `""` is a string, not a null).
    fn is_quoted(&self, node: &MarkedScalarNode) -> bool {
        let (line, column) = self.scalar_start(node);
        matches!(
            self.lines
                .from_column(self.text, line, column)
                .chars()
                .next(),
            Some('"' | '\'')
        )
    }

    fn scalar_start(&self, node: &MarkedScalarNode) -> (u32, u32) {
        node.span().start().map_or((1, 1), |m| {
            (
                u32::try_from(m.line()).unwrap_or(u32::MAX),
                u32::try_from(m.column()).unwrap_or(u32::MAX),
            )
        })
    }

    /// The span of a scalar as written: through its closing quote, or the plain text's first line.
    pub(crate) fn scalar_span(&self, node: &MarkedScalarNode) -> Span {
        let (line, column) = self.scalar_start(node);
        let rest = self.lines.from_column(self.text, line, column);
        let len = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => quoted_len(rest, quote),
            _ => {
                let first_line = node.as_str().lines().next().unwrap_or("");
                if !first_line.is_empty() && rest.starts_with(first_line) {
                    first_line.chars().count()
                } else {
                    let token = rest.split([',', ']', '}', '#']).next().unwrap_or(rest);
                    token.trim_end().chars().count()
                }
            }
        };
        Span::new(line, column, u32::try_from(len).unwrap_or(1))
    }

    /// The span of any node; containers are marked at their first character.
    pub(crate) fn span_of(&self, node: &Node) -> Span {
        match node {
            Node::Scalar(scalar) => self.scalar_span(scalar),
            _ => {
                let (line, column) = self.start(node);
                Span::new(line, column, 1)
            }
        }
    }

    /// Whether `node` is an empty value (`key:` with nothing, `~` or `null`).
    fn is_null(&self, node: &Node) -> bool {
        match node {
            Node::Scalar(s) => {
                matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL") && !self.is_quoted(s)
            }
            _ => false,
        }
    }

    /// Opens a mapping node as a set of known keys; reports every key not in `known`.
    pub(crate) fn fields<'n>(
        &mut self,
        node: &'n Node,
        at: Span,
        what: &'static str,
        known: &'static [&'static str],
    ) -> Option<Fields<'n>> {
        let map = match node {
            Node::Mapping(map) => Some(map),
            _ if self.is_null(node) => None,
            _ => {
                self.error(
                    Code::P003,
                    at,
                    format!("expected {what} (a mapping), found {}", describe(node)),
                );
                return None;
            }
        };
        if let Some(map) = map {
            for (key, _) in map.iter() {
                if !known.contains(&key.as_str()) {
                    let span = self.scalar_span(key);
                    self.error_with_help(
                        Code::P002,
                        span,
                        format!("unknown key `{}` in {what}", key.as_str()),
                        suggest::help(key.as_str(), known),
                    );
                }
            }
        }
        Some(Fields { map, at, what })
    }
}

fn quoted_len(rest: &str, quote: char) -> usize {
    let mut chars = rest.chars().skip(1).peekable();
    let mut count = 1;
    while let Some(c) = chars.next() {
        count += 1;
        let escaped = quote == '"' && c == '\\';
        let doubled = quote == '\'' && c == quote && chars.peek() == Some(&quote);
        if escaped || doubled {
            if chars.next().is_some() {
                count += 1;
            }
        } else if c == quote {
            return count;
        }
    }
    count
}

fn describe(node: &Node) -> String {
    match node {
        Node::Scalar(s) => format!("`{}`", truncate(s.as_str())),
        Node::Mapping(_) => "a mapping".into(),
        Node::Sequence(_) => "a list".into(),
    }
}

fn truncate(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// The keys of one mapping, read by name.
pub(crate) struct Fields<'n> {
    map: Option<&'n MarkedMappingNode>,
    at: Span,
    what: &'static str,
}

impl<'n> Fields<'n> {
    /// Where the mapping is.
    pub(crate) fn span(&self) -> Span {
        self.at
    }

    fn lookup(&self, d: &Decoder, key: &str) -> Option<(&'n Node, Span)> {
        let (_, v) = self.map?.iter().find(|(k, _)| k.as_str() == key)?;
        if d.is_null(v) {
            return None;
        }
        Some((v, d.span_of(v)))
    }

    /// The span of `key` itself, when present.
    pub(crate) fn key_span(&self, d: &Decoder, key: &str) -> Option<Span> {
        let (k, _) = self.map?.iter().find(|(k, _)| k.as_str() == key)?;
        Some(d.scalar_span(k))
    }

    /// An optional key: absent, empty, or malformed (reported) gives `None`.
    pub(crate) fn opt<T: Decode>(&self, d: &mut Decoder, key: &str) -> Option<T> {
        let (node, span) = self.lookup(d, key)?;
        T::decode(d, node, span)
    }

    /// An optional key with a default when absent.
    pub(crate) fn or_default<T: Decode + Default>(&self, d: &mut Decoder, key: &str) -> T {
        self.opt(d, key).unwrap_or_default()
    }

    /// A required key: reports its absence.
    pub(crate) fn req<T: Decode>(&self, d: &mut Decoder, key: &str) -> Option<T> {
        match self.lookup(d, key) {
            Some((node, span)) => T::decode(d, node, span),
            None => {
                d.error(
                    Code::P003,
                    self.at,
                    format!("{} is missing the required key `{key}`", self.what),
                );
                None
            }
        }
    }
}

/// A type read from a marked YAML node.
pub(crate) trait Decode: Sized {
    /// Reads `node`, written at `at`; reports problems to `d` and returns `None` when unusable.
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self>;
}

fn scalar<'n>(d: &mut Decoder, node: &'n Node, at: Span, expected: &str) -> Option<&'n str> {
    match node {
        Node::Scalar(s) => Some(s.as_str()),
        _ => {
            d.error(
                Code::P003,
                at,
                format!("expected {expected}, found {}", describe(node)),
            );
            None
        }
    }
}

impl Decode for String {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        scalar(d, node, at, "a string").map(str::to_owned)
    }
}

impl Decode for bool {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        match scalar(d, node, at, "true or false")? {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                d.error(
                    Code::P003,
                    at,
                    format!("expected true or false, found `{}`", truncate(other)),
                );
                None
            }
        }
    }
}

impl<T: Decode> Decode for Spanned<T> {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        T::decode(d, node, at).map(|value| Spanned::new(value, at))
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        match node {
            Node::Sequence(items) => Some(
                items
                    .iter()
                    .filter_map(|item| {
                        let span = d.span_of(item);
                        T::decode(d, item, span)
                    })
                    .collect(),
            ),
            _ => {
                d.error(
                    Code::P003,
                    at,
                    format!("expected a list, found {}", describe(node)),
                );
                None
            }
        }
    }
}

impl<T: Decode> Decode for OneOrMany<T> {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        match node {
            Node::Sequence(_) => Vec::decode(d, node, at).map(OneOrMany),
            _ => T::decode(d, node, at).map(|one| OneOrMany(vec![one])),
        }
    }
}

/// Ids of roles, states, events, vars, fields and categories: usable as template names.
pub(crate) fn is_id(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl<T: Decode> Decode for Map<T> {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let map = match node {
            Node::Mapping(map) => map,
            _ => {
                d.error(
                    Code::P003,
                    at,
                    format!("expected a mapping, found {}", describe(node)),
                );
                return None;
            }
        };
        let mut entries = Vec::with_capacity(map.len());
        for (key, value) in map.iter() {
            let key_span = d.scalar_span(key);
            if !is_id(key.as_str()) {
                d.error_with_help(
                    Code::P003,
                    key_span,
                    format!("`{}` is not a valid id", truncate(key.as_str())),
                    Some(
                        "ids are lowercase letters, digits and `_`, starting with a letter".into(),
                    ),
                );
            }
            let span = if d.is_null(value) {
                key_span
            } else {
                d.span_of(value)
            };
            if let Some(value) = T::decode(d, value, span) {
                entries.push((Spanned::new(key.as_str().to_owned(), key_span), value));
            }
        }
        Some(entries.into_iter().collect())
    }
}

macro_rules! keyword_enum {
    ($ty:ty, $what:literal, { $($word:literal => $variant:expr,)* }) => {
        impl Decode for $ty {
            fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
                const WORDS: &[&str] = &[$($word,)*];
                let text = scalar(d, node, at, $what)?;
                match text {
                    $($word => Some($variant),)*
                    other => {
                        d.error_with_help(
                            Code::P003,
                            at,
                            format!("`{}` is not {}", truncate(other), $what),
                            suggest::help(other, WORDS),
                        );
                        None
                    }
                }
            }
        }
    };
}

keyword_enum!(ValueType, "a type", {
    "string" => ValueType::String,
    "integer" => ValueType::Integer,
    "number" => ValueType::Number,
    "boolean" => ValueType::Boolean,
    "duration" => ValueType::Duration,
    "list" => ValueType::List,
});

keyword_enum!(IncidentSeverity, "a severity", {
    "critical" => IncidentSeverity::Critical,
    "warning" => IncidentSeverity::Warning,
    "info" => IncidentSeverity::Info,
});

keyword_enum!(Effect, "an effect", {
    "launch" => Effect::Launch,
    "stop" => Effect::Stop,
    "restart" => Effect::Restart,
});

impl Decode for serde_json::Value {
    // Any YAML value is a JSON value, so this never reports and needs no place.
    fn decode(d: &mut Decoder, node: &Node, _at: Span) -> Option<Self> {
        Some(match node {
            Node::Scalar(s) => {
                let text = s.as_str();
                if d.is_quoted(s) {
                    serde_json::Value::String(text.to_owned())
                } else if d.is_null(node) {
                    serde_json::Value::Null
                } else if let Ok(int) = text.parse::<i64>() {
                    int.into()
                } else if let Some(float) = text
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    serde_json::Value::Number(float)
                } else if text == "true" || text == "false" {
                    serde_json::Value::Bool(text == "true")
                } else {
                    serde_json::Value::String(text.to_owned())
                }
            }
            Node::Sequence(items) => serde_json::Value::Array(
                items
                    .iter()
                    .filter_map(|item| {
                        let span = d.span_of(item);
                        serde_json::Value::decode(d, item, span)
                    })
                    .collect(),
            ),
            Node::Mapping(map) => serde_json::Value::Object(
                map.iter()
                    .filter_map(|(k, v)| {
                        let span = d.span_of(v);
                        let value = serde_json::Value::decode(d, v, span)?;
                        Some((k.as_str().to_owned(), value))
                    })
                    .collect(),
            ),
        })
    }
}

impl Decode for From {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        if let Node::Scalar(s) = node {
            if s.as_str() == "*" {
                return Some(From::Any(at));
            }
        }
        OneOrMany::<Spanned<String>>::decode(d, node, at).map(|states| From::States(states.0))
    }
}

impl Decode for Role {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let Some(f) = d.fields(node, at, "a role", &["title", "doc"]) else {
            return Some(Role::default());
        };
        Some(Role {
            title: f.opt(d, "title"),
            doc: f.opt(d, "doc"),
        })
    }
}

impl Decode for Channel {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "a channel", &["from", "to", "in"])?;
        let from = f.req(d, "from");
        let to = f.req(d, "to");
        let in_states = f.opt(d, "in");
        Some(Channel {
            span: at,
            from: from?,
            to: to?,
            in_states,
        })
    }
}

impl Decode for Var {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "a variable",
            &["type", "required", "default", "doc"],
        )?;
        let ty = f.req(d, "type");
        let required = f.or_default(d, "required");
        let default = f.opt(d, "default");
        let doc = f.opt(d, "doc");
        Some(Var {
            ty: ty?,
            required,
            default,
            doc,
        })
    }
}

impl Decode for Job {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "the job",
            &["command", "log", "follow", "resume", "stop_grace"],
        )?;
        let command = f.req::<OneOrMany<Spanned<String>>>(d, "command");
        let log = f.req(d, "log");
        let follow = f.or_default(d, "follow");
        let resume = f.opt(d, "resume");
        let stop_grace = f.opt(d, "stop_grace");
        Some(Job {
            span: f.span(),
            command: command?,
            log: log?,
            follow,
            resume,
            stop_grace,
        })
    }
}

impl Decode for Resume {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "`resume`", &["when_exists", "args"])?;
        let when_exists = f.req(d, "when_exists");
        let args = f.or_default(d, "args");
        Some(Resume {
            when_exists: when_exists?,
            args,
        })
    }
}

impl Decode for EventDef {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "an event", &["from", "fields", "doc"])?;
        let from = f.req(d, "from");
        let fields = f.or_default(d, "fields");
        let doc = f.opt(d, "doc");
        Some(EventDef {
            from: from?,
            fields,
            doc,
        })
    }
}

impl Decode for FieldDef {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "an event field", &["type", "required", "doc"])?;
        let ty = f.req(d, "type");
        let required = f.or_default(d, "required");
        let doc = f.opt(d, "doc");
        Some(FieldDef {
            ty: ty?,
            required,
            doc,
        })
    }
}

impl Decode for Category {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "a category",
            &["id", "owner", "severity", "match", "action", "doc"],
        )?;
        let id = f.req(d, "id");
        let owner = f.req(d, "owner");
        let severity = f.req(d, "severity");
        let rules = f.req(d, "match");
        let action = f.opt(d, "action");
        let doc = f.opt(d, "doc");
        Some(Category {
            span: at,
            id: id?,
            owner: owner?,
            severity: severity?,
            rules: rules?,
            action,
            doc,
        })
    }
}

impl Decode for Rule {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "a rule",
            &[
                "exception",
                "message",
                "traceback",
                "line",
                "metric",
                "severity",
            ],
        )?;
        let rule = Rule {
            span: at,
            exception: f.opt(d, "exception"),
            message: f.opt(d, "message"),
            traceback: f.opt(d, "traceback"),
            line: f.opt(d, "line"),
            metric: f.opt(d, "metric"),
            severity: f.opt(d, "severity"),
        };
        let traceback =
            rule.exception.is_some() || rule.message.is_some() || rule.traceback.is_some();
        let kinds = usize::from(traceback)
            + usize::from(rule.line.is_some())
            + usize::from(rule.metric.is_some());
        if kinds != 1 {
            d.error_with_help(
                Code::P003,
                at,
                if kinds == 0 {
                    "a rule must say what it matches"
                } else {
                    "a rule matches one kind of input"
                },
                Some(
                    "give `exception` (with optional `message` and `traceback`), `line`, or \
                     `metric`; write several rules to match several"
                        .into(),
                ),
            );
            return None;
        }
        Some(rule)
    }
}

impl Decode for Uncategorized {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "`uncategorized`",
            &["owner", "severity", "action"],
        )?;
        Some(Uncategorized {
            owner: f.opt(d, "owner"),
            severity: f.opt(d, "severity"),
            action: f.opt(d, "action"),
        })
    }
}

impl Decode for State {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let Some(f) = d.fields(node, at, "a state", &["initial", "final", "doc"]) else {
            return Some(State::default());
        };
        Some(State {
            initial: f.or_default(d, "initial"),
            is_final: f.or_default(d, "final"),
            doc: f.opt(d, "doc"),
        })
    }
}

impl Decode for Timer {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "a timer", &["event", "every", "after", "while"])?;
        let event = f.req(d, "event");
        let every: Option<Spanned<String>> = f.opt(d, "every");
        let after: Option<Spanned<String>> = f.opt(d, "after");
        let while_in = f.req(d, "while");
        if every.is_some() == after.is_some() {
            d.error_with_help(
                Code::P050,
                at,
                "a timer needs exactly one of `every` and `after`",
                Some("`every` fires periodically, `after` once".into()),
            );
            return None;
        }
        Some(Timer {
            span: at,
            event: event?,
            every,
            after,
            while_in: while_in?,
        })
    }
}

impl Decode for Transition {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "a transition",
            &[
                "from", "to", "on", "if", "set", "count", "send", "do", "doc",
            ],
        )?;
        let from = f.req(d, "from");
        let to = f.opt(d, "to");
        let on = f.opt(d, "on");
        let guard = f.opt(d, "if");
        let set = f.or_default(d, "set");
        let count = f.or_default(d, "count");
        let send = f.or_default(d, "send");
        let effects = f.or_default(d, "do");
        let doc = f.opt(d, "doc");
        Some(Transition {
            span: at,
            from: from?,
            to,
            on,
            guard,
            set,
            count,
            send,
            effects,
            doc,
        })
    }
}

impl Decode for Send {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "a message", &["from", "to", "template", "text"])?;
        let from = f.req(d, "from");
        let to = f.req(d, "to");
        let template: Option<Spanned<String>> = f.opt(d, "template");
        let text: Option<Spanned<String>> = f.opt(d, "text");
        if template.is_some() == text.is_some() {
            let span = f.key_span(d, "text").unwrap_or(at);
            d.error_with_help(
                Code::P003,
                span,
                "a message needs exactly one of `template` and `text`",
                Some("`template: NAME` renders NAME.md.j2; `text:` is an inline template".into()),
            );
            return None;
        }
        Some(Send {
            span: at,
            from: from?,
            to: to?,
            template,
            text,
        })
    }
}

/// The top-level keys of a protocol file.
pub(crate) const TOP_LEVEL: &[&str] = &[
    "protocol",
    "version",
    "title",
    "doc",
    "templates",
    "roles",
    "channels",
    "vars",
    "job",
    "events",
    "categories",
    "uncategorized",
    "states",
    "timers",
    "transitions",
];

/// Decodes a whole protocol document.
pub(crate) fn protocol(d: &mut Decoder, root: &Node) -> Option<ProtocolParts> {
    let at = Span::start_of_file();
    let f = d.fields(root, at, "a protocol", TOP_LEVEL)?;
    let id = f.req::<Spanned<String>>(d, "protocol");
    if let Some(id) = &id {
        if !is_protocol_id(id.as_str()) {
            d.error_with_help(
                Code::P003,
                id.span,
                format!("`{}` is not a valid protocol id", truncate(id.as_str())),
                Some("a protocol id matches [a-z][a-z0-9_-]*".into()),
            );
        }
    }
    Some(ProtocolParts {
        id: id?,
        version: f.opt(d, "version"),
        title: f.opt(d, "title"),
        doc: f.opt(d, "doc"),
        templates: f.opt(d, "templates"),
        roles: f.or_default(d, "roles"),
        channels: f.or_default(d, "channels"),
        vars: f.or_default(d, "vars"),
        job: f.opt(d, "job"),
        events: f.or_default(d, "events"),
        categories: f.or_default(d, "categories"),
        uncategorized: f.opt(d, "uncategorized"),
        states: f.or_default(d, "states"),
        timers: f.or_default(d, "timers"),
        transitions: f.or_default(d, "transitions"),
    })
}

fn is_protocol_id(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Everything of a protocol but its file and text.
pub(crate) struct ProtocolParts {
    pub id: Spanned<String>,
    pub version: Option<Spanned<String>>,
    pub title: Option<Spanned<String>>,
    pub doc: Option<Spanned<String>>,
    pub templates: Option<Spanned<String>>,
    pub roles: Map<Role>,
    pub channels: Vec<Channel>,
    pub vars: Map<Var>,
    pub job: Option<Job>,
    pub events: Map<EventDef>,
    pub categories: Vec<Category>,
    pub uncategorized: Option<Uncategorized>,
    pub states: Map<State>,
    pub timers: Vec<Timer>,
    pub transitions: Vec<Transition>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_lengths_include_both_quotes_and_escapes() {
        assert_eq!(quoted_len(r#""a b" rest"#, '"'), 5);
        assert_eq!(quoted_len(r#""a\"b""#, '"'), 6);
        assert_eq!(quoted_len("'it''s' x", '\''), 7);
        assert_eq!(quoted_len("'open", '\''), 5);
    }

    #[test]
    fn ids() {
        assert!(is_id("code_translator"));
        assert!(is_id("p2"));
        assert!(!is_id("Watch"));
        assert!(!is_id("2p"));
        assert!(!is_id("a-b"));
        assert!(!is_id(""));
        assert!(is_protocol_id("phase5b"));
        assert!(is_protocol_id("phase-5b"));
    }
}

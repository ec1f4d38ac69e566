//! The one template environment, and what can be learnt from a template without running it.
//!
//! Guards, `set` expressions, metric rules and message templates are all minijinja, evaluated in
//! one [`Environment`]: undefined names are errors, not empty strings; a fuel limit stops runaway
//! loops; durations render as `2h 30m`; nothing is HTML-escaped (messages are markdown).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use minijinja::machinery::tokenize;
use minijinja::machinery::Token;
use minijinja::value::{DynObject, Object, Value};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

/// Instructions one render or evaluation may execute before it is stopped.
pub const FUEL: u64 = 200_000;

/// The most text one render may produce, in bytes: a message, a field of the job, a gate's
/// reason. Fuel bounds the steps a template takes, not what it writes: one step can write a
/// hundred megabytes (`"x" * 100000000`).
pub const MAX_OUTPUT: usize = 1 << 20;

/// Renders `template` against `context`, as [`minijinja::Template::render`] does, but stops
/// with an error once the text passes [`MAX_OUTPUT`].
pub fn render(
    template: &minijinja::Template<'_, '_>,
    context: Value,
) -> Result<String, minijinja::Error> {
    let mut out = Bounded::default();
    match template.render_captured_to(context, &mut out) {
        Ok(_) => Ok(String::from_utf8(out.text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())),
        Err(_) if out.over => Err(too_long()),
        Err(error) => Err(error),
    }
}

fn too_long() -> minijinja::Error {
    minijinja::Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "the text it renders is longer than {} KiB, the most one render may write",
            MAX_OUTPUT / 1024
        ),
    )
}

/// Where [`render`] writes: refuses any write that would pass [`MAX_OUTPUT`].
#[derive(Default)]
struct Bounded {
    text: Vec<u8>,
    over: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.text.len().saturating_add(bytes.len()) > MAX_OUTPUT {
            self.over = true;
            return Err(std::io::Error::other("the render's output is too long"));
        }
        self.text.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The environment every template and expression is compiled in.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.add_filter("fence", fence);
    env.add_filter("duration", duration_filter);
    env.add_test("nan", |v: Value| as_float(&v).is_some_and(f64::is_nan));
    env.add_test("infinite", |v: Value| {
        as_float(&v).is_some_and(f64::is_infinite)
    });
    env.add_test("finite", |v: Value| {
        as_float(&v).is_some_and(f64::is_finite)
    });
    env
}

fn as_float(value: &Value) -> Option<f64> {
    f64::try_from(value.clone()).ok()
}

/// A duration inside templates: renders as `2h 30m`, compares with other durations, and has
/// `seconds`, `minutes` and `hours` attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DurationValue(pub Duration);

impl DurationValue {
    /// The duration as a template value.
    pub fn value(duration: Duration) -> Value {
        Value::from_object(DurationValue(duration))
    }
}

impl Object for DurationValue {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        // Plain: it renders and serializes as its text, `2h 30m`.
        minijinja::value::ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let seconds = self.0.as_secs_f64();
        match key.as_str()? {
            "seconds" => Some(Value::from(seconds)),
            "minutes" => Some(Value::from(seconds / 60.0)),
            "hours" => Some(Value::from(seconds / 3600.0)),
            _ => None,
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        other
            .downcast_ref::<DurationValue>()
            .map(|other| self.0.cmp(&other.0))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::duration::format(self.0))
    }
}

/// `{{ seconds | duration }}`: a number of seconds (or a duration text) as a duration.
fn duration_filter(value: Value) -> Result<Value, minijinja::Error> {
    if value.downcast_object_ref::<DurationValue>().is_some() {
        return Ok(value);
    }
    if let Some(text) = value.as_str() {
        return crate::duration::parse(text)
            .map(DurationValue::value)
            .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e));
    }
    let seconds = f64::try_from(value.clone()).map_err(|_| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot read {} as a duration", value.kind()),
        )
    })?;
    // Negative, NaN, infinite and too large (from about 1.8e19 seconds on) are all refused;
    // a number read from a job's log may be any of them.
    Duration::try_from_secs_f64(seconds)
        .map(DurationValue::value)
        .map_err(|_| {
            minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("{seconds} is not a duration in seconds"),
            )
        })
}

/// `{{ text | fence }}` or `{{ lines | fence("python") }}`: text from a log as a markdown code
/// block whose fence is longer than any run of backticks inside, so log text can never close it
/// or turn into markup.
fn fence(value: Value, language: Option<String>) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    match value.try_iter() {
        Ok(lines) if value.as_str().is_none() => {
            for (i, line) in lines.enumerate() {
                if i > 0 {
                    text.push('\n');
                }
                match line.as_str() {
                    Some(line) => text.push_str(line),
                    None => {
                        let _ = write!(text, "{line}");
                    }
                }
            }
        }
        _ => {
            let _ = write!(text, "{value}");
        }
    }
    // The longest run of backticks in the text: the fence is one longer.
    let bytes = text.as_bytes();
    let mut longest = 0;
    let mut next = 0;
    for start in memchr::memchr_iter(b'`', bytes) {
        if start < next {
            continue;
        }
        let run = bytes[start..].iter().take_while(|&&b| b == b'`').count();
        longest = longest.max(run);
        next = start + run;
    }
    let ticks = "`".repeat((longest + 1).max(3));
    let body = text.trim_end_matches('\n');
    let language = language.as_deref().unwrap_or("");
    let mut out = String::with_capacity(body.len() + 2 * ticks.len() + language.len() + 2);
    let _ = write!(out, "{ticks}{language}\n{body}\n{ticks}");
    out
}

/// Whether a template (a whole file) or an expression (a guard, `set` value or metric rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Template text with `{{ }}` and `{% %}` blocks.
    Template,
    /// A bare expression.
    Expression,
}

/// A position inside a template or expression: 1-based line and column, length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Length in characters.
    pub len: u32,
}

/// A syntax error, at its place in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What the parser said.
    pub message: String,
    /// Where.
    pub position: Position,
}

/// A name a template reads from its context: `incident.message` reads `incident`, then its
/// attribute `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameUse {
    /// The dotted path, as far as it is plain attribute access.
    pub path: Vec<String>,
    /// Where it is first read.
    pub position: Position,
}

/// A filter or test a template calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Its name.
    pub name: String,
    /// Where it is called.
    pub position: Position,
}

/// What a template or expression reads and calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Context names it reads (locals such as loop variables are left out).
    pub names: Vec<NameUse>,
    /// Filters it calls.
    pub filters: Vec<Call>,
    /// Tests it calls.
    pub tests: Vec<Call>,
}

/// The longest line, and the most lines, a template or expression may have: minijinja keeps
/// lines and columns in 16 bits.
pub const MAX_LINES: usize = u16::MAX as usize - 1;

/// Whether minijinja can compile `source` at all: a line of more than [`MAX_LINES`] characters,
/// or more lines than that, is an error of its own (minijinja would count past its limits).
pub fn placeable(source: &str) -> Result<(), minijinja::Error> {
    let too_many = source.bytes().filter(|&b| b == b'\n').count() >= MAX_LINES;
    let too_long = || {
        source
            .split('\n')
            .any(|line| line.chars().count() >= MAX_LINES)
    };
    if too_many || too_long() {
        let what = if too_many {
            "lines"
        } else {
            "characters on a line"
        };
        return Err(minijinja::Error::new(
            ErrorKind::SyntaxError,
            format!("more than {} {what}", MAX_LINES - 1),
        ));
    }
    Ok(())
}

/// Compiles `source` and lists what it reads and calls, or says where its syntax is wrong.
pub fn analyze(env: &Environment, source: &str, kind: Kind) -> Result<Analysis, SyntaxError> {
    placeable(source).map_err(|error| syntax_error(source, &error))?;
    let undeclared = match kind {
        Kind::Template => env
            .template_from_str(source)
            .map(|t| t.undeclared_variables(true)),
        Kind::Expression => env
            .compile_expression(source)
            .map(|e| e.undeclared_variables(true)),
    }
    .map_err(|error| syntax_error(source, &error))?;

    let in_expr = kind == Kind::Expression;
    let tokens: Vec<(Token, Position)> = tokenize(source, in_expr, Default::default())
        .filter_map(Result::ok)
        .map(|(token, span)| {
            let position = Position {
                line: u32::from(span.start_line),
                column: u32::from(span.start_col) + 1,
                len: (span.end_offset.saturating_sub(span.start_offset)).max(1),
            };
            (token, position)
        })
        .collect();

    let mut analysis = Analysis::default();
    let mut names: Vec<Vec<String>> = undeclared
        .into_iter()
        .map(|path| path.split('.').map(str::to_owned).collect())
        .collect();
    names.sort();
    for path in names {
        if env.globals().any(|(global, _)| global == path[0]) {
            continue;
        }
        let position = find_path(&tokens, &path).unwrap_or(Position {
            line: 1,
            column: 1,
            len: 1,
        });
        analysis.names.push(NameUse { path, position });
    }
    for (i, (token, _)) in tokens.iter().enumerate() {
        let next_ident = |at: usize| match tokens.get(at) {
            Some((Token::Ident(name), position)) => Some(Call {
                name: (*name).to_owned(),
                position: *position,
            }),
            _ => None,
        };
        match token {
            Token::Pipe => analysis.filters.extend(next_ident(i + 1)),
            Token::Ident("is") => {
                let negated = matches!(tokens.get(i + 1), Some((Token::Ident("not"), _)));
                analysis
                    .tests
                    .extend(next_ident(i + 1 + usize::from(negated)));
            }
            _ => {}
        }
    }
    Ok(analysis)
}

/// The place of the first token run `a . b . c` spelling `path`, or of its first name.
fn find_path(tokens: &[(Token, Position)], path: &[String]) -> Option<Position> {
    let spells = |start: usize, depth: usize| {
        (0..depth).all(|k| {
            let name_ok =
                matches!(tokens.get(start + 2 * k), Some((Token::Ident(n), _)) if *n == path[k]);
            let dot_ok = k == 0 || matches!(tokens.get(start + 2 * k - 1), Some((Token::Dot, _)));
            name_ok && dot_ok
        })
    };
    for depth in (1..=path.len()).rev() {
        for start in 0..tokens.len() {
            if spells(start, depth) {
                let first = tokens[start].1;
                let last = tokens[start + 2 * (depth - 1)].1;
                let len = if first.line == last.line {
                    last.column + last.len - first.column
                } else {
                    first.len
                };
                return Some(Position { len, ..first });
            }
        }
    }
    None
}

fn syntax_error(source: &str, error: &minijinja::Error) -> SyntaxError {
    let detail = error
        .detail()
        .map_or_else(|| error.kind().to_string(), str::to_owned);
    let position = match error.range() {
        Some(range) => {
            let before = &source[..range.start.min(source.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let len = source
                .get(range.clone())
                .map_or(1, |text| text.chars().count().max(1));
            Position {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
                len: u32::try_from(len).unwrap_or(1),
            }
        }
        None => Position {
            line: error
                .line()
                .and_then(|l| u32::try_from(l).ok())
                .unwrap_or(1),
            column: 1,
            len: 1,
        },
    };
    SyntaxError {
        message: detail,
        position,
    }
}

/// Renders template `source` against a context given as YAML or JSON text (for authors trying a
/// template out). Durations in the context stay text; use the `duration` filter to read them.
pub fn render_with_context(source: &str, context: &str) -> Result<String, String> {
    let context = read_context(context)?;
    render_source(source, Value::from(minijinja::value::Serde(&context)))
}

/// Reads a render context: a YAML or JSON mapping of names to values, nested at most
/// [`crate::nesting::MAX_DEPTH`] deep.
pub fn read_context(text: &str) -> Result<serde_json::Value, String> {
    crate::nesting::check(text).map_err(|deep| deep.to_string())?;
    let context: serde_json::Value =
        serde_yaml::from_str(text).map_err(|e| format!("the context is not YAML: {e}"))?;
    if !context.is_object() {
        return Err("the context must be a mapping of names to values".into());
    }
    Ok(context)
}

fn render_source(source: &str, context: Value) -> Result<String, String> {
    let env = environment();
    placeable(source)
        .and_then(|()| env.template_from_str(source))
        .and_then(|template| render(&template, context))
        .map_err(|e| {
            let mut text = e.to_string();
            if let Some(detail) = e.detail() {
                if !text.contains(detail) {
                    text = format!("{text}: {detail}");
                }
            }
            text
        })
}

/// Why [`render_template`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The protocol does not load.
    #[error("{0}; see `warden check`")]
    Load(#[from] crate::protocol::LoadError),
    /// The template or the context cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The context file is not a mapping of names to values.
    #[error("{}: {message}", path.display())]
    Context {
        /// The context file.
        path: std::path::PathBuf,
        /// What is wrong, with the line and column.
        message: String,
    },
    /// The template does not render against the context.
    #[error("{}: {message}", path.display())]
    Template {
        /// The template file.
        path: std::path::PathBuf,
        /// Why, with minijinja's detail.
        message: String,
    },
}

/// Renders the message template `name` of the protocol at `protocol` against the YAML or JSON
/// context in the file `context` (`warden render`).
pub fn render_template(
    protocol: &std::path::Path,
    name: &str,
    context: &std::path::Path,
) -> Result<String, RenderError> {
    let protocol = crate::protocol::load(protocol)?;
    let path = crate::protocol::template_path(&protocol, name);
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|source| RenderError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let source = read(&path)?;
    let values = read(context)?;
    let bad_context = |message| RenderError::Context {
        path: context.to_path_buf(),
        message,
    };
    let values = read_context(&values).map_err(bad_context)?;
    let values = with_vars(&protocol, &values).map_err(bad_context)?;
    render_source(&source, values).map_err(|message| RenderError::Template { path, message })
}

/// The context as a run would give it: every var of `protocol` typed as the protocol declares
/// it (a duration as a duration), from the context or else from its default, beside the
/// context's other names; a `job` without the Slurm fields is a local job's, whose fields are
/// none.
fn with_vars(
    protocol: &crate::protocol::Protocol,
    context: &serde_json::Value,
) -> Result<Value, String> {
    // `read_context` gives a mapping only.
    let Some(given) = context.as_object() else {
        return Err("the context must be a mapping of names to values".into());
    };
    let mut given = given.clone();
    if let Some(job) = given.get_mut("job").and_then(|j| j.as_object_mut()) {
        for field in ["slurm_job", "slurm_state"] {
            job.entry(field).or_insert(serde_json::Value::Null);
        }
    }
    let given = &given;
    let mut names: std::collections::BTreeMap<String, Value> = given
        .iter()
        .map(|(name, value)| (name.clone(), Value::from(minijinja::value::Serde(value))))
        .collect();
    for (name, var) in protocol.vars.iter() {
        let Some(value) = given
            .get(name.as_str())
            .or(var.default.as_ref().map(|d| &d.value))
        else {
            continue;
        };
        let typed = crate::machine::typed(var.ty.value, value)
            .map_err(|reason| format!("var `{}`: {reason}", name.as_str()))?;
        names.insert(name.to_string(), typed);
    }
    Ok(Value::from(names))
}

/// Whether the environment knows the filter `name`.
pub fn has_filter(env: &Environment, name: &str) -> bool {
    probe(
        env,
        &format!("{{{{ none | {name} }}}}"),
        ErrorKind::UnknownFilter,
    )
}

/// Whether the environment knows the test `name`.
pub fn has_test(env: &Environment, name: &str) -> bool {
    probe(
        env,
        &format!("{{{{ none is {name} }}}}"),
        ErrorKind::UnknownTest,
    )
}

fn probe(env: &Environment, template: &str, unknown: ErrorKind) -> bool {
    match env.render_str(template, ()) {
        Ok(_) => true,
        Err(error) => error.kind() != unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn fence_outgrows_backticks_in_the_text() {
        let env = environment();
        let out = env
            .render_str("{{ t | fence }}", context! { t => "a ```` b" })
            .unwrap();
        assert_eq!(out, "`````\na ```` b\n`````");
        let out = env
            .render_str(
                "{{ t | fence('python') }}",
                context! { t => vec!["x", "y"] },
            )
            .unwrap();
        assert_eq!(out, "```python\nx\ny\n```");
    }

    #[test]
    fn durations_render_and_compare() {
        let env = environment();
        let ctx = context! {
            up => DurationValue::value(Duration::from_secs(9000)),
            limit => DurationValue::value(Duration::from_secs(86400)),
        };
        assert_eq!(env.render_str("{{ up }}", &ctx).unwrap(), "2h 30m");
        assert_eq!(
            env.render_str("{{ up < limit }} {{ up.hours }}", &ctx)
                .unwrap(),
            "True 2.5"
        );
        assert_eq!(env.render_str("{{ 90 | duration }}", ()).unwrap(), "1m 30s");
        assert_eq!(
            env.render_str("{{ '1h30m' | duration }}", ()).unwrap(),
            "1h 30m"
        );
    }

    #[test]
    fn a_number_no_duration_can_hold_is_a_render_error_not_a_panic() {
        let env = environment();
        for seconds in [1e20, 1.9e19, f64::MAX, -1.0, f64::NAN, f64::INFINITY] {
            let error = env
                .render_str("{{ s | duration }}", context! { s => seconds })
                .unwrap_err();
            assert!(
                error.to_string().contains("is not a duration in seconds"),
                "{seconds}: {error}"
            );
        }
        assert_eq!(
            env.render_str("{{ 1e15 | duration }}", ()).unwrap(),
            "277777777777h 46m"
        );
    }

    /// Every filter and test, given numbers no duration, integer or index can hold, fails or
    /// renders; none panics.
    #[test]
    fn no_filter_or_test_panics_on_extreme_numbers() {
        let env = environment();
        let values = [
            "1e20",
            "-1e20",
            "1.8e19",
            "1e308",
            "-1e308",
            "nan",
            "inf",
            "-inf",
            "-1",
            "0",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
            "340282366920938463463374607431768211455",
        ];
        let filters = [
            "duration",
            "fence",
            "abs",
            "int",
            "float",
            "round",
            "round(v)",
            "round(-400)",
            "string",
            "first",
            "last",
            "length",
            "list",
            "batch(3)",
            "slice(3)",
            "default(v)",
            "sum",
            "min",
            "max",
            "unique",
            "join",
            "reverse",
            "sort",
            "tojson",
            "indent(2)",
            "truncate(3)",
            "center(5)",
            "wordcount",
            "title",
            "upper",
            "lower",
            "trim",
            "bool",
            "pprint",
            "attr('x')",
            "select",
            "reject",
            "map('abs')",
            "items",
            "dictsort",
            "format(v)",
            "replace('1', '2')",
            "split",
            "lines",
        ];
        let tests = [
            "nan",
            "infinite",
            "finite",
            "odd",
            "even",
            "divisibleby(v)",
            "number",
            "integer",
            "float",
            "defined",
            "true",
            "false",
            "eq(v)",
            "lt(v)",
        ];
        for v in values {
            let v = match v {
                "nan" => "(0.0 / 0.0)".to_owned(),
                "inf" => "1e400".to_owned(),
                "-inf" => "-1e400".to_owned(),
                other => format!("({other})"),
            };
            let mut sources = Vec::new();
            for filter in filters {
                let filter = filter.replace('v', &v);
                sources.push(format!("{{{{ {v} | {filter} }}}}"));
                sources.push(format!("{{{{ [{v}, 1] | {filter} }}}}"));
            }
            for test in tests {
                sources.push(format!("{{{{ {v} is {} }}}}", test.replace('v', &v)));
            }
            for expr in [
                "range({v})",
                "range(0, {v}, 2)",
                "'x' * {v}",
                "[1] * {v}",
                "'abc'[{v}]",
                "'abc'[{v}:]",
                "[1, 2][{v}]",
                "{v} // 0",
                "{v} % 0",
                "{v} ** {v}",
                "{v} * {v}",
                "{v} + 1",
                "{v} | int * 2",
                "{v} | int ** 64",
            ] {
                sources.push(format!("{{{{ {} }}}}", expr.replace("{v}", &v)));
            }
            for source in sources {
                let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    env.render_str(&source, ()).map(|s| s.len())
                }));
                assert!(rendered.is_ok(), "`{source}` panicked");
            }
        }
    }

    #[test]
    fn a_render_stops_at_the_output_limit() {
        let env = environment();
        let template = env
            .template_from_str("{% for i in range(n) %}{{ 'x' * 100000 }}{% endfor %}")
            .unwrap();
        let out = render(&template, context! { n => 10 }).unwrap();
        assert_eq!(out.len(), 1_000_000);
        // Fuel alone lets this write 2 MB, and a hundred megabytes a step.
        assert!(env
            .render_str(
                "{% for i in range(n) %}{{ 'x' * 100000 }}{% endfor %}",
                context! { n => 20 }
            )
            .is_ok_and(|out| out.len() == 2_000_000));
        let error = render(&template, context! { n => 20 }).unwrap_err();
        assert!(
            error.to_string().contains("longer than 1024 KiB"),
            "{error}"
        );
        let error = render_with_context("{{ 'x' * 100000000 }}", "{}").unwrap_err();
        assert!(error.contains("longer than 1024 KiB"), "{error}");
    }

    #[test]
    fn a_context_nested_too_deep_is_refused_where_it_goes_too_deep() {
        for flow in [false, true] {
            let deep = crate::nesting::nested(100_000, flow);
            let error = render_with_context("{{ x }}", &format!("x:\n  {deep}")).unwrap_err();
            assert!(
                error.starts_with("line 2 column ")
                    && error.ends_with("nests deeper than 128 levels"),
                "{error}"
            );
        }
    }

    #[test]
    fn undefined_names_are_errors() {
        let env = environment();
        assert!(env.render_str("{{ nope }}", ()).is_err());
    }

    #[test]
    fn analysis_finds_names_with_positions() {
        let env = environment();
        let a = analyze(
            &env,
            "Model {{ model }}\n{% for h in history %}{{ h.to }}{% endfor %}\n  {{ incident.message | fence }}{% if x is not defined %}{% endif %}",
            Kind::Template,
        )
        .unwrap();
        let names: Vec<_> = a
            .names
            .iter()
            .map(|n| {
                (
                    n.path.join("."),
                    n.position.line,
                    n.position.column,
                    n.position.len,
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("history".to_owned(), 2, 13, 7),
                ("incident.message".to_owned(), 3, 6, 16),
                ("model".to_owned(), 1, 10, 5),
                ("x".to_owned(), 3, 39, 1),
            ]
        );
        assert_eq!(a.filters[0].name, "fence");
        assert_eq!(a.tests[0].name, "defined");
    }

    #[test]
    fn a_line_longer_than_minijinja_can_count_is_an_error_not_an_overflow() {
        // minijinja's columns are 16-bit: an error at column 65,535 used to overflow them.
        let source = format!("{}{{% raw %}}", "x".repeat(MAX_LINES));
        let e = analyze(&environment(), &source, Kind::Template).unwrap_err();
        assert!(e.message.contains("characters on a line"), "{e:?}");
        let e = render_with_context(&source, "{}").unwrap_err();
        assert!(e.contains("characters on a line"), "{e}");
        let lines = "\n".repeat(MAX_LINES);
        let e = analyze(&environment(), &lines, Kind::Template).unwrap_err();
        assert!(e.message.contains("lines"), "{e:?}");
        assert!(analyze(&environment(), &"x".repeat(MAX_LINES - 1), Kind::Template).is_ok());
    }

    #[test]
    fn syntax_errors_have_positions() {
        let env = environment();
        let e = analyze(&env, "ok\n{{ x + }}\n", Kind::Template).unwrap_err();
        assert_eq!((e.position.line, e.position.column), (2, 8));
        let e = analyze(&env, "a ==", Kind::Expression).unwrap_err();
        assert_eq!(e.position.line, 1);
    }

    #[test]
    fn knows_its_filters_and_tests() {
        let env = environment();
        assert!(has_filter(&env, "fence"));
        assert!(has_filter(&env, "upper"));
        assert!(!has_filter(&env, "nosuch"));
        assert!(has_test(&env, "defined"));
        assert!(has_test(&env, "nan"));
        assert_eq!(
            env.render_str(
                "{{ x is nan }} {{ y is infinite }} {{ y is finite }} {{ 1 is nan }}",
                context! { x => f64::NAN, y => f64::INFINITY }
            )
            .unwrap(),
            "True True False False"
        );
        assert!(!has_test(&env, "nosuch"));
    }
}

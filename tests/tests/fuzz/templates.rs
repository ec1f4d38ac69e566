//! Expressions and templates: in Warden's one environment, any expression or template renders
//! against any context, or fails with an error; never a panic, and never an output without
//! bound. Contexts hold the numbers that broke conversions (1e20, -1, NaN, infinities, past
//! `u64`), huge strings and durations; templates are the shipped ones, mutated, and generated
//! ones that expand.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use minijinja::value::Value;
use minijinja::Environment;
use proptest::prelude::*;
use warden::expr::{self, DurationValue};

use crate::mutate::{self, Edit};

/// The largest output a render may give: Warden's own bound.
pub const OUTPUT_BOUND: usize = expr::MAX_OUTPUT;

/// Renders `source` as Warden renders every template: bounded in bytes.
fn render(source: &str, context: Value) -> Option<String> {
    expr::placeable(source).ok()?;
    let template = env().template_from_str(source).ok()?;
    expr::render(&template, context).ok()
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(expr::environment)
}

/// Floats that have broken conversions, `duration`'s included (1.8e19 and past).
fn hostile_float() -> BoxedStrategy<f64> {
    let floats = vec![
        -1.0,
        -0.0,
        0.0,
        0.5,
        1.0 / 3.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        -1e20,
        9.2e18,
        1.8e19,
        1.8446744073709552e19,
        1e20,
        1e308,
        f64::MAX,
    ];
    prop_oneof![3 => proptest::sample::select(floats), 1 => any::<f64>()].boxed()
}

/// Integers at the edges of every width.
fn hostile_int() -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::sample::select(vec![
            -1i64,
            0,
            1,
            i64::MAX,
            i64::MIN,
            i32::MAX as i64,
            u32::MAX as i64
        ])
        .prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        Just(Value::from(i128::MAX)),
        any::<i64>().prop_map(Value::from),
    ]
}

/// Strings: empty, backticks that try to close a fence, odd characters, huge.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{0,24}",
        1 => Just(String::new()),
        1 => Just("```\n```python\n````".to_owned()),
        1 => Just("\u{0}\r\n\u{feff}é😀\u{2028}".to_owned()),
        1 => Just("{{ incident.category }}{% for x in range(9) %}".to_owned()),
        1 => (1usize..1 << 20).prop_map(|n| "x".repeat(n)),
    ]
}

/// Any template value, nested, its mappings keyed by `keys` (the names a template reads, so
/// that `incident.category` finds a `category`) or any short name.
pub fn value(keys: Vec<String>) -> impl Strategy<Value = Value> {
    let key = prop_oneof![proptest::sample::select(keys), "[a-z_]{1,6}".boxed()];
    let leaf = prop_oneof![
        3 => hostile_float().prop_map(Value::from),
        2 => hostile_int(),
        2 => hostile_string().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => Just(Value::from(())),
        1 => Just(Value::UNDEFINED),
        1 => prop_oneof![any::<u64>(), Just(u64::MAX), Just(0)]
            .prop_map(|s| DurationValue::value(Duration::from_secs(s))),
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(key.clone(), inner, 0..6).prop_map(Value::from),
        ]
    })
}

/// A context: the names a source reads (each word of it) and the usual ones, bound to values.
fn context(names: Vec<String>) -> impl Strategy<Value = BTreeMap<String, Value>> {
    let mut names = names;
    names.extend(
        [
            "x", "incident", "metrics", "job", "run", "vars", "event", "gates", "state",
        ]
        .map(str::to_owned),
    );
    names.sort();
    names.dedup();
    let n = names.len();
    proptest::collection::btree_map(
        proptest::sample::select(names.clone()),
        value(names),
        0..n.min(12),
    )
}

/// Renders `source` against `context`: an output within bound, or an error.
fn render_holds(source: &str, context: BTreeMap<String, Value>) -> Result<(), TestCaseError> {
    if let Some(out) = render(source, Value::from(context)) {
        prop_assert!(
            out.len() <= OUTPUT_BOUND,
            "{} bytes from {source:?}",
            out.len()
        );
    }
    // The analysis `check` makes of a template never panics either.
    let _ = expr::analyze(env(), source, expr::Kind::Template);
    Ok(())
}

/// Evaluates expression `source` against `context`, and renders it as `{{ source }}`.
fn eval_holds(source: &str, context: BTreeMap<String, Value>) -> Result<(), TestCaseError> {
    let context = Value::from(context);
    let compiled = expr::placeable(source).and_then(|()| env().compile_expression(source));
    if let Ok(compiled) = compiled {
        let _ = compiled.eval(context.clone());
    }
    let _ = expr::analyze(env(), source, expr::Kind::Expression);
    if let Some(out) = render(&format!("{{{{ {source} }}}}"), context) {
        prop_assert!(
            out.len() <= OUTPUT_BOUND,
            "{} bytes from {source:?}",
            out.len()
        );
    }
    Ok(())
}

/// The words of a text that could be names.
fn names_in(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        })
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names.truncate(64);
    names
}

/// An expression of Warden's environment: names, hostile literals, its own filters and tests
/// and minijinja's, operators.
fn expression() -> impl Strategy<Value = String> {
    let mut literals: Vec<String> = mutate::hostile_numbers()
        .into_iter()
        .filter(|n| {
            n.chars().all(|c| c.is_ascii_digit() || ".-e".contains(c))
                && !n.starts_with('.')
                && !n.is_empty()
                && n != &"-"
        })
        .map(str::to_owned)
        .collect();
    literals.extend(
        [
            "none",
            "true",
            "'x'",
            "''",
            "'```'",
            "[1, 2]",
            "{'a': 1}",
            "range(3)",
            "'nan' | float",
            "'inf' | float",
            "'12h' | duration",
            "90 | duration",
            "incident.category",
            "metrics.x",
            "job.exit_code",
            "x.y.z",
            "x[0]",
            "x['a']",
            // Past what `duration` takes, for every other filter and operator.
            "1e20",
            "1.8e19",
            "18446744073709551616",
            "range(100000)",
        ]
        .map(str::to_owned),
    );
    let atom = prop_oneof![
        3 => proptest::sample::select(literals),
        2 => mutate::identifier(),
    ];
    atom.prop_recursive(4, 32, 3, move |inner| {
        let filters = vec![
            "fence",
            "fence('python')",
            "round",
            "round(2)",
            "int",
            "float",
            "abs",
            "length",
            "default('d')",
            "join(',')",
            "upper",
            "list",
            "first",
            "last",
            "sort",
            "tojson",
            "string",
            "trim",
            "replace('a', 'bb')",
            "max",
            "min",
            "sum",
            "unique",
            "reverse",
            "items",
            "dictsort",
            "batch(2)",
            "indent(4)",
            "title",
            "safe",
            "escape",
            "count",
            "attr('x')",
            "map('upper')",
            "select('nan')",
            "reject('finite')",
        ];
        let tests = vec![
            "nan", "infinite", "finite", "defined", "none", "number", "string",
        ];
        let operators = vec![
            "+", "-", "/", "//", "%", "==", "!=", "<", ">", "<=", ">=", "and", "or", "in", "~",
        ];
        prop_oneof![
            (inner.clone(), proptest::sample::select(filters))
                .prop_map(|(e, f)| format!("({e}) | {f}")),
            inner.clone().prop_map(|e| format!("({e}) | duration")),
            (inner.clone(), proptest::sample::select(tests))
                .prop_map(|(e, t)| format!("({e}) is {t}")),
            (
                inner.clone(),
                proptest::sample::select(operators),
                inner.clone()
            )
                .prop_map(|(a, o, b)| format!("({a}) {o} ({b})")),
            (inner.clone(), repeat_count()).prop_map(|(a, n)| format!("({a}) * {n}")),
            (inner.clone(), repeat_count()).prop_map(|(a, n)| format!("({a}) ** {n}")),
            inner.clone().prop_map(|e| format!("not ({e})")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(a, b, c)| format!("({a}) if ({b}) else ({c})")),
        ]
    })
}

/// How many times a string is repeated or a number raised: a little, a lot, past every width,
/// negative.
fn repeat_count() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..5).prop_map(|n| n.to_string()),
        Just("100000".to_owned()),
        Just("1000000000".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("-1".to_owned()),
    ]
}

/// A template that expands: loops over ranges, repeated strings, recursion through macros.
fn expanding_template() -> impl Strategy<Value = String> {
    let (n, m) = (1_000_000u32, 1_000_000_000u32);
    let list = if crate::KNOWN_LIST_REPEAT_MEMORY {
        100_000u32
    } else {
        m
    };
    prop_oneof![
        (0..n, 0..m).prop_map(|(n, m)| format!("{{% for i in range({n}) %}}{{{{ 'x' * {m} }}}}{{% endfor %}}")),
        (0..n, 0..n).prop_map(|(n, m)| format!("{{% for i in range({n}) %}}{{% for j in range({m}) %}}{{{{ i ~ j }}}}{{% endfor %}}{{% endfor %}}")),
        (0..m).prop_map(|m| format!("{{% set s = 'ab' * {m} %}}{{{{ s ~ s ~ s ~ s }}}}")),
        // A list repeated is one step too, and prints three bytes an item; minijinja builds
        // the whole list first, before any bound of Warden's applies.
        (0..list).prop_map(|m| format!("{{{{ [1] * {m} }}}}")),
        (0..n).prop_map(|n| format!("{{% macro f(k) %}}{{% if k > 0 %}}{{{{ f(k - 1) }}}}{{{{ f(k - 1) }}}}{{% else %}}x{{% endif %}}{{% endmacro %}}{{{{ f({n}) }}}}")),
        Just("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}".to_owned()),
        Just("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}".to_owned()),
    ]
}

fn shipped_templates() -> &'static [String] {
    static TEMPLATES: OnceLock<Vec<String>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        crate::shipped_files("templates", ".md.j2")
            .iter()
            .map(|f| crate::shipped(f))
            .collect()
    })
}

/// Values to put into a template: the YAML ones and template syntax.
fn template_values() -> BoxedStrategy<String> {
    prop_oneof![
        3 => mutate::yaml_values(),
        2 => expression().prop_map(|e| format!("{{{{ {e} }}}}")),
        1 => proptest::sample::select(vec![
            "{% for x in incident.traceback %}", "{% endfor %}", "{% if x %}", "{% else %}",
            "{% endif %}", "{% set x = 1 %}", "{% raw %}", "{% endraw %}", "{%- ", " -%}",
            "{{ loop.index }}", "{% include 'x' %}", "{% extends 'x' %}", "{% block b %}",
            "{% macro m() %}", "{% endmacro %}", "{{ caller() }}", "{{ self }}",
        ]).prop_map(str::to_owned),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(crate::config(96))]

    /// The `duration` filter takes any number: a duration, or an error.
    #[test]
    fn duration_filter_takes_any_number(number in hostile_float()) {
        let context = BTreeMap::from([("x".to_owned(), Value::from(number))]);
        render_holds("{{ x | duration }}", context.clone())?;
        eval_holds("x | duration > '1h' | duration", context)?;
    }

    /// Generated expressions against generated contexts.
    #[test]
    fn expressions_evaluate_or_fail(
        (source, context) in expression().prop_flat_map(|e| (Just(e.clone()), context(names_in(&e))))
    ) {
        eval_holds(&source, context)?;
    }

    /// The shipped templates, mutated, against contexts binding the names they read to
    /// hostile values (or leaving them undefined).
    #[test]
    fn mutated_shipped_templates_render_or_fail(
        (source, context) in (0..shipped_templates().len(), mutate::edits(template_values(), 4))
            .prop_map(|(t, edits)| mutate::apply(&shipped_templates()[t], &edits))
            .prop_flat_map(|s| (Just(s.clone()), context(names_in(&s))))
    ) {
        render_holds(&source, context)?;
    }

    /// Templates that expand, bounded by fuel in steps and by the environment in bytes.
    #[test]
    fn expanding_templates_stay_bounded(source in expanding_template()) {
        render_holds(&source, BTreeMap::new())?;
    }

    /// Messages read names that are not defined (`incident.category` before any incident): an
    /// error, never a panic or an empty string.
    #[test]
    fn undefined_names_are_errors(name in prop_oneof![
        Just("incident.category".to_owned()),
        Just("metrics.x".to_owned()),
        Just("gates.model_compiles.value".to_owned()),
        mutate::identifier(),
    ]) {
        let source = format!("before {{{{ {name} }}}} after");
        let out = env().render_str(&source, Value::from(BTreeMap::<String, Value>::new()));
        prop_assert!(out.is_err(), "{name} rendered as {out:?}");
    }
}

#[test]
fn edit_helpers_work() {
    // A word swap keeps the rest of the text.
    assert_eq!(mutate::apply("a b c", &[Edit::SwapWord(0, 2)]), "c b c");
}

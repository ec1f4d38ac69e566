//! Guards of common shapes evaluated without the template VM.
//!
//! A guard is a minijinja expression, evaluated on every step that offers its transition. Those
//! made of names, attributes, constants, lists of constants, `==` `!=` `<` `<=` `>` `>=` `in`,
//! `and` `or` `not`, and the tests `none`, `defined` and `undefined` are compiled from
//! minijinja's own parse into a small tree evaluated here, with minijinja's own value equality
//! and ordering. Whatever the tree cannot answer exactly as the template would (an undefined
//! value anywhere but in a `defined` test, an attribute of something that is not a map) is left
//! to the template: [`holds`] returns `None`. A property test holds the two to the same answers.

use minijinja::machinery::ast::{BinOpKind, Expr, UnaryOpKind};
use minijinja::machinery::parse_expr;
use minijinja::value::{Value, ValueKind};

/// A compiled guard.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Name(String),
    Attr(Box<Node>, String),
    Const(Value),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Compare(Op, Box<Node>, Box<Node>),
    In(Box<Node>, Box<Node>),
    Test(Test, Box<Node>),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Test {
    None,
    Defined,
    Undefined,
}

/// Compiles `source`, or `None` when it has a shape this evaluator does not cover.
pub(crate) fn compile(source: &str) -> Option<Node> {
    node(&parse_expr(source).ok()?)
}

fn node(expr: &Expr<'_>) -> Option<Node> {
    let boxed = |expr: &Expr<'_>| node(expr).map(Box::new);
    Some(match expr {
        Expr::Var(var) => Node::Name(var.id.to_owned()),
        Expr::Const(constant) => Node::Const(constant.value.clone()),
        Expr::List(list) => Node::Const(list.as_const()?),
        Expr::GetAttr(attr) => Node::Attr(boxed(&attr.expr)?, attr.name.to_owned()),
        Expr::UnaryOp(unary) => match unary.op {
            UnaryOpKind::Not => Node::Not(boxed(&unary.expr)?),
            UnaryOpKind::Neg => return None,
        },
        Expr::BinOp(binary) => {
            let (left, right) = (boxed(&binary.left)?, boxed(&binary.right)?);
            match binary.op {
                BinOpKind::ScAnd => Node::And(left, right),
                BinOpKind::ScOr => Node::Or(left, right),
                BinOpKind::In => Node::In(left, right),
                BinOpKind::Eq => Node::Compare(Op::Eq, left, right),
                BinOpKind::Ne => Node::Compare(Op::Ne, left, right),
                BinOpKind::Lt => Node::Compare(Op::Lt, left, right),
                BinOpKind::Lte => Node::Compare(Op::Lte, left, right),
                BinOpKind::Gt => Node::Compare(Op::Gt, left, right),
                BinOpKind::Gte => Node::Compare(Op::Gte, left, right),
                _ => return None,
            }
        }
        Expr::Test(test) if test.args.is_empty() => {
            let kind = match test.name {
                "none" => Test::None,
                "defined" => Test::Defined,
                "undefined" => Test::Undefined,
                _ => return None,
            };
            Node::Test(kind, boxed(&test.expr)?)
        }
        _ => return None,
    })
}

/// The template decides.
struct Defer;

/// Whether the guard holds, the names it reads given by `lookup`; `None` when the template
/// must decide.
pub(crate) fn holds(node: &Node, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<bool> {
    eval(node, lookup).ok().map(|value| value.is_true())
}

/// Evaluates `node`; an undefined value stops evaluation, except under a `defined` test.
fn eval(node: &Node, lookup: &dyn Fn(&str) -> Option<Value>) -> Result<Value, Defer> {
    let value = match node {
        Node::Test(test, inner) => {
            let value = eval_maybe_undefined(inner, lookup)?;
            return Ok(Value::from(match test {
                Test::Defined => !value.is_undefined(),
                Test::Undefined => value.is_undefined(),
                Test::None if value.is_undefined() => return Err(Defer),
                Test::None => value.is_none(),
            }));
        }
        _ => eval_maybe_undefined(node, lookup)?,
    };
    if value.is_undefined() {
        Err(Defer)
    } else {
        Ok(value)
    }
}

fn eval_maybe_undefined(
    node: &Node,
    lookup: &dyn Fn(&str) -> Option<Value>,
) -> Result<Value, Defer> {
    Ok(match node {
        Node::Name(name) => lookup(name).unwrap_or(Value::UNDEFINED),
        Node::Attr(object, name) => {
            let object = eval(object, lookup)?;
            // Attributes of maps and objects only: what else has them is the template's call.
            if !matches!(object.kind(), ValueKind::Map) {
                return Err(Defer);
            }
            object.get_attr(name).map_err(|_| Defer)?
        }
        Node::Const(value) => value.clone(),
        Node::Not(inner) => Value::from(!eval(inner, lookup)?.is_true()),
        Node::And(left, right) => {
            let left = eval(left, lookup)?;
            if left.is_true() {
                eval(right, lookup)?
            } else {
                left
            }
        }
        Node::Or(left, right) => {
            let left = eval(left, lookup)?;
            if left.is_true() {
                left
            } else {
                eval(right, lookup)?
            }
        }
        // The very operators minijinja's VM applies.
        Node::Compare(op, left, right) => {
            let (a, b) = (eval(left, lookup)?, eval(right, lookup)?);
            Value::from(match op {
                Op::Eq => a == b,
                Op::Ne => a != b,
                Op::Lt => a < b,
                Op::Lte => a <= b,
                Op::Gt => a > b,
                Op::Gte => a >= b,
            })
        }
        Node::In(item, container) => {
            let (item, container) = (eval(item, lookup)?, eval(container, lookup)?);
            Value::from(contains(&container, &item)?)
        }
        Node::Test(..) => eval(node, lookup)?,
    })
}

/// `item in container` for strings and sequences; other containers are the template's.
fn contains(container: &Value, item: &Value) -> Result<bool, Defer> {
    match container.kind() {
        ValueKind::String => {
            let text = container.as_str().ok_or(Defer)?;
            Ok(match item.as_str() {
                Some(part) => text.contains(part),
                None => text.contains(&item.to_string()),
            })
        }
        ValueKind::Seq => Ok(container
            .try_iter()
            .map_err(|_| Defer)?
            .any(|value| value == *item)),
        _ => Err(Defer),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// What the template says: `Some(answer)`, or `None` for an error.
    fn template(guard: &str, names: &BTreeMap<String, Value>) -> Option<bool> {
        let env = crate::expr::environment();
        env.render_str(&format!("{{% if {guard} %}}1{{% endif %}}"), names)
            .ok()
            .map(|out| out == "1")
    }

    fn lookup(names: &BTreeMap<String, Value>) -> impl Fn(&str) -> Option<Value> + '_ {
        move |name| names.get(name).cloned()
    }

    #[test]
    fn every_phase5b_guard_compiles_natively_and_agrees() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocols/phase5b.yaml");
        let protocol = crate::protocol::load(&path).unwrap();
        let names = BTreeMap::from([
            ("category".to_owned(), Value::from("data")),
            ("fixer".to_owned(), Value::from("data_engineer")),
            ("max_restarts".to_owned(), Value::from(5)),
            ("rhat_critical".to_owned(), Value::from(1.1)),
            (
                "emergency_after".to_owned(),
                crate::expr::DurationValue::value(std::time::Duration::from_secs(3600)),
            ),
            (
                "counters".to_owned(),
                Value::from(BTreeMap::from([("restarts", 1), ("emergencies", 0)])),
            ),
            (
                "event".to_owned(),
                Value::from(BTreeMap::from([
                    ("sender", Value::from("code_translator")),
                    ("design_change", Value::from(false)),
                    ("algorithm_changed", Value::from(())),
                    ("features_changed", Value::from(true)),
                ])),
            ),
            (
                "job".to_owned(),
                Value::from(BTreeMap::from([
                    ("pid", Value::from(4242)),
                    ("exit_code", Value::from(())),
                    ("signal", Value::from(())),
                    (
                        "uptime",
                        crate::expr::DurationValue::value(std::time::Duration::from_secs(7200)),
                    ),
                ])),
            ),
            (
                "incident".to_owned(),
                Value::from(BTreeMap::from([
                    ("category", Value::from("convergence")),
                    ("severity", Value::from("critical")),
                    ("gate", Value::from(())),
                    ("metric", Value::from(BTreeMap::from([("r_hat", 1.35)]))),
                ])),
            ),
        ]);
        let guards: Vec<&str> = protocol
            .transitions
            .iter()
            .filter_map(|t| t.guard.as_ref().map(|g| g.as_str()))
            .collect();
        assert!(guards.len() > 10);
        for guard in guards {
            let node = compile(guard).unwrap_or_else(|| panic!("`{guard}` is not native"));
            let native = holds(&node, &lookup(&names));
            assert!(native.is_some(), "`{guard}` deferred");
            assert_eq!(native, template(guard, &names), "`{guard}`");
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            (-2i64..3).prop_map(Value::from),
            prop_oneof![Just(0.5f64), Just(1.0), Just(f64::NAN)].prop_map(Value::from),
            prop_oneof![Just("a"), Just("b"), Just("")].prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::from(())),
            Just(Value::from(vec![Value::from(1), Value::from("a")])),
            (-1i64..2).prop_map(|x| Value::from(BTreeMap::from([("x", Value::from(x))]))),
        ]
    }

    /// Expressions over the names `a`, `b`, `m` (and `u`, never defined).
    fn expression() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just("m".to_owned()),
            Just("m.x".to_owned()),
            Just("a.x".to_owned()),
            Just("u".to_owned()),
            Just("0".to_owned()),
            Just("1".to_owned()),
            Just("'a'".to_owned()),
            Just("none".to_owned()),
            Just("true".to_owned()),
            Just("[1, 'a']".to_owned()),
        ];
        leaf.prop_recursive(3, 16, 2, |inner| {
            prop_oneof![
                (
                    inner.clone(),
                    inner.clone(),
                    prop_oneof![
                        Just("=="),
                        Just("!="),
                        Just("<"),
                        Just("<="),
                        Just(">"),
                        Just(">="),
                        Just("and"),
                        Just("or"),
                        Just("in"),
                    ]
                )
                    .prop_map(|(l, r, op)| format!("({l} {op} {r})")),
                inner.clone().prop_map(|e| format!("not ({e})")),
                (
                    inner,
                    prop_oneof![
                        Just("is none"),
                        Just("is not none"),
                        Just("is defined"),
                        Just("is undefined"),
                    ]
                )
                    .prop_map(|(e, t)| format!("({e} {t})")),
            ]
        })
    }

    proptest! {
        #[test]
        fn native_guards_answer_as_the_template_does(
            guard in expression(),
            a in value(),
            b in value(),
            m in value(),
        ) {
            let names = BTreeMap::from([
                ("a".to_owned(), a),
                ("b".to_owned(), b),
                ("m".to_owned(), m),
            ]);
            // Some of the grammar's strings do not parse (`a == not a`): nothing to compare.
            let node = compile(&guard);
            prop_assume!(node.is_some());
            let node = node.unwrap();
            let native = holds(&node, &lookup(&names));
            if let Some(native) = native {
                prop_assert_eq!(Some(native), template(&guard, &names), "{}", guard);
            }
        }
    }
}

//! Metric rules evaluated natively when they have a simple shape.
//!
//! A metric rule is a minijinja expression over a record's keys and then the run's vars (a key
//! hides a var of the same name), and a record can arrive millions of times a minute, too often
//! to run the template VM for each. Rules made of names, constants, arithmetic, comparisons,
//! `and`/`or`/`not` and the tests `nan`, `infinite`, `finite`, `defined` and `undefined` are
//! compiled from minijinja's own parse into a small tree evaluated here; any other shape returns
//! `None` from [`compile`] and is rendered by minijinja. A property test holds the two to the
//! same answers, vars included.

use minijinja::machinery::ast::{BinOpKind, Expr, UnaryOpKind};
use minijinja::machinery::parse_expr;
use minijinja::value::{Value, ValueKind};

use super::record::{read_raw, LazyValue, MetricValue, Raw, Record, RecordRef, Token, ValueRef};

/// A compiled metric rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Key(String),
    /// A name found, by [`bind`], among the keys of the records it is asked of: the value at
    /// that place.
    At(usize),
    /// A name [`bind`] found neither among the keys nor among the vars: evaluating it stops.
    Missing,
    /// An `each` rule's `value`: the value of the key it is asked for.
    Value,
    /// An `each` rule's `key`: the key it is asked for.
    KeyName,
    Number(f64),
    Text(String),
    Bool(bool),
    Null,
    Not(Box<Node>),
    Neg(Box<Node>),
    Binary(Op, Box<Node>, Box<Node>),
    Test(Test, Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    And,
    Or,
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Test {
    Nan,
    Infinite,
    Finite,
    Defined,
    Undefined,
    /// `x is nan or x is infinite`, as rules over losses write it, asked as one test that
    /// reads `x` once. It is not `not (x is finite)`: a text is none of the three.
    NanOrInfinite,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Val<'r> {
    Number(f64),
    Bool(bool),
    Text(&'r str),
    Null,
}

/// Compiles `source`, or `None` when it has a shape this evaluator does not cover.
pub(crate) fn compile(source: &str) -> Option<Node> {
    node(&parse_expr(source).ok()?)
}

/// Compiles `source`, an `each` rule, as [`compile`] does: its `value` and `key` are the
/// value and the key it is asked for ([`holds_each`]), known as such once, here, rather than
/// looked up by name for every key of every record.
pub(crate) fn compile_each(source: &str) -> Option<Node> {
    fn each(node: Node) -> Node {
        match node {
            Node::Key(key) if key == "value" => Node::Value,
            Node::Key(key) if key == "key" => Node::KeyName,
            Node::Not(inner) => Node::Not(Box::new(each(*inner))),
            Node::Neg(inner) => Node::Neg(Box::new(each(*inner))),
            Node::Test(test, inner) => Node::Test(test, Box::new(each(*inner))),
            Node::Binary(op, left, right) => {
                Node::Binary(op, Box::new(each(*left)), Box::new(each(*right)))
            }
            other => other,
        }
    }
    compile(source).map(each)
}

/// `node` with its names found where [`holds`] would find them, for records written with
/// `keys` (in their order) over `vars`: a key by its place ([`Node::At`]), a var (which a key
/// hides) by its value, read once here, any other name as [`Node::Missing`]. The same answers
/// for every such record, without a name looked up among the keys and the vars for each. An
/// `each` rule's names other than `key` and `value` are the vars': bound with no keys.
pub(crate) fn bind(node: &Node, keys: &[&str], vars: &Record) -> Node {
    let bound = |inner: &Node| Box::new(bind(inner, keys, vars));
    match node {
        Node::Key(name) => match keys.iter().position(|k| k == name) {
            Some(at) => Node::At(at),
            None => match vars.lazy_get(name).map(LazyValue::read) {
                Some(value) => match value.as_ref() {
                    MetricValue::Int(i) => Node::Number(*i as f64),
                    MetricValue::Float(f) => Node::Number(*f),
                    MetricValue::Bool(b) => Node::Bool(*b),
                    MetricValue::Text(s) => Node::Text(s.clone()),
                    MetricValue::Null => Node::Null,
                },
                None => Node::Missing,
            },
        },
        Node::Not(inner) => Node::Not(bound(inner)),
        Node::Neg(inner) => Node::Neg(bound(inner)),
        Node::Test(test, inner) => Node::Test(*test, bound(inner)),
        Node::Binary(op, left, right) => Node::Binary(*op, bound(left), bound(right)),
        other => other.clone(),
    }
}

/// The shapes most metric rules have, asked without walking a tree: a bound rule
/// ([`bind`]) of one of them is asked by [`quick_holds`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Quick {
    /// `x is nan or x is infinite`.
    NotFinite(Operand),
    /// `x OP n` (or `n OP x`, turned around) for a comparison `OP` and a number `n`.
    Compare(Op, Operand, f64),
}

/// What a [`Quick`] rule reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Operand {
    /// The value of the key at this place.
    At(usize),
    /// An `each` rule's `value`.
    Value,
}

/// `node`, bound, as a [`Quick`] rule, when it has one of their shapes.
pub(crate) fn quick(node: &Node) -> Option<Quick> {
    let operand = |node: &Node| match node {
        Node::At(at) => Some(Operand::At(*at)),
        Node::Value => Some(Operand::Value),
        _ => None,
    };
    match node {
        Node::Test(Test::NanOrInfinite, inner) => operand(inner).map(Quick::NotFinite),
        Node::Binary(op, left, right) => {
            let turned = match op {
                Op::Eq | Op::Ne => *op,
                Op::Lt => Op::Gt,
                Op::Lte => Op::Gte,
                Op::Gt => Op::Lt,
                Op::Gte => Op::Lte,
                _ => return None,
            };
            match (&**left, &**right) {
                (x, Node::Number(n)) => operand(x).map(|x| Quick::Compare(*op, x, *n)),
                (Node::Number(n), x) => operand(x).map(|x| Quick::Compare(turned, x, *n)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `quick` holds for `record` (for an `each` rule: for the key whose value is
/// `value`), as [`holds`] or [`holds_each`] would say of the rule it was made of; `None` when
/// they must be asked (a comparison of a value that is not a number).
#[inline]
pub(crate) fn quick_holds(
    quick: Quick,
    record: RecordRef<'_>,
    value: Option<LazyValue<'_>>,
) -> Option<bool> {
    let read = |operand| match operand {
        Operand::At(at) => Some(record.value_at(at)),
        Operand::Value => value,
    };
    match quick {
        Quick::NotFinite(x) => {
            let x = read(x)?;
            // `0.25` is finite, without reading it as a number.
            if x.raw_bytes()
                .is_some_and(|(raw, kind)| finite_or_text(raw, kind))
            {
                return Some(false);
            }
            Some(matches!(Val::lazy(x), Val::Number(n) if !n.is_finite()))
        }
        Quick::Compare(op, x, n) => match Val::lazy(read(x)?) {
            Val::Number(x) => compare_numbers(op, x, n),
            _ => None,
        },
    }
}

fn node(expr: &Expr<'_>) -> Option<Node> {
    Some(match expr {
        Expr::Var(var) => Node::Key(var.id.to_owned()),
        Expr::Const(constant) => match constant.value.kind() {
            ValueKind::Number => Node::Number(f64::try_from(constant.value.clone()).ok()?),
            ValueKind::Bool => Node::Bool(constant.value.is_true()),
            ValueKind::String => Node::Text(constant.value.as_str()?.to_owned()),
            ValueKind::None => Node::Null,
            _ => return None,
        },
        Expr::UnaryOp(unary) => {
            let inner = Box::new(node(&unary.expr)?);
            match unary.op {
                UnaryOpKind::Not => Node::Not(inner),
                UnaryOpKind::Neg => Node::Neg(inner),
            }
        }
        Expr::BinOp(binary) => {
            let op = match binary.op {
                BinOpKind::Eq => Op::Eq,
                BinOpKind::Ne => Op::Ne,
                BinOpKind::Lt => Op::Lt,
                BinOpKind::Lte => Op::Lte,
                BinOpKind::Gt => Op::Gt,
                BinOpKind::Gte => Op::Gte,
                BinOpKind::ScAnd => Op::And,
                BinOpKind::ScOr => Op::Or,
                BinOpKind::Add => Op::Add,
                BinOpKind::Sub => Op::Sub,
                BinOpKind::Mul => Op::Mul,
                BinOpKind::Div => Op::Div,
                _ => return None,
            };
            let (left, right) = (node(&binary.left)?, node(&binary.right)?);
            nan_or_infinite(op, &left, &right)
                .unwrap_or_else(|| Node::Binary(op, Box::new(left), Box::new(right)))
        }
        Expr::Test(test) if test.args.is_empty() => {
            let kind = match test.name {
                "nan" => Test::Nan,
                "infinite" => Test::Infinite,
                "finite" => Test::Finite,
                "defined" => Test::Defined,
                "undefined" => Test::Undefined,
                _ => return None,
            };
            Node::Test(kind, Box::new(node(&test.expr)?))
        }
        _ => return None,
    })
}

/// `x is nan or x is infinite` (either way round) as one test of `x`, a name: the same answer,
/// as a name that is not there makes both tests false and neither stops.
fn nan_or_infinite(op: Op, left: &Node, right: &Node) -> Option<Node> {
    let (Op::Or, Node::Test(first, x), Node::Test(second, y)) = (op, left, right) else {
        return None;
    };
    let same = matches!((&**x, &**y), (Node::Key(x), Node::Key(y)) if x == y);
    let both = matches!(
        (first, second),
        (Test::Nan, Test::Infinite) | (Test::Infinite, Test::Nan)
    );
    (same && both).then(|| Node::Test(Test::NanOrInfinite, x.clone()))
}

/// Why evaluation stopped.
#[derive(Debug)]
enum Stop {
    /// A name neither the record nor the vars have was read: in a strict template that is an
    /// error, so the rule does not hold.
    Undefined,
    /// Arithmetic on something other than numbers (string repetition, say), or a division by
    /// zero: minijinja's answer is the rule's, so the template decides.
    Template,
}

/// What a rule's names are looked up in: the record's keys, then the run's vars.
#[derive(Clone, Copy)]
struct Names<'r> {
    record: RecordRef<'r>,
    vars: &'r Record,
    /// For an `each` rule: the key it is evaluated for, and its value.
    each: Option<(&'r str, LazyValue<'r>)>,
}

impl<'r> Names<'r> {
    fn lookup(&self, name: &str) -> Option<LazyValue<'r>> {
        self.record
            .lazy_get(name)
            .or_else(|| self.vars.lazy_get(name))
    }

    fn get(&self, name: &str) -> Option<Val<'r>> {
        self.lookup(name).map(Val::lazy)
    }

    /// The text of `name`'s value, when it was not read yet.
    fn raw(&self, name: &str) -> Option<(&'r str, Raw)> {
        self.lookup(name)?.raw()
    }
}

impl<'r> Val<'r> {
    fn of(value: &'r MetricValue) -> Val<'r> {
        match value {
            MetricValue::Int(i) => Val::Number(*i as f64),
            MetricValue::Float(f) => Val::Number(*f),
            MetricValue::Bool(b) => Val::Bool(*b),
            MetricValue::Text(s) => Val::Text(s),
            MetricValue::Null => Val::Null,
        }
    }

    /// A value of a record as [`Val::of`] sees it once read, its text read here without
    /// keeping what it reads (a rule reads a value of a record once).
    fn lazy(value: LazyValue<'r>) -> Val<'r> {
        if let Some(number) = value.short_decimal() {
            return Val::Number(number);
        }
        match value.now() {
            ValueRef::Read(value) => Val::of(value),
            ValueRef::Raw(raw, Raw::Text) => Val::Text(raw),
            ValueRef::Raw(raw, Raw::Token) => match Token::of(raw) {
                Token::Int(i) => Val::Number(i as f64),
                Token::Float(f) => Val::Number(f),
                Token::Bool(b) => Val::Bool(b),
                Token::Text(text) => Val::Text(text),
            },
            ValueRef::Raw(raw, Raw::JsonNumber) => match read_raw(raw, Raw::JsonNumber) {
                MetricValue::Int(i) => Val::Number(i as f64),
                MetricValue::Float(f) => Val::Number(f),
                _ => Val::Null,
            },
        }
    }
}

/// Whether the number or text that `raw` of `kind` reads as is neither NaN nor infinite, told
/// from its text: of digits, points and signs only, and too short to overflow, it reads as a
/// finite number, or (not a number at all) as text.
fn finite_or_text(raw: &[u8], kind: Raw) -> bool {
    kind != Raw::Text && raw.len() <= 300 && raw.iter().all(|&b| NUMBER_BYTES[usize::from(b)])
}

/// The bytes [`finite_or_text`] takes: digits, points and signs.
static NUMBER_BYTES: [bool; 256] = {
    let mut bytes = [false; 256];
    let mut digit = b'0';
    while digit <= b'9' {
        bytes[digit as usize] = true;
        digit += 1;
    }
    bytes[b'.' as usize] = true;
    bytes[b'-' as usize] = true;
    bytes[b'+' as usize] = true;
    bytes
};

/// Names the rule cannot hold without: when one of them is neither in the record nor in the
/// vars, [`holds`] says it does not, and so does the template (which is rendered only when
/// every name it reads is there).
pub(crate) fn needed(node: &Node) -> Vec<&str> {
    let mut names = needs(node);
    names.sort_unstable();
    names.dedup();
    names
}

/// Names whose absence makes `node` not hold: it stops, or its value is not true.
fn needs(node: &Node) -> Vec<&str> {
    match node {
        Node::Key(key) => vec![key.as_str()],
        Node::Value | Node::KeyName | Node::At(_) | Node::Missing => Vec::new(),
        Node::Number(_) | Node::Text(_) | Node::Bool(_) | Node::Null => Vec::new(),
        Node::Not(inner) | Node::Neg(inner) => stops(inner),
        Node::Test(Test::Undefined, _) => Vec::new(),
        // An undefined name is no number and not defined: the test is false.
        Node::Test(_, inner) => stops(inner),
        Node::Binary(Op::And, left, right) => {
            let mut names = needs(left);
            names.extend(needs(right));
            names
        }
        Node::Binary(Op::Or, left, right) => {
            let right = needs(right);
            needs(left)
                .into_iter()
                .filter(|n| right.contains(n))
                .collect()
        }
        Node::Binary(_, left, right) => {
            let mut names = stops(left);
            names.extend(stops(right));
            names
        }
    }
}

/// Names whose absence stops the evaluation of `node` (`Stop::Undefined`).
fn stops(node: &Node) -> Vec<&str> {
    match node {
        Node::Key(key) => vec![key.as_str()],
        Node::Value | Node::KeyName | Node::At(_) | Node::Missing => Vec::new(),
        Node::Number(_) | Node::Text(_) | Node::Bool(_) | Node::Null | Node::Test(..) => Vec::new(),
        Node::Not(inner) | Node::Neg(inner) => stops(inner),
        // The right side is not always evaluated.
        Node::Binary(Op::And | Op::Or, left, _) => stops(left),
        Node::Binary(_, left, right) => {
            let mut names = stops(left);
            names.extend(stops(right));
            names
        }
    }
}

/// Whether the rule holds for `record`, its other names read from `vars`: `Some` answer, or
/// `None` when the template must decide.
pub(crate) fn holds(node: &Node, record: RecordRef<'_>, vars: &Record) -> Option<bool> {
    answer(eval(
        node,
        &Names {
            record,
            vars,
            each: None,
        },
    ))
}

/// Whether an `each` rule, `node` as [`compile_each`] made it, holds for the record's `key` and
/// its `value`, its other names read from `vars`, as [`holds`].
pub(crate) fn holds_each(
    node: &Node,
    key: &str,
    value: LazyValue<'_>,
    vars: &Record,
) -> Option<bool> {
    let record = EMPTY.view();
    answer(eval(
        node,
        &Names {
            record,
            vars,
            each: Some((key, value)),
        },
    ))
}

static EMPTY: Record = Record::empty();

fn answer(result: Result<Val<'_>, Stop>) -> Option<bool> {
    match result {
        Ok(value) => Some(truthy(value)),
        Err(Stop::Undefined) => Some(false),
        Err(Stop::Template) => None,
    }
}

fn truthy(value: Val<'_>) -> bool {
    match value {
        Val::Number(n) => n != 0.0,
        Val::Bool(b) => b,
        Val::Text(s) => !s.is_empty(),
        Val::Null => false,
    }
}

fn eval<'r>(node: &'r Node, names: &Names<'r>) -> Result<Val<'r>, Stop> {
    Ok(match node {
        Node::Key(key) => names.get(key).ok_or(Stop::Undefined)?,
        Node::At(at) => Val::lazy(names.record.value_at(*at)),
        Node::Missing => return Err(Stop::Undefined),
        Node::Value => Val::lazy(names.each.ok_or(Stop::Undefined)?.1),
        Node::KeyName => Val::Text(names.each.ok_or(Stop::Undefined)?.0),
        Node::Number(n) => Val::Number(*n),
        Node::Text(s) => Val::Text(s),
        Node::Bool(b) => Val::Bool(*b),
        Node::Null => Val::Null,
        Node::Not(inner) => Val::Bool(!truthy(eval(inner, names)?)),
        Node::Neg(inner) => Val::Number(-number(eval(inner, names)?).ok_or(Stop::Template)?),
        // `value is nan` of a value written `0.25` is false, without reading it as a number.
        Node::Test(Test::Nan | Test::Infinite | Test::NanOrInfinite, inner)
            if match &**inner {
                Node::Key(key) => names.raw(key),
                Node::At(at) => names.record.value_at(*at).raw(),
                Node::Value => names.each.and_then(|(_, value)| value.raw()),
                _ => None,
            }
            .is_some_and(|(raw, kind)| finite_or_text(raw.as_bytes(), kind)) =>
        {
            Val::Bool(false)
        }
        Node::Test(test, inner) => {
            // A test reads an undefined name without error: it is simply not a number.
            let value = match eval(inner, names) {
                Ok(value) => Some(value),
                Err(Stop::Undefined) => None,
                Err(Stop::Template) => return Err(Stop::Template),
            };
            let number = match value {
                Some(Val::Number(n)) => Some(n),
                _ => None,
            };
            Val::Bool(match test {
                Test::Nan => number.is_some_and(f64::is_nan),
                Test::Infinite => number.is_some_and(f64::is_infinite),
                Test::NanOrInfinite => number.is_some_and(|n| !n.is_finite()),
                Test::Finite => number.is_some_and(f64::is_finite),
                Test::Defined => value.is_some(),
                Test::Undefined => value.is_none(),
            })
        }
        Node::Binary(Op::And, left, right) => {
            let left = eval(left, names)?;
            if truthy(left) {
                eval(right, names)?
            } else {
                left
            }
        }
        Node::Binary(Op::Or, left, right) => {
            let left = eval(left, names)?;
            if truthy(left) {
                left
            } else {
                eval(right, names)?
            }
        }
        Node::Binary(op, left, right) => binary(*op, eval(left, names)?, eval(right, names)?)?,
    })
}

/// The number arithmetic works on; anything else is for the template to decide.
fn number(value: Val<'_>) -> Option<f64> {
    match value {
        Val::Number(n) => Some(n),
        _ => None,
    }
}

/// `a OP b` for a comparison `OP`, as minijinja compares two numbers, without building
/// template values: `==` and `!=` as floats do (NaN equals nothing, itself included), the
/// others in its order (equal when `==`, else in total order, so NaN sorts above every
/// number). `None` for an `OP` that is no comparison.
#[inline]
fn compare_numbers(op: Op, a: f64, b: f64) -> Option<bool> {
    let order = if a == b {
        std::cmp::Ordering::Equal
    } else {
        a.total_cmp(&b)
    };
    use std::cmp::Ordering::{Greater, Less};
    match op {
        Op::Eq => Some(a == b),
        Op::Ne => Some(a != b),
        Op::Lt => Some(order == Less),
        Op::Lte => Some(order != Greater),
        Op::Gt => Some(order == Greater),
        Op::Gte => Some(order != Less),
        _ => None,
    }
}

/// Comparisons go through minijinja's own value ordering and equality (kinds ordered by kind,
/// floats by total order, numbers coerced across representations), so they mean exactly what
/// they mean in a template; arithmetic is on numbers.
fn binary<'r>(op: Op, left: Val<'r>, right: Val<'r>) -> Result<Val<'r>, Stop> {
    let value = |v: Val<'_>| match v {
        Val::Number(n) => Value::from(n),
        Val::Bool(b) => Value::from(b),
        Val::Text(s) => Value::from(s),
        Val::Null => Value::from(()),
    };
    let number = |v| number(v).ok_or(Stop::Template);
    if let (Val::Number(a), Val::Number(b)) = (left, right) {
        if let Some(holds) = compare_numbers(op, a, b) {
            return Ok(Val::Bool(holds));
        }
    }
    Ok(match op {
        Op::Eq => Val::Bool(value(left) == value(right)),
        Op::Ne => Val::Bool(value(left) != value(right)),
        Op::Lt => Val::Bool(value(left) < value(right)),
        Op::Lte => Val::Bool(value(left) <= value(right)),
        Op::Gt => Val::Bool(value(left) > value(right)),
        Op::Gte => Val::Bool(value(left) >= value(right)),
        Op::Add => Val::Number(number(left)? + number(right)?),
        Op::Sub => Val::Number(number(left)? - number(right)?),
        Op::Mul => Val::Number(number(left)? * number(right)?),
        Op::Div => {
            let divisor = number(right)?;
            if divisor == 0.0 {
                return Err(Stop::Template);
            }
            Val::Number(number(left)? / divisor)
        }
        Op::And | Op::Or => unreachable!("short-circuited in eval"),
    })
}

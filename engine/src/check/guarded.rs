//! Which names a template or expression reads without first making sure they are there, for
//! P033: a read is guarded inside an `if` (statement or expression) whose condition mentions
//! the name or a name it is part of, on the right of an `and` or `or` whose left side does, and
//! as the operand of a test (`is defined`, `is none`, ...) or of the `default` filter.

use minijinja::machinery::ast::{CallArg, Expr, Stmt};
use minijinja::machinery::{parse, parse_expr, Span};

use crate::expr::{Kind, Position};

/// A dotted name read: `incident.category`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The path, as far as it is plain attribute (or constant key) access.
    pub path: Vec<String>,
    /// Where.
    pub position: Position,
    /// Whether a condition, test or `default` makes sure of it first.
    pub guarded: bool,
}

/// Every dotted name `source` reads, each with whether it is guarded; empty when it does not
/// parse (that is P031's).
pub fn reads(source: &str, kind: Kind) -> Vec<Read> {
    let mut walk = Walk::new(source);
    match kind {
        Kind::Expression => {
            if let Ok(expr) = parse_expr(source) {
                walk.expr(&expr);
            }
        }
        Kind::Template => {
            if let Ok(stmt) = parse(source, "<template>", Default::default()) {
                walk.stmt(&stmt);
            }
        }
    }
    walk.reads
}

struct Walk<'s> {
    source: &'s str,
    /// The paths the enclosing conditions mention.
    guards: Vec<Vec<String>>,
    /// Inside a test's or `default`'s operand.
    tested: usize,
    reads: Vec<Read>,
}

/// The path `expr` spells, if it is a name followed by attributes.
fn path_of(expr: &Expr<'_>) -> Option<Vec<String>> {
    match expr {
        Expr::Var(var) => Some(vec![var.id.to_owned()]),
        Expr::GetAttr(attr) => {
            let mut path = path_of(&attr.expr)?;
            path.push(attr.name.to_owned());
            Some(path)
        }
        Expr::GetItem(item) => match &item.subscript_expr {
            Expr::Const(key) => {
                let mut path = path_of(&item.expr)?;
                path.push(key.value.as_str()?.to_owned());
                Some(path)
            }
            _ => None,
        },
        _ => None,
    }
}

impl<'s> Walk<'s> {
    fn new(source: &'s str) -> Walk<'s> {
        Walk {
            source,
            guards: Vec::new(),
            tested: 0,
            reads: Vec::new(),
        }
    }

    /// Every path `expr` mentions.
    fn mentions(&self, expr: &Expr<'_>) -> Vec<Vec<String>> {
        let mut walk = Walk::new(self.source);
        walk.expr(expr);
        walk.reads.into_iter().map(|read| read.path).collect()
    }

    fn position(&self, span: Span) -> Position {
        let text = self
            .source
            .get(span.start_offset as usize..span.end_offset as usize)
            .unwrap_or_default();
        Position {
            line: u32::from(span.start_line),
            column: u32::from(span.start_col) + 1,
            len: u32::try_from(text.chars().count())
                .unwrap_or(u32::MAX)
                .max(1),
        }
    }

    fn guarded(&self, path: &[String]) -> bool {
        self.tested > 0
            || self
                .guards
                .iter()
                .any(|guard| path.starts_with(guard) || guard.starts_with(path))
    }

    /// Walks `inner` with the paths `condition` mentions as guards.
    fn under(&mut self, condition: &Expr<'_>, inner: impl FnOnce(&mut Walk<'s>)) {
        let mentioned = self.mentions(condition);
        let depth = self.guards.len();
        self.guards.extend(mentioned);
        inner(self);
        self.guards.truncate(depth);
    }

    fn tested(&mut self, inner: impl FnOnce(&mut Walk<'s>)) {
        self.tested += 1;
        inner(self);
        self.tested -= 1;
    }

    fn stmts(&mut self, stmts: &[Stmt<'_>]) {
        for stmt in stmts {
            self.stmt(stmt);
        }
    }

    fn stmt(&mut self, stmt: &Stmt<'_>) {
        match stmt {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => self.expr(&e.expr),
            Stmt::ForLoop(f) => {
                self.expr(&f.iter);
                if let Some(filter) = &f.filter_expr {
                    self.expr(filter);
                }
                self.stmts(&f.body);
                self.stmts(&f.else_body);
            }
            Stmt::IfCond(i) => {
                self.expr(&i.expr);
                self.under(&i.expr, |w| {
                    w.stmts(&i.true_body);
                    w.stmts(&i.false_body);
                });
            }
            Stmt::WithBlock(w) => {
                for (_, value) in &w.assignments {
                    self.expr(value);
                }
                self.stmts(&w.body);
            }
            Stmt::Set(s) => self.expr(&s.expr),
            Stmt::SetBlock(s) => self.stmts(&s.body),
            Stmt::AutoEscape(a) => self.stmts(&a.body),
            Stmt::FilterBlock(f) => self.stmts(&f.body),
            // Macros, calls, includes and the rest: what they read is not followed.
            _ => {}
        }
    }

    fn args(&mut self, args: &[CallArg<'_>]) {
        for arg in args {
            match arg {
                CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) => self.expr(e),
                CallArg::KwargSplat(e) => self.expr(e),
            }
        }
    }

    fn expr(&mut self, expr: &Expr<'_>) {
        if let Some(path) = path_of(expr) {
            let span = match expr {
                Expr::Var(e) => e.span(),
                Expr::GetAttr(e) => e.span(),
                Expr::GetItem(e) => e.span(),
                _ => unreachable!("only names and lookups spell a path"),
            };
            let guarded = self.guarded(&path);
            self.reads.push(Read {
                path,
                position: self.position(span),
                guarded,
            });
            return;
        }
        match expr {
            Expr::Var(_) | Expr::Const(_) => {}
            Expr::Slice(s) => {
                self.expr(&s.expr);
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(part);
                }
            }
            Expr::UnaryOp(u) => self.expr(&u.expr),
            Expr::BinOp(b) => {
                use minijinja::machinery::ast::BinOpKind;
                self.expr(&b.left);
                if matches!(b.op, BinOpKind::ScAnd | BinOpKind::ScOr) {
                    self.under(&b.left, |w| w.expr(&b.right));
                } else {
                    self.expr(&b.right);
                }
            }
            Expr::Compare(c) => {
                self.expr(&c.expr);
                for op in &c.ops {
                    self.expr(&op.expr);
                }
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                self.under(&i.test_expr, |w| {
                    w.expr(&i.true_expr);
                    if let Some(otherwise) = &i.false_expr {
                        w.expr(otherwise);
                    }
                });
            }
            Expr::Filter(f) => {
                if let Some(operand) = &f.expr {
                    if matches!(f.name, "default" | "d") {
                        self.tested(|w| w.expr(operand));
                    } else {
                        self.expr(operand);
                    }
                }
                self.args(&f.args);
            }
            Expr::Test(t) => {
                self.tested(|w| w.expr(&t.expr));
                self.args(&t.args);
            }
            Expr::GetAttr(a) => self.expr(&a.expr),
            Expr::GetItem(i) => {
                self.expr(&i.expr);
                self.expr(&i.subscript_expr);
            }
            Expr::Call(c) => {
                self.expr(&c.expr);
                self.args(&c.args);
            }
            Expr::List(l) => l.items.iter().for_each(|e| self.expr(e)),
            Expr::Tuple(t) => t.items.iter().for_each(|e| self.expr(e)),
            Expr::Map(m) => {
                m.keys.iter().for_each(|e| self.expr(e));
                m.values.iter().for_each(|e| self.expr(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unguarded(source: &str, kind: Kind) -> Vec<String> {
        reads(source, kind)
            .into_iter()
            .filter(|r| !r.guarded)
            .map(|r| r.path.join("."))
            .collect()
    }

    #[test]
    fn conditions_tests_and_defaults_guard_what_they_mention() {
        let t = Kind::Template;
        assert_eq!(
            unguarded("{{ incident.category }}", t),
            ["incident.category"]
        );
        assert_eq!(
            unguarded("{% if incident %}{{ incident.category }}{% endif %}", t),
            ["incident"]
        );
        assert_eq!(
            unguarded("{{ metrics.loss | default('?') }}", t),
            Vec::<String>::new()
        );
        assert_eq!(
            unguarded(
                "{{ metrics.loss if metrics.loss is defined else 'n/a' }}",
                t
            ),
            Vec::<String>::new()
        );
        let e = Kind::Expression;
        assert_eq!(
            unguarded("metrics.loss is defined and metrics.loss > 1", e),
            Vec::<String>::new()
        );
        assert_eq!(
            unguarded("metrics.loss > 1 and metrics.loss < 9 and metrics.lr", e),
            ["metrics.loss", "metrics.lr"],
            "the left side guards only what it mentions"
        );
        assert_eq!(
            unguarded("metrics['val loss'] > 1", e),
            ["metrics.val loss"]
        );
        assert_eq!(
            unguarded("{% for line in incident.before %}{{ line }}{% endfor %}", t),
            ["incident.before", "line"]
        );
    }

    #[test]
    fn positions_are_one_based_columns_on_the_template_s_line() {
        let found = reads("a\n  {{ incident.message }}", Kind::Template);
        assert_eq!(found.len(), 1);
        let position = found[0].position;
        assert_eq!((position.line, position.column), (2, 6));
    }
}

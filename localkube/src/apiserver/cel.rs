//! A small CEL subset for `x-kubernetes-validations` rules.
//!
//! Supported: `self`, `oldSelf`, literals (int, double, string, bool, null,
//! lists), field access and indexing, `! - + * / %`, comparisons, `in`,
//! `&&`, `||`, `?:`, `has(x.f)`, `size(x)`/`x.size()`, `startsWith`,
//! `endsWith`, `contains`, `matches`, `int()`, `string()`, and the macros
//! `all` and `exists`. Anything else is [`CelError::Unsupported`] and the
//! caller skips the rule (logged) instead of rejecting the object.

use std::collections::HashMap;

use serde_json::{json, Value};

/// Why a rule could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CelError {
    /// The expression uses CEL the emulator does not implement.
    #[error("unsupported CEL: {0}")]
    Unsupported(String),
    /// Evaluation failed (missing key, type mismatch, division by zero).
    #[error("{0}")]
    Eval(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Double(f64),
    Str(String),
    Op(&'static str),
}

const OPS: &[&str] = &[
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "(", ")", "[", "]",
    ".", ",", "?", ":",
];

fn tokenize(s: &str) -> Result<Vec<Tok>, CelError> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            if i < chars.len() && chars[i] == 'u' {
                i += 1;
            }
            out.push(match text.parse::<i64>() {
                Ok(n) => Tok::Int(n),
                Err(_) => Tok::Double(
                    text.parse()
                        .map_err(|_| CelError::Unsupported(format!("number {text}")))?,
                ),
            });
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c == '"' || c == '\'' {
            let mut text = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                text.push(chars[i]);
                i += 1;
            }
            if i >= chars.len() {
                return Err(CelError::Unsupported("unterminated string".into()));
            }
            i += 1;
            out.push(Tok::Str(text));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op = OPS
                .iter()
                .find(|op| rest.starts_with(*op))
                .ok_or_else(|| CelError::Unsupported(format!("character {c:?}")))?;
            i += op.len();
            out.push(Tok::Op(op));
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Expr {
    Lit(Value),
    Ident(String),
    List(Vec<Expr>),
    Member(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Call(Option<Box<Expr>>, String, Vec<Expr>),
    Unary(&'static str, Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

fn prec(op: &str) -> Option<u8> {
    Some(match op {
        "||" => 1,
        "&&" => 2,
        "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" => 3,
        "+" | "-" => 4,
        "*" | "/" | "%" => 5,
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, op: &str) -> Result<(), CelError> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(CelError::Unsupported(format!("expected {op:?}")))
        }
    }

    fn expr(&mut self) -> Result<Expr, CelError> {
        let cond = self.binary(1)?;
        if self.eat("?") {
            let a = self.expr()?;
            self.expect(":")?;
            let b = self.expr()?;
            return Ok(Expr::Cond(Box::new(cond), Box::new(a), Box::new(b)));
        }
        Ok(cond)
    }

    fn binary(&mut self, min: u8) -> Result<Expr, CelError> {
        let mut lhs = self.unary()?;
        loop {
            let op: &'static str = match self.peek() {
                Some(Tok::Op(o)) => o,
                Some(Tok::Ident(i)) if i == "in" => "in",
                _ => break,
            };
            let Some(p) = prec(op).filter(|p| *p >= min) else {
                break;
            };
            self.pos += 1;
            let rhs = self.binary(p + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, CelError> {
        if self.eat("!") {
            return Ok(Expr::Unary("!", Box::new(self.unary()?)));
        }
        if self.eat("-") {
            return Ok(Expr::Unary("-", Box::new(self.unary()?)));
        }
        self.postfix()
    }

    fn args(&mut self, close: &str) -> Result<Vec<Expr>, CelError> {
        let mut args = Vec::new();
        if self.eat(close) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(close) {
                return Ok(args);
            }
            self.expect(",")?;
        }
    }

    fn postfix(&mut self) -> Result<Expr, CelError> {
        let mut e = self.primary()?;
        loop {
            if self.eat(".") {
                let Some(Tok::Ident(name)) = self.peek().cloned() else {
                    return Err(CelError::Unsupported("expected field name".into()));
                };
                self.pos += 1;
                if self.eat("(") {
                    let args = self.args(")")?;
                    e = Expr::Call(Some(Box::new(e)), name, args);
                } else {
                    e = Expr::Member(Box::new(e), name);
                }
            } else if self.eat("[") {
                let i = self.expr()?;
                self.expect("]")?;
                e = Expr::Index(Box::new(e), Box::new(i));
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, CelError> {
        let tok = self
            .peek()
            .cloned()
            .ok_or_else(|| CelError::Unsupported("unexpected end".into()))?;
        self.pos += 1;
        Ok(match tok {
            Tok::Int(n) => Expr::Lit(json!(n)),
            Tok::Double(d) => Expr::Lit(json!(d)),
            Tok::Str(s) => Expr::Lit(json!(s)),
            Tok::Ident(i) => match i.as_str() {
                "true" => Expr::Lit(json!(true)),
                "false" => Expr::Lit(json!(false)),
                "null" => Expr::Lit(Value::Null),
                _ if self.eat("(") => Expr::Call(None, i, self.args(")")?),
                _ => Expr::Ident(i),
            },
            Tok::Op("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                e
            }
            Tok::Op("[") => Expr::List(self.args("]")?),
            Tok::Op(o) => return Err(CelError::Unsupported(format!("unexpected {o:?}"))),
        })
    }
}

type Env = HashMap<String, Value>;

fn eval_err(msg: impl Into<String>) -> CelError {
    CelError::Eval(msg.into())
}

fn as_bool(v: &Value) -> Result<bool, CelError> {
    v.as_bool()
        .ok_or_else(|| eval_err(format!("no such overload: expected bool, got {v}")))
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn eval(e: &Expr, env: &Env) -> Result<Value, CelError> {
    match e {
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Ident(i) => env
            .get(i)
            .cloned()
            .ok_or_else(|| CelError::Unsupported(format!("undeclared reference to {i:?}"))),
        Expr::List(items) => Ok(Value::Array(
            items
                .iter()
                .map(|i| eval(i, env))
                .collect::<Result<_, _>>()?,
        )),
        Expr::Member(target, f) => {
            let t = eval(target, env)?;
            t.get(f.as_str())
                .cloned()
                .ok_or_else(|| eval_err(format!("no such key: {f}")))
        }
        Expr::Index(target, idx) => {
            let (t, i) = (eval(target, env)?, eval(idx, env)?);
            let got = match (&t, &i) {
                (Value::Array(a), Value::Number(n)) => n.as_u64().and_then(|n| a.get(n as usize)),
                (Value::Object(m), Value::String(k)) => m.get(k),
                _ => None,
            };
            got.cloned()
                .ok_or_else(|| eval_err(format!("no such key: {i}")))
        }
        Expr::Unary(op, x) => {
            let v = eval(x, env)?;
            match *op {
                "!" => Ok(json!(!as_bool(&v)?)),
                _ => match (v.as_i64(), v.as_f64()) {
                    (Some(n), _) => Ok(json!(-n)),
                    (None, Some(f)) => Ok(json!(-f)),
                    _ => Err(eval_err("no such overload for -")),
                },
            }
        }
        Expr::Binary(op, a, b) => binary(op, a, b, env),
        Expr::Cond(c, a, b) => {
            if as_bool(&eval(c, env)?)? {
                eval(a, env)
            } else {
                eval(b, env)
            }
        }
        Expr::Call(target, name, args) => call(target.as_deref(), name, args, env),
    }
}

fn binary(op: &str, a: &Expr, b: &Expr, env: &Env) -> Result<Value, CelError> {
    if op == "&&" || op == "||" {
        let l = as_bool(&eval(a, env)?)?;
        if (op == "&&" && !l) || (op == "||" && l) {
            return Ok(json!(l));
        }
        return Ok(json!(as_bool(&eval(b, env)?)?));
    }
    let (l, r) = (eval(a, env)?, eval(b, env)?);
    let cmp = || -> Result<std::cmp::Ordering, CelError> {
        match (&l, &r) {
            (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
            _ => match (num(&l), num(&r)) {
                (Some(x), Some(y)) => x.partial_cmp(&y).ok_or_else(|| eval_err("NaN")),
                _ => Err(eval_err(format!("no such overload: {l} {op} {r}"))),
            },
        }
    };
    let eq = || match (num(&l), num(&r)) {
        (Some(x), Some(y)) => x == y,
        _ => l == r,
    };
    Ok(match op {
        "==" => json!(eq()),
        "!=" => json!(!eq()),
        "<" => json!(cmp()?.is_lt()),
        "<=" => json!(cmp()?.is_le()),
        ">" => json!(cmp()?.is_gt()),
        ">=" => json!(cmp()?.is_ge()),
        "in" => match &r {
            Value::Array(items) => json!(items.contains(&l)),
            Value::Object(m) => json!(l.as_str().is_some_and(|k| m.contains_key(k))),
            _ => return Err(eval_err("no such overload for in")),
        },
        _ => arith(op, &l, &r)?,
    })
}

fn arith(op: &str, l: &Value, r: &Value) -> Result<Value, CelError> {
    if let (Some(x), Some(y)) = (l.as_i64(), r.as_i64()) {
        return match op {
            "+" => Ok(json!(x.wrapping_add(y))),
            "-" => Ok(json!(x.wrapping_sub(y))),
            "*" => Ok(json!(x.wrapping_mul(y))),
            "/" | "%" if y == 0 => Err(eval_err("division by zero")),
            "/" => Ok(json!(x / y)),
            _ => Ok(json!(x % y)),
        };
    }
    match (op, l, r) {
        ("+", Value::String(x), Value::String(y)) => Ok(json!(format!("{x}{y}"))),
        ("+", Value::Array(x), Value::Array(y)) => {
            Ok(Value::Array([x.clone(), y.clone()].concat()))
        }
        _ => match (num(l), num(r)) {
            (Some(x), Some(y)) => Ok(json!(match op {
                "+" => x + y,
                "-" => x - y,
                "*" => x * y,
                "/" => x / y,
                _ => return Err(eval_err("no such overload for % on doubles")),
            })),
            _ => Err(eval_err(format!("no such overload: {l} {op} {r}"))),
        },
    }
}

fn size(v: &Value) -> Result<Value, CelError> {
    Ok(json!(match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.len(),
        Value::Object(m) => m.len(),
        _ => return Err(eval_err("no such overload for size")),
    }))
}

fn call(target: Option<&Expr>, name: &str, args: &[Expr], env: &Env) -> Result<Value, CelError> {
    if target.is_none() && name == "has" {
        let [Expr::Member(obj, field)] = args else {
            return Err(CelError::Unsupported(
                "has() needs a field selection".into(),
            ));
        };
        return Ok(json!(eval(obj, env)?.get(field.as_str()).is_some()));
    }
    if let (Some(t), "all" | "exists") = (target, name) {
        let [Expr::Ident(var), pred] = args else {
            return Err(CelError::Unsupported(format!("{name}() form")));
        };
        let items: Vec<Value> = match eval(t, env)? {
            Value::Array(a) => a,
            Value::Object(m) => m.keys().map(|k| json!(k)).collect(),
            _ => return Err(eval_err(format!("no such overload for {name}"))),
        };
        let mut env = env.clone();
        let mut results = Vec::new();
        for item in items {
            env.insert(var.clone(), item);
            results.push(as_bool(&eval(pred, &env)?)?);
        }
        let all = name == "all";
        return Ok(json!(if all {
            results.iter().all(|x| *x)
        } else {
            results.iter().any(|x| *x)
        }));
    }
    let mut vals = Vec::new();
    if let Some(t) = target {
        vals.push(eval(t, env)?);
    }
    for a in args {
        vals.push(eval(a, env)?);
    }
    let s = |i: usize| {
        vals.get(i)
            .and_then(Value::as_str)
            .ok_or_else(|| eval_err(format!("{name}: expected string")))
    };
    match (name, vals.len()) {
        ("size", 1) => size(&vals[0]),
        ("startsWith", 2) => Ok(json!(s(0)?.starts_with(s(1)?))),
        ("endsWith", 2) => Ok(json!(s(0)?.ends_with(s(1)?))),
        ("contains", 2) => Ok(json!(s(0)?.contains(s(1)?))),
        ("matches", 2) => {
            let re = regex::Regex::new(s(1)?).map_err(|e| eval_err(e.to_string()))?;
            Ok(json!(re.is_match(s(0)?)))
        }
        ("int", 1) => match &vals[0] {
            Value::String(x) => x
                .parse::<i64>()
                .map(|n| json!(n))
                .map_err(|e| eval_err(e.to_string())),
            v => v
                .as_f64()
                .map(|f| json!(f as i64))
                .ok_or_else(|| eval_err("int(): bad argument")),
        },
        ("string", 1) => Ok(json!(match &vals[0] {
            Value::String(x) => x.clone(),
            v => v.to_string(),
        })),
        _ => Err(CelError::Unsupported(format!(
            "function {name}/{}",
            vals.len()
        ))),
    }
}

/// True when the rule mentions `oldSelf` (a transition rule).
pub fn is_transition_rule(rule: &str) -> bool {
    tokenize(rule)
        .map(|t| t.contains(&Tok::Ident("oldSelf".into())))
        .unwrap_or(false)
}

/// Evaluate a validation rule with `self` (and `oldSelf` on updates) bound.
pub fn eval_rule(rule: &str, this: &Value, old: Option<&Value>) -> Result<bool, CelError> {
    let mut p = Parser {
        toks: tokenize(rule)?,
        pos: 0,
    };
    let expr = p.expr()?;
    if p.pos != p.toks.len() {
        return Err(CelError::Unsupported(format!(
            "trailing tokens in {rule:?}"
        )));
    }
    let mut env = Env::new();
    env.insert("self".into(), this.clone());
    if let Some(o) = old {
        env.insert("oldSelf".into(), o.clone());
    }
    as_bool(&eval(&expr, &env)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_common_rules() {
        assert_eq!(eval_rule("self % 2 == 1", &json!(3), None), Ok(true));
        assert_eq!(eval_rule("self % 2 == 1", &json!(4), None), Ok(false));
        assert_eq!(
            eval_rule("self == oldSelf", &json!("1Gi"), Some(&json!("2Gi"))),
            Ok(false)
        );
        assert_eq!(
            eval_rule(
                "self.replicas <= 9 && size(self.name) > 0",
                &json!({"replicas": 3, "name": "a"}),
                None
            ),
            Ok(true)
        );
        assert_eq!(
            eval_rule("!has(self.x) || self.x.startsWith('a')", &json!({}), None),
            Ok(true)
        );
        assert_eq!(
            eval_rule("self.all(c, c.size() < 4)", &json!(["ab", "abc"]), None),
            Ok(true)
        );
        assert_eq!(
            eval_rule(
                "self.kind in ['A', 'B'] ? true : false",
                &json!({"kind": "B"}),
                None
            ),
            Ok(true)
        );
        assert_eq!(eval_rule("self.x > 1", &json!({"x": 2.5}), None), Ok(true));
        assert!(matches!(
            eval_rule("self.quantity().isGreaterThan(1)", &json!({}), None),
            Err(CelError::Unsupported(_) | CelError::Eval(_))
        ));
        assert!(matches!(
            eval_rule("self.missing == 1", &json!({}), None),
            Err(CelError::Eval(_))
        ));
        assert!(is_transition_rule("self == oldSelf"));
    }
}

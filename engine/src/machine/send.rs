//! A role's event checked against the protocol before it is taken: the event exists, the role
//! may send it, and its fields are there and of their declared types.

use std::collections::BTreeMap;

use minijinja::value::Serde;
use minijinja::Value;

use crate::expr::DurationValue;
use crate::protocol::{Protocol, ValueType};

/// Checks a role's event against the protocol; returns its fields as template values.
pub(super) fn check(
    protocol: &Protocol,
    event: &str,
    sender: &str,
    fields: &BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, Value>, String> {
    let Some(def) = protocol.events.get(event) else {
        let known: Vec<&str> = protocol.events.keys().map(|k| k.as_str()).collect();
        return Err(format!(
            "no event `{event}` can be sent; the protocol's events are {}",
            known.join(", ")
        ));
    };
    if !protocol.roles.contains(sender) {
        return Err(format!("`{sender}` is not a role of this protocol"));
    }
    if !def.from.iter().any(|r| r == sender) {
        let allowed: Vec<&str> = def.from.iter().map(|r| r.as_str()).collect();
        return Err(format!(
            "`{sender}` may not send `{event}`; it comes from {}",
            allowed.join(", ")
        ));
    }
    if let Some(unknown) = fields.keys().find(|k| !def.fields.contains(k)) {
        let known: Vec<&str> = def.fields.keys().map(|k| k.as_str()).collect();
        return Err(format!(
            "`{event}` has no field `{unknown}`; its fields are {}",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ));
    }
    let mut values = BTreeMap::new();
    for (name, field) in def.fields.iter() {
        let value = match fields.get(name.as_str()) {
            Some(value) => typed(field.ty.value, value)
                .map_err(|reason| format!("field `{}`: {reason}", name.as_str()))?,
            None if field.required => {
                return Err(format!("`{event}` needs the field `{}`", name.as_str()))
            }
            None => Value::from(()),
        };
        values.insert(name.to_string(), value);
    }
    Ok(values)
}

/// `value` as a template value of type `ty`, or why it is not one.
pub fn typed(ty: ValueType, value: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    let wrong = || format!("expected {}, found `{value}`", ty.as_str());
    Ok(match (ty, value) {
        (_, J::Null) => Value::from(()),
        (ValueType::String, J::String(s)) => Value::from(s.as_str()),
        (ValueType::String, J::Number(n)) => Value::from(n.to_string()),
        (ValueType::Integer, J::Number(n)) => Value::from(n.as_i64().ok_or_else(wrong)?),
        (ValueType::Integer, J::String(s)) => {
            Value::from(s.trim().parse::<i64>().map_err(|_| wrong())?)
        }
        (ValueType::Number, J::Number(n)) => Value::from(n.as_f64().ok_or_else(wrong)?),
        (ValueType::Number, J::String(s)) => {
            Value::from(s.trim().parse::<f64>().map_err(|_| wrong())?)
        }
        (ValueType::Boolean, J::Bool(b)) => Value::from(*b),
        (ValueType::Boolean, J::String(s)) if s == "true" || s == "false" => {
            Value::from(s == "true")
        }
        (ValueType::Duration, J::String(s)) => DurationValue::value(crate::duration::parse(s)?),
        (ValueType::List, J::Array(_)) => Value::from(Serde(value)),
        (ValueType::List, J::String(s)) => Value::from(
            s.split(',')
                .map(|item| item.trim().to_owned())
                .filter(|item| !item.is_empty())
                .collect::<Vec<_>>(),
        ),
        _ => return Err(wrong()),
    })
}

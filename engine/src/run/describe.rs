//! What a run's protocol lets its roles do, for a client that learns it while the run goes on
//! (an agent taking a role): the roles, the events each may send with their fields and types,
//! the states that take each event, and the channels. Also the JSON Schema of a `send`'s
//! arguments that follows from the protocols of the runs there are.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::state::RunState;
use super::store::RunDir;
use super::RunError;
use crate::protocol::{Protocol, ValueType};

/// A run's protocol as its roles see it.
#[derive(Debug, Clone, Serialize)]
pub struct Described {
    /// The run.
    pub run: String,
    /// The protocol's id.
    pub protocol: String,
    /// Its version.
    pub version: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// What it is for.
    pub doc: Option<String>,
    /// The run's state now.
    pub state: String,
    /// Whether the run has ended (then it takes no event).
    pub ended: bool,
    /// The events the run's state takes now.
    pub taken_now: Vec<String>,
    /// The roles.
    pub roles: Vec<RoleView>,
    /// The events roles send.
    pub events: Vec<EventView>,
    /// Who may write to whom.
    pub channels: Vec<ChannelView>,
    /// The states.
    pub states: Vec<StateView>,
}

/// A role, for [`Described`].
#[derive(Debug, Clone, Serialize)]
pub struct RoleView {
    /// Its id.
    pub id: String,
    /// Its display name.
    pub title: Option<String>,
    /// What it does.
    pub doc: Option<String>,
    /// The events it may send.
    pub sends: Vec<String>,
}

/// An event a role sends, for [`Described`].
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// Its name.
    pub name: String,
    /// What it means.
    pub doc: Option<String>,
    /// The roles that may send it.
    pub from: Vec<String>,
    /// Its fields.
    pub fields: Vec<FieldView>,
    /// The states in which a transition takes it.
    pub taken_in: Vec<String>,
}

/// A field of an event, for [`EventView`].
#[derive(Debug, Clone, Serialize)]
pub struct FieldView {
    /// Its name.
    pub name: String,
    /// Its type, as the protocol writes it: string, integer, number, boolean, duration, list.
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// Whether the sender must give it.
    pub required: bool,
    /// What it means.
    pub doc: Option<String>,
}

/// A channel, for [`Described`].
#[derive(Debug, Clone, Serialize)]
pub struct ChannelView {
    /// The sending roles.
    pub from: Vec<String>,
    /// The receiving roles.
    pub to: Vec<String>,
    /// Only on transitions into or out of these states (none: in every state).
    #[serde(rename = "in", skip_serializing_if = "Vec::is_empty")]
    pub in_states: Vec<String>,
}

/// A state, for [`Described`].
#[derive(Debug, Clone, Serialize)]
pub struct StateView {
    /// Its name.
    pub name: String,
    /// Whether the run starts there.
    pub initial: bool,
    /// Whether the run ends there.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// What it means.
    pub doc: Option<String>,
}

fn strings<'a>(
    values: impl IntoIterator<Item = &'a crate::span::Spanned<crate::span::Str>>,
) -> Vec<String> {
    values.into_iter().map(|v| v.to_string()).collect()
}

fn text(value: &Option<crate::span::Spanned<crate::span::Str>>) -> Option<String> {
    value.as_ref().map(|v| v.to_string())
}

/// `run`'s protocol as its roles see it, with the run's state now.
pub fn describe(run: &RunDir) -> Result<Described, RunError> {
    let state = RunState::replay(run)?;
    let machine = state.machine();
    let protocol = machine.protocol();
    let ended = state.ended().is_some();
    let current = state.instance().state.clone();
    let events: Vec<EventView> = protocol
        .events
        .iter()
        .map(|(name, def)| EventView {
            name: name.to_string(),
            doc: text(&def.doc),
            from: strings(def.from.iter()),
            fields: def
                .fields
                .iter()
                .map(|(field, f)| FieldView {
                    name: field.to_string(),
                    ty: f.ty.value.as_str(),
                    required: f.required,
                    doc: text(&f.doc),
                })
                .collect(),
            taken_in: machine
                .states_taking(name.as_str())
                .into_iter()
                .map(str::to_owned)
                .collect(),
        })
        .collect();
    let taken_now = if ended {
        Vec::new()
    } else {
        events
            .iter()
            .filter(|e| e.taken_in.contains(&current))
            .map(|e| e.name.clone())
            .collect()
    };
    Ok(Described {
        run: run.id.clone(),
        protocol: protocol.id.to_string(),
        version: text(&protocol.version),
        title: text(&protocol.title),
        doc: text(&protocol.doc),
        state: current,
        ended,
        taken_now,
        roles: protocol
            .roles
            .iter()
            .map(|(id, role)| RoleView {
                id: id.to_string(),
                title: text(&role.title),
                doc: text(&role.doc),
                sends: events
                    .iter()
                    .filter(|e| e.from.iter().any(|r| r == id.as_str()))
                    .map(|e| e.name.clone())
                    .collect(),
            })
            .collect(),
        events,
        channels: protocol
            .channels
            .iter()
            .map(|c| ChannelView {
                from: strings(c.from.iter()),
                to: strings(c.to.iter()),
                in_states: c
                    .in_states
                    .as_ref()
                    .map_or_else(Vec::new, |s| strings(s.iter())),
            })
            .collect(),
        states: protocol
            .states
            .iter()
            .map(|(name, s)| StateView {
                name: name.to_string(),
                initial: s.initial,
                is_final: s.is_final,
                doc: text(&s.doc),
            })
            .collect(),
    })
}

/// The JSON Schema of a value of a field of type `ty`, as a sender should give it.
pub fn field_schema(ty: ValueType) -> Value {
    match ty {
        ValueType::String => json!({ "type": "string" }),
        ValueType::Integer => json!({ "type": "integer" }),
        ValueType::Number => json!({ "type": "number" }),
        ValueType::Boolean => json!({ "type": "boolean" }),
        ValueType::Duration => json!({
            "type": "string",
            "description": "a duration such as 90s, 30m, 12h or 1h30m"
        }),
        ValueType::List => json!({ "type": "array", "items": { "type": "string" } }),
    }
}

/// What `send`'s `event`, `role` and `fields` may be under some protocols, as JSON Schemas of
/// each argument on its own: a schema whose alternatives sit at its top (`anyOf`, `oneOf`) is
/// refused by some of the model providers agents run on, so each event's alternative is given
/// within the argument it is about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendSchema {
    /// One `{"const": EVENT, "description": ...}` per event, saying who sends it and its fields.
    pub events: Vec<Value>,
    /// The roles that may send some event.
    pub roles: Vec<String>,
    /// One object schema per event, titled with its name: its fields with their types, the
    /// required ones required, no others.
    pub fields: Vec<Value>,
}

/// The [`SendSchema`] of `protocols`: only the events `role` may send when one is given.
/// Events alike in two protocols are given once.
pub fn send_schema(protocols: &[&Protocol], role: Option<&str>) -> SendSchema {
    let mut schema = SendSchema::default();
    for protocol in protocols {
        for (name, def) in protocol.events.iter() {
            let from: Vec<&str> = def
                .from
                .iter()
                .map(|r| r.as_str())
                .filter(|r| role.is_none_or(|role| role == *r))
                .collect();
            if from.is_empty() {
                continue;
            }
            let mut properties = Map::new();
            let mut required = Vec::new();
            let mut listed = Vec::new();
            for (field, f) in def.fields.iter() {
                let mut field_schema = field_schema(f.ty.value);
                if let (Some(doc), Some(object)) = (&f.doc, field_schema.as_object_mut()) {
                    object.insert("description".into(), Value::from(doc.to_string()));
                }
                properties.insert(field.to_string(), field_schema);
                if f.required {
                    required.push(field.value.clone());
                }
                listed.push(format!(
                    "{} ({}{})",
                    field.as_str(),
                    f.ty.value.as_str(),
                    if f.required { ", required" } else { "" }
                ));
            }
            let mut description = def.doc.as_ref().map_or_else(String::new, |d| {
                format!("{}. ", d.value.trim().trim_end_matches('.'))
            });
            description.push_str(&format!("Sent by {}; ", from.join(", ")));
            description.push_str(&if listed.is_empty() {
                "no fields.".to_owned()
            } else {
                format!("fields: {}.", listed.join(", "))
            });
            let event = json!({ "const": name.as_str(), "description": description });
            if !schema.events.contains(&event) {
                schema.events.push(event);
            }
            let mut fields = json!({
                "title": name.as_str(),
                "type": "object",
                "properties": properties,
                "additionalProperties": false,
            });
            if !required.is_empty() {
                fields["required"] = json!(required);
            }
            if !schema.fields.contains(&fields) {
                schema.fields.push(fields);
            }
            for r in from {
                if !schema.roles.iter().any(|known| known == r) {
                    schema.roles.push(r.to_owned());
                }
            }
        }
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol(text: &str) -> Protocol {
        crate::protocol::parse(std::path::Path::new("p.yaml"), text.as_bytes()).expect("loads")
    }

    const NOTE: &str = "protocol: p\nroles: { a: {}, b: {} }\nevents:\n  note:\n    from: [a]\n    \
        doc: A note\n    fields:\n      text: { type: string, required: true }\n      n: { type: integer }\n      \
        wait: { type: duration }\n  stop: { from: [a, b] }\nstates:\n  s: { initial: true }\n  \
        e: { final: true }\ntransitions:\n  - { from: s, on: note }\n  - { from: s, on: stop, to: e }\n";

    #[test]
    fn each_event_is_described_with_its_senders_and_typed_fields() {
        let p = protocol(NOTE);
        let schema = send_schema(&[&p], None);
        assert_eq!(schema.roles, ["a", "b"]);
        assert_eq!(
            schema.events,
            [
                json!({
                    "const": "note",
                    "description": "A note. Sent by a; fields: text (string, required), \
                                    n (integer), wait (duration)."
                }),
                json!({ "const": "stop", "description": "Sent by a, b; no fields." }),
            ]
        );
        let note = &schema.fields[0];
        assert_eq!(note["title"], "note");
        assert_eq!(note["required"], json!(["text"]));
        assert_eq!(note["properties"]["n"]["type"], "integer");
        assert_eq!(note["properties"]["wait"]["type"], "string");
        assert_eq!(note["additionalProperties"], false);
        let stop = &schema.fields[1];
        assert_eq!(stop["title"], "stop");
        assert!(stop.get("required").is_none(), "{stop}");
    }

    #[test]
    fn a_role_sees_only_what_it_may_send_and_alike_protocols_count_once() {
        let p = protocol(NOTE);
        let q = protocol(NOTE);
        let b = send_schema(&[&p, &q], Some("b"));
        assert_eq!(b.events.len(), 1);
        assert_eq!(b.events[0]["const"], "stop");
        assert_eq!(b.events[0]["description"], "Sent by b; no fields.");
        assert_eq!(b.roles, ["b"]);
        assert_eq!(b.fields.len(), 1);
        assert_eq!(send_schema(&[&p], Some("nobody")), SendSchema::default());
    }

    #[test]
    fn a_value_of_each_field_s_schema_type_is_taken_by_send() {
        let text =
            "protocol: p\nroles: { a: {} }\nevents:\n  all:\n    from: [a]\n    fields:\n      \
            s: { type: string }\n      i: { type: integer }\n      n: { type: number }\n      \
            b: { type: boolean }\n      d: { type: duration }\n      l: { type: list }\n\
            states:\n  s: { initial: true }\ntransitions:\n  - { from: s, on: all }\n";
        let p = protocol(text);
        let machine = crate::machine::Machine::new(p.clone(), &Default::default()).unwrap();
        let sample = |schema: &Value| match schema["type"].as_str().unwrap() {
            "string" => json!("90s"),
            "integer" => json!(3),
            "number" => json!(2.5),
            "boolean" => json!(true),
            "array" => json!(["x", "y"]),
            other => panic!("no sample of {other}"),
        };
        let schema = send_schema(&[&p], None);
        let properties = schema.fields[0]["properties"].as_object().unwrap();
        assert_eq!(properties.len(), 6);
        for (name, schema) in properties {
            let fields = [(name.clone(), sample(schema))].into_iter().collect();
            machine.validate_send("all", "a", &fields).unwrap();
            // And one of another JSON type is refused by both.
            let wrong = if schema["type"] == "boolean" {
                json!([1])
            } else {
                json!({})
            };
            let fields = [(name.clone(), wrong)].into_iter().collect();
            assert!(
                machine.validate_send("all", "a", &fields).is_err(),
                "{name}"
            );
        }
    }
}

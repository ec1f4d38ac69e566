//! The JSON Schema of the protocol file, derived from the model's types, for editors.

use crate::protocol::Protocol;

/// The schema as pretty-printed JSON, ending with a newline.
pub fn protocol_schema() -> String {
    let schema = schemars::schema_for!(Protocol);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes to JSON");
    text.push('\n');
    text
}

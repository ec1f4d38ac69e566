//! The run's mailbox: how `warden send` hands a role's event to the supervisor, and how the
//! supervisor answers.
//!
//! A request is a file `requests/<id>.json`, written atomically; its id sorts in the order the
//! requests were sent. The supervisor takes the requests in that order, writes its answer
//! beside each as `<id>.reply.json`, then removes the request. A request it took before a
//! restart (the journal names it) is only removed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::store::{self, RunDir};
use super::{io_error, write_atomic, RunError};

/// An event a role sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The event.
    pub event: String,
    /// The sending role.
    pub sender: String,
    /// Its fields.
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// What the supervisor did with a request: the outcome the journal records for it, the state
/// it was taken in, and the files of the messages it caused.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reply {
    /// The state before.
    pub from: String,
    /// What the event did (`state` is the state after).
    #[serde(flatten)]
    pub outcome: store::Outcome,
    /// The messages it caused, as files relative to the run's directory.
    pub files: Vec<String>,
}

/// A request found in the mailbox: its id, and the request, or why its file is not one.
pub type Posted = (String, Result<Request, String>);

fn request_file(run: &RunDir, id: &str) -> PathBuf {
    run.requests().join(format!("{id}.json"))
}

fn reply_file(run: &RunDir, id: &str) -> PathBuf {
    run.requests().join(format!("{id}.reply.json"))
}

/// Leaves `request` for the supervisor of `run`; returns its id.
pub fn post(run: &RunDir, request: &Request) -> Result<String, RunError> {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let id = format!("{nanos:020}-{}", std::process::id());
    let path = request_file(run, &id);
    let json = serde_json::to_vec(request).expect("a request serializes");
    write_atomic(&path, &json).map_err(io_error(&path))?;
    Ok(id)
}

/// Waits up to `timeout` for the answer to request `id`, and takes it.
pub fn await_reply(run: &RunDir, id: &str, timeout: Duration) -> Result<Option<Reply>, RunError> {
    let answer = reply_file(run, id);
    let started = Instant::now();
    loop {
        if let Ok(bytes) = std::fs::read(&answer) {
            let reply: Reply = serde_json::from_slice(&bytes).map_err(|e| RunError::Journal {
                path: answer.clone(),
                message: format!("not a reply: {e}"),
            })?;
            let _ = std::fs::remove_file(&answer);
            return Ok(Some(reply));
        }
        if started.elapsed() >= timeout {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The requests waiting in `run`'s mailbox, in the order they were sent.
pub fn waiting(run: &RunDir) -> Vec<Posted> {
    let Ok(entries) = std::fs::read_dir(run.requests()) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.') && !name.ends_with(".reply.json"))
        .filter_map(|name| name.strip_suffix(".json").map(str::to_owned))
        .collect();
    ids.sort();
    ids.into_iter()
        .map(|id| {
            let request = std::fs::read(request_file(run, &id))
                .map_err(|e| format!("cannot read the request: {e}"))
                .and_then(|bytes| {
                    serde_json::from_slice::<Request>(&bytes)
                        .map_err(|e| format!("not a request: {e}"))
                });
            (id, request)
        })
        .collect()
}

/// Answers request `id` (when there is an answer) and removes it from the mailbox.
pub fn close(run: &RunDir, id: &str, reply: Option<&Reply>) -> Result<(), RunError> {
    if let Some(reply) = reply {
        let answer = reply_file(run, id);
        let json = serde_json::to_vec(reply).expect("a reply serializes");
        write_atomic(&answer, &json).map_err(io_error(&answer))?;
    }
    let path = request_file(run, id);
    std::fs::remove_file(&path).map_err(io_error(&path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::store::Store;

    fn request(event: &str) -> Request {
        Request {
            event: event.into(),
            sender: "director".into(),
            fields: BTreeMap::from([("note".to_owned(), serde_json::json!("go"))]),
        }
    }

    #[test]
    fn requests_are_taken_in_the_order_sent_and_answered_beside_them() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::create(root.path(), "r").unwrap();
        let run = store.run();
        let first = post(run, &request("first")).unwrap();
        let second = post(run, &request("second")).unwrap();
        std::fs::write(run.requests().join("0-forged.json"), b"{ not json").unwrap();
        let posted = waiting(run);
        let ids: Vec<&str> = posted.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["0-forged", first.as_str(), second.as_str()]);
        assert!(posted[0]
            .1
            .as_ref()
            .is_err_and(|e| e.starts_with("not a request")));
        assert_eq!(posted[1].1.as_ref().unwrap(), &request("first"));

        let reply = Reply {
            from: "watch".into(),
            files: vec!["messages/0001-x.md".into()],
            ..Default::default()
        };
        close(run, &first, Some(&reply)).unwrap();
        assert_eq!(
            await_reply(run, &first, Duration::ZERO).unwrap(),
            Some(reply)
        );
        assert_eq!(
            await_reply(run, &first, Duration::ZERO).unwrap(),
            None,
            "taken once"
        );
        // Taken before a restart: only removed, never answered again.
        close(run, &second, None).unwrap();
        assert_eq!(await_reply(run, &second, Duration::ZERO).unwrap(), None);
        assert_eq!(waiting(run).len(), 1, "only the forged one is left");
    }
}

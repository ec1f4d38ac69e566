//! The run's mailbox: how `warden send` hands a role's event to the supervisor, and how the
//! supervisor answers.
//!
//! A request is a file `requests/<id>.json`, written atomically; its id sorts in the order the
//! requests were sent. The supervisor takes the requests in that order, writes its answer
//! beside each as `<id>.reply.json`, then removes the request. A request it took before a
//! restart (the journal names it) is only removed.
//!
//! Anyone who can write to the folder can leave anything there. An entry that is not a request
//! (not a regular file, a link, a fifo, a file that cannot be read, more than [`MAX_REQUEST`]
//! bytes, text that is not a request) is refused: answered when it can be, then moved aside
//! as `<id>.json.rejected`, never deleted, and the supervisor goes on.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::store::{self, RunDir};
use super::{files, io_error, write_atomic, RunError};

/// The largest request file read: a role's event is a few hundred bytes.
pub const MAX_REQUEST: u64 = 1 << 20;

/// The longest request id taken: its answer's file name (and the temporary one it is written
/// as) must fit the file system's 255 bytes. `post` makes ids of some 30 bytes.
pub const MAX_ID: usize = 128;

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

/// The file of request `id`.
pub(super) fn request_file(run: &RunDir, id: &str) -> PathBuf {
    run.requests().join(format!("{id}.json"))
}

fn reply_file(run: &RunDir, id: &str) -> PathBuf {
    run.requests().join(format!("{id}.reply.json"))
}

/// Leaves `request` for the supervisor of `run`; returns its id.
pub fn post(run: &RunDir, request: &Request) -> Result<String, RunError> {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let id = format!("{nanos:020}-{}", std::process::id());
    let dir = run.requests();
    files::real_dir(&dir).map_err(io_error(&dir))?;
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
        if let Ok(bytes) = files::read(&answer) {
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

/// The requests waiting in `run`'s mailbox, in the order they were sent (none while the
/// mailbox is not a folder of its own: see [`repair`]).
pub fn waiting(run: &RunDir) -> Vec<Posted> {
    if files::real_dir(&run.requests()).is_err() {
        return Vec::new();
    }
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
            let request = if id.len() > MAX_ID {
                Err(format!(
                    "not a request: its id is longer than {MAX_ID} bytes, too long to answer"
                ))
            } else {
                read_request(run, &id)
            };
            (id, request)
        })
        .collect()
}

/// Reads request `id`: a regular file (never through a link; a fifo does not block) of at most
/// [`MAX_REQUEST`] bytes that is a request.
fn read_request(run: &RunDir, id: &str) -> Result<Request, String> {
    let cannot = |e: std::io::Error| format!("cannot read the request: {e}");
    let file = files::open(&request_file(run, id)).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_REQUEST + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_REQUEST {
        return Err(format!(
            "not a request: larger than {} KiB",
            MAX_REQUEST / 1024
        ));
    }
    serde_json::from_slice::<Request>(&bytes).map_err(|e| format!("not a request: {e}"))
}

/// Refuses the entry `id` of the mailbox, which is not a request: answers it with `reply` when
/// it can (a sender waiting learns why), then moves it aside as `<id>.json.rejected` (or
/// `.rejected-2`...). Returns where it went; an answer that could not be written is no error.
pub fn reject(run: &RunDir, id: &str, reply: &Reply) -> Result<PathBuf, RunError> {
    let _ = answer(run, id, reply);
    let path = request_file(run, id);
    files::set_aside(&path).map_err(io_error(&path))
}

/// Writes `reply` beside request `id`, where its sender waits for it.
fn answer(run: &RunDir, id: &str, reply: &Reply) -> Result<(), RunError> {
    let path = reply_file(run, id);
    let json = serde_json::to_vec(reply).expect("a reply serializes");
    write_atomic(&path, &json).map_err(io_error(&path))
}

/// When the mailbox is no longer a folder of the run's own (replaced by a link or a file), moves
/// what is there aside as `requests.rejected` and makes a new, empty folder. Returns what was
/// done, or why it could not be, for a warning; `None` when the mailbox is as it should be.
pub fn repair(run: &RunDir) -> Option<String> {
    let dir = run.requests();
    let why = match files::real_dir(&dir) {
        Ok(()) => return None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "it is missing".to_owned(),
        Err(e) => e.to_string(),
    };
    let moved = match files::set_aside(&dir) {
        Ok(aside) => format!("; moved it aside to {}", aside.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Some(format!(
                "{}: {why}, and cannot be moved aside: {e}",
                dir.display()
            ))
        }
    };
    match std::fs::create_dir(&dir) {
        Ok(()) => Some(format!(
            "{}: {why}{moved}, and made a new one",
            dir.display()
        )),
        Err(e) => Some(format!(
            "{}: {why}{moved}, and cannot make a new one: {e}",
            dir.display()
        )),
    }
}

/// Answers request `id` (when there is an answer) and removes it from the mailbox. The request
/// is removed even when the answer cannot be written; the first error is returned.
pub fn close(run: &RunDir, id: &str, reply: Option<&Reply>) -> Result<(), RunError> {
    let answered = reply.map_or(Ok(()), |reply| answer(run, id, reply));
    let path = request_file(run, id);
    let removed = std::fs::remove_file(&path).map_err(io_error(&path));
    answered.and(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::store::Store;

    #[test]
    fn an_id_too_long_to_answer_is_refused_before_it_is_taken() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::create(root.path(), "r").unwrap();
        let run = store.run();
        let long = "r".repeat(244);
        let json = serde_json::to_vec(&request("note")).unwrap();
        std::fs::write(run.requests().join(format!("{long}.json")), json).unwrap();
        let posted = waiting(run);
        assert_eq!(posted.len(), 1);
        let refused = posted[0].1.as_ref().unwrap_err();
        assert!(refused.contains("too long to answer"), "{refused}");
    }

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

    #[test]
    fn what_is_not_a_request_is_refused_answered_and_moved_aside() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::create(root.path(), "r").unwrap();
        let run = store.run();
        let requests = run.requests();
        let target = root.path().join("precious.json");
        std::fs::write(&target, serde_json::to_vec(&request("x")).unwrap()).unwrap();
        std::fs::create_dir(requests.join("1-dir.json")).unwrap();
        nix::unistd::mkfifo(&requests.join("2-fifo.json"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        std::os::unix::fs::symlink(&target, requests.join("3-link.json")).unwrap();
        std::fs::write(requests.join("4-garbage.json"), [0xff, 0, 7]).unwrap();
        let big = vec![b' '; MAX_REQUEST as usize + 1];
        std::fs::write(requests.join("5-big.json"), big).unwrap();
        // Read without blocking on the fifo.
        let posted = waiting(run);
        let why: Vec<(&str, String)> = posted
            .iter()
            .map(|(id, r)| (id.as_str(), r.clone().unwrap_err()))
            .collect();
        assert_eq!(why.len(), 5, "{why:?}");
        assert!(
            why[0].1.contains("not a regular file (a directory)"),
            "{why:?}"
        );
        assert!(why[1].1.contains("not a regular file (a fifo)"), "{why:?}");
        assert!(why[2].1.contains("is a symbolic link"), "{why:?}");
        assert!(why[3].1.starts_with("not a request"), "{why:?}");
        assert!(why[4].1.contains("larger than 1024 KiB"), "{why:?}");
        let reply = Reply {
            from: "watch".into(),
            ..Default::default()
        };
        for (id, _) in &posted {
            let aside = reject(run, id, &reply).unwrap();
            assert_eq!(aside, requests.join(format!("{id}.json.rejected")));
            assert_eq!(
                await_reply(run, id, Duration::ZERO).unwrap(),
                Some(reply.clone())
            );
        }
        assert!(waiting(run).is_empty(), "all moved aside");
        assert!(requests.join("1-dir.json.rejected").is_dir());
        assert!(
            std::fs::symlink_metadata(requests.join("3-link.json.rejected"))
                .unwrap()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read(&target).unwrap(),
            serde_json::to_vec(&request("x")).unwrap(),
            "what the link named is untouched"
        );
    }

    #[test]
    fn a_mailbox_replaced_by_a_link_is_moved_aside_and_made_again() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let store = Store::create(root.path(), "r").unwrap();
        let run = store.run();
        assert_eq!(repair(run), None);
        std::fs::remove_dir(run.requests()).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), run.requests()).unwrap();
        std::fs::write(elsewhere.path().join("1-x.json"), b"{}").unwrap();
        assert!(waiting(run).is_empty(), "not read through the link");
        let error = post(run, &request("x")).unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        let warning = repair(run).unwrap();
        assert!(
            warning.contains("is a symbolic link") && warning.contains("requests.rejected"),
            "{warning}"
        );
        assert!(std::fs::symlink_metadata(run.dir.join("requests.rejected"))
            .unwrap()
            .is_symlink());
        assert_eq!(repair(run), None);
        assert!(post(run, &request("x")).is_ok());
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 1);
    }
}

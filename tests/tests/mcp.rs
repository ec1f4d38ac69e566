//! `warden mcp` with real clients: the official MCP Python SDK driving a live run end to end
//! (tests/fixtures/mcp/agent.py, its package pinned in tests/requirements.txt), and JSON-RPC
//! written by hand for the refusals, which must say why and write nothing.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use warden_tests::workspace::Workspace;
use warden_tests::{binary, root};

#[test]
fn an_agent_with_the_python_sdk_drives_a_live_run() {
    let probe = Command::new("python3")
        .args(["-c", "import mcp"])
        .output()
        .expect("python3 runs");
    assert!(
        probe.status.success(),
        "the MCP Python SDK is missing, and this test needs it: \
         `pip install -r tests/requirements.txt`\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let workspace = Workspace::new();
    let id = workspace.start(
        &[],
        &["say:hello", "fatal:disk on fire", "until:go", "exit:0"],
    );
    let output = Command::new("python3")
        .arg(root().join("tests/fixtures/mcp/agent.py"))
        .arg(binary())
        .arg(workspace.path())
        .arg(&id)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "agent: ok", "{stderr}");
}

/// A client writing JSON-RPC to `warden mcp` by hand, one request at a time.
struct Client {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    next: u64,
}

impl Client {
    fn start(dir: &Path, args: &[&str]) -> Client {
        let mut child = Command::new(binary())
            .current_dir(dir)
            .arg("mcp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        let mut client = Client {
            child,
            input,
            output,
            next: 0,
        };
        let info = client.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": "warden-tests", "version": "1" },
            }),
        );
        assert_eq!(info["result"]["serverInfo"]["name"], "warden", "{info}");
        client.notify("notifications/initialized", json!({}));
        client
    }

    fn send(&mut self, message: Value) {
        writeln!(self.input, "{message}").unwrap();
        self.input.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// The answer to a request; notifications before it are passed over.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let mut line = String::new();
            assert!(
                self.output.read_line(&mut line).unwrap() > 0,
                "the server closed its output"
            );
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let answer = self.request(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        );
        assert!(answer.get("error").is_none(), "{tool}: {answer}");
        answer["result"].clone()
    }

    /// Calls `tool`, which must refuse with a text that contains `reason`.
    fn refused(&mut self, tool: &str, arguments: Value, reason: &str) {
        let result = self.call(tool, arguments.clone());
        assert_eq!(result["isError"], true, "{tool} {arguments}: {result}");
        let text = result["content"][0]["text"].as_str().unwrap_or_default();
        assert!(text.contains(reason), "{tool} {arguments}: {text}");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Its input closed, the server ends.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under the run's folder `dir`, with its bytes; but the supervisor's notices,
/// which it writes on its own time.
fn files(dir: &Path) -> Files {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                folders.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                if !supervisors_own(&name) {
                    found.push((name, std::fs::read(&path).unwrap_or_default()));
                }
            }
        }
    }
    found.sort();
    Files(found)
}

/// Whether a run's file is one the supervisor rewrites on its own clock (its log, and how it
/// wakes, which changes when a watched folder appears), or such a file being written: none of
/// them is a client's doing.
fn supervisors_own(name: &str) -> bool {
    const OWN: [&str; 2] = ["supervisor.log", "supervisor.wake"];
    let written = name
        .strip_prefix('.')
        .and_then(|rest| rest.strip_suffix(".partial"))
        .and_then(|rest| rest.rsplit_once('.'))
        .map(|(target, _pid)| target);
    OWN.contains(&name) || written.is_some_and(|target| OWN.contains(&target))
}

/// A folder's files, compared in full and shown by name and size.
#[derive(PartialEq)]
struct Files(Vec<(String, Vec<u8>)>);

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .iter()
                    .map(|(name, bytes)| format!("{name} ({} bytes)", bytes.len())),
            )
            .finish()
    }
}

#[test]
fn a_server_serves_only_runs_under_its_folder_and_says_what_is_wrong() {
    let workspace = Workspace::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(outside.path().join("elsewhere")).unwrap();
    let mut client = Client::start(workspace.path(), &[]);
    assert_eq!(
        client.call("warden_list", json!({}))["structuredContent"],
        json!({ "runs": [] })
    );
    let escape = format!("../../{}/elsewhere", outside.path().display());
    for run in ["../x", "/etc", escape.as_str(), "", "no-such-run"] {
        client.refused("warden_status", json!({ "run": run }), "");
        client.refused("warden_log", json!({ "run": run }), "");
        client.refused(
            "warden_send",
            json!({ "run": run, "event": "note", "role": "operator" }),
            "",
        );
    }
    client.refused(
        "warden_status",
        json!({ "run": "no-such-run" }),
        "no-such-run",
    );
    client.refused(
        "warden_inbox",
        json!({ "run": "r" }),
        "give the `role` to act as",
    );
    client.refused(
        "warden_wait",
        json!({ "run": "r", "role": "operator", "timeout": -1 }),
        "give a number of seconds",
    );
    client.refused(
        "warden_log",
        json!({ "run": "r", "lines": 0 }),
        "give a number from 1",
    );
    // Arguments that are not the tool's are refused as the tool's error, naming the mistake,
    // so that the agent can correct them.
    for (tool, arguments, reason) in [
        (
            "warden_wait",
            json!({ "run": "r", "role": "operator" }),
            "missing field `timeout`",
        ),
        ("warden_status", json!({ "run": 3 }), "expected a string"),
        (
            "warden_status",
            json!({ "run": "r", "colour": "red" }),
            "unknown field `colour`",
        ),
    ] {
        client.refused(tool, arguments, reason);
    }
    for uri in [
        "warden://../protocol",
        "warden://r/messages/x",
        "file:///etc/passwd",
        "warden://no-such-run/protocol",
    ] {
        let answer = client.request("resources/read", json!({ "uri": uri }));
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(uri), "{uri}: {answer}");
    }
    assert!(
        !workspace.path().join(".warden").exists(),
        "nothing was written"
    );
    assert!(std::fs::read_dir(outside.path().join("elsewhere"))
        .unwrap()
        .next()
        .is_none());
}

#[test]
fn refusals_on_a_live_run_write_nothing_and_a_pinned_server_acts_for_its_role_only() {
    let workspace = Workspace::new();
    let id = workspace.start(&[], &["until:go", "exit:0"]);
    let run = workspace.run_dir(&id);
    let mut operator = Client::start(workspace.path(), &[]);
    // The launch's message, once it is there: the run's files settle.
    let first = operator.call(
        "warden_wait",
        json!({ "run": id, "role": "operator", "timeout": 30 }),
    );
    assert_eq!(first["structuredContent"]["outcome"], "message", "{first}");
    let before = files(&run.dir);

    let mut watcher = Client::start(workspace.path(), &["--role", "watcher"]);
    let schema = watcher.request("tools/list", json!({}));
    let send = schema["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "warden_send")
        .unwrap()
        .clone();
    assert_eq!(
        send["inputSchema"]["properties"]["role"]["enum"],
        json!(["watcher"])
    );
    for (tool, arguments) in [
        (
            "warden_send",
            json!({ "run": id, "event": "note", "role": "operator", "fields": { "text": "x" } }),
        ),
        ("warden_inbox", json!({ "run": id, "role": "operator" })),
        (
            "warden_wait",
            json!({ "run": id, "role": "operator", "timeout": 5 }),
        ),
    ] {
        watcher.refused(tool, arguments, "acts for `watcher` only");
    }
    watcher.refused(
        "warden_send",
        json!({ "run": id, "event": "terminate" }),
        "`watcher` may not send `terminate`",
    );
    let resources = watcher.request("resources/list", json!({}));
    let uris: Vec<&str> = resources["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .collect();
    assert_eq!(uris, [format!("warden://{id}/protocol")]);
    let hidden = watcher.request(
        "resources/read",
        json!({ "uri": format!("warden://{id}/messages/0001") }),
    );
    assert!(
        hidden["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no message 1 for watcher"),
        "{hidden}"
    );

    operator.refused(
        "warden_inbox",
        json!({ "run": id, "role": "nobody" }),
        "`nobody` is not a role of this run's protocol",
    );
    operator.refused(
        "warden_wait",
        json!({ "run": id, "role": "nobody", "timeout": 1 }),
        "`nobody` is not a role of this run's protocol",
    );
    operator.refused(
        "warden_send",
        json!({ "run": id, "event": "note", "role": "operator", "fields": { "text": [1] } }),
        "field `text`: expected string",
    );
    // A wait that times out marks nothing.
    let quiet = operator.call(
        "warden_wait",
        json!({ "run": id, "role": "operator", "timeout": 0.1 }),
    );
    assert_eq!(
        quiet["structuredContent"],
        json!({ "outcome": "timed_out" })
    );
    assert_eq!(files(&run.dir), before, "the refusals wrote nothing");

    // A message delivered to a wait that was cancelled as it delivered is given back: unread
    // again, the next wait delivers it; not once a later one was delivered.
    let delivered = warden::run::client::message(&run, 1, Some("operator")).unwrap();
    assert!(delivered.read);
    assert!(warden::run::client::give_back(&run, "operator", &delivered).unwrap());
    assert_eq!(warden::run::client::read_mark(&run, "operator"), 0);
    let again = operator.call(
        "warden_wait",
        json!({ "run": id, "role": "operator", "timeout": 5 }),
    );
    assert_eq!(again["structuredContent"]["message"]["seq"], 1, "{again}");
    operator.call(
        "warden_send",
        json!({ "run": id, "event": "note", "role": "operator", "fields": { "text": "x" } }),
    );
    let note = operator.call(
        "warden_wait",
        json!({ "run": id, "role": "operator", "timeout": 30 }),
    );
    assert_eq!(note["structuredContent"]["message"]["seq"], 2, "{note}");
    assert!(!warden::run::client::give_back(&run, "operator", &delivered).unwrap());
    assert_eq!(warden::run::client::read_mark(&run, "operator"), 2);

    // A wait cancelled stops at once, having delivered nothing: not at its next look (its poll
    // interval here is an hour; it asks whether a supervisor runs once a second).
    let cancel = std::sync::Arc::new(warden::run::follow::Cancel::new());
    let waiting = {
        let (run, cancel) = (run.clone(), cancel.clone());
        std::thread::spawn(move || {
            let (timeout, poll) = (Duration::from_secs(60), Duration::from_secs(3600));
            warden::run::client::wait_unless(&run, "operator", Some(timeout), poll, |_| {}, &cancel)
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    cancel.cancel();
    let stopped = Instant::now();
    assert!(waiting.join().unwrap().unwrap().is_none(), "it was stopped");
    assert!(
        stopped.elapsed() < Duration::from_millis(500),
        "it stopped at once"
    );
    assert_eq!(warden::run::client::read_mark(&run, "operator"), 2);

    // A run without a supervisor takes no event: refused, not queued.
    let supervisor = run.supervisor().expect("a supervisor runs");
    kill(Pid::from_raw(supervisor as i32), Signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while run.supervisor().is_some() {
        assert!(Instant::now() < deadline, "the supervisor ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = files(&run.dir);
    operator.refused(
        "warden_send",
        json!({ "run": id, "event": "note", "role": "operator", "fields": { "text": "x" } }),
        "has no supervisor running",
    );
    assert_eq!(files(&run.dir), before, "the refusal wrote nothing");
}

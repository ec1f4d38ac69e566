//! `warden mcp`: a Model Context Protocol server on standard input and output, over the runs
//! under one folder, for agents that take a protocol's roles.
//!
//! Each tool is a command on runs (`list`, `status`, `inbox`, `wait`, `send`, `log`) and calls
//! the engine function that command calls, so the same rules hold: a run is named by an id
//! under the folder and nothing else, a role and its events are checked against the run's
//! protocol, a refusal writes nothing, and no process is ever signalled. The engine is
//! synchronous; its calls run on tokio's blocking threads so that a wait never holds up the
//! server. Resources: each run's protocol as its roles see it, and each message.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    Resource, ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig,
};
use rmcp::schemars::{self, JsonSchema};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde::Deserialize;
use serde_json::{json, Value};
use warden::run::client::{self, Sent, Waited};
use warden::run::follow::Cancel;
use warden::run::mailbox::Request;
use warden::run::snapshot::Snapshot;
use warden::run::store::RunDir;
use warden::run::{describe, RunError};

use crate::IO_ERROR;

/// How long `warden_send` waits for the supervisor's answer, as `warden send` does by default.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often `warden_wait` looks at the journal where no event tells, as `warden wait` does.
const WAIT_POLL: Duration = Duration::from_millis(10);
/// How often `warden_wait` reports its progress, when asked to.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// The lines of the log `warden_log` gives unless asked for another number.
const LOG_LINES: u32 = 100;
/// The most lines `warden_log` gives.
const MAX_LOG_LINES: u32 = 10_000;
/// The longest `warden_wait` takes: a week, in seconds.
const MAX_WAIT: f64 = 7.0 * 24.0 * 3600.0;

/// What `warden mcp` was asked.
#[derive(Debug, clap::Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub runs: crate::Runs,
    /// Act for this role only: `warden_inbox`, `warden_wait` and `warden_send` as another role
    /// are refused, and only its messages are resources.
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
}

/// Serves MCP on standard input and output until the client closes it.
pub fn mcp(args: McpArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the MCP server: {error}");
            return ExitCode::from(IO_ERROR);
        }
    };
    let server = Warden::new(args.runs.dir, args.role);
    let served = runtime.block_on(async {
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| e.to_string())?;
        running.waiting().await.map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    });
    // A wait still going when the client left stops on its own (see `CancelOnDrop`).
    runtime.shutdown_timeout(Duration::from_secs(1));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: the MCP connection failed: {error}");
            ExitCode::from(IO_ERROR)
        }
    }
}

/// The server: where runs are kept, and the role it is pinned to.
#[derive(Clone)]
pub struct Warden {
    root: Arc<PathBuf>,
    role: Option<Arc<str>>,
    tool_router: ToolRouter<Warden>,
}

/// A run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RunParams {
    /// The run's id, as `warden_list` gives it.
    run: String,
}

/// A role's messages in a run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct InboxParams {
    /// The run's id, as `warden_list` gives it.
    run: String,
    /// The role whose messages these are.
    role: Option<String>,
    /// Every message for the role, read or not (default: the unread ones).
    #[serde(default)]
    all: bool,
}

/// Waiting for a role's next message.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WaitParams {
    /// The run's id, as `warden_list` gives it.
    run: String,
    /// The role to wait for a message for.
    role: Option<String>,
    /// How long to wait, in seconds, at most a week.
    #[schemars(range(min = 0.0, max = MAX_WAIT))]
    timeout: f64,
}

/// An event to send.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SendParams {
    /// The run's id, as `warden_list` gives it.
    run: String,
    /// The event, one the run's protocol declares (see the resource warden://RUN/protocol).
    event: String,
    /// The role sending it; it must be one the protocol lets send the event.
    role: Option<String>,
    /// The event's fields by name, each a value of its declared type.
    #[serde(default)]
    fields: BTreeMap<String, Value>,
}

/// The tail of a job's log.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LogParams {
    /// The run's id, as `warden_list` gives it.
    run: String,
    /// How many lines from the end (default 100, at most 10000).
    #[schemars(range(min = 1, max = MAX_LOG_LINES))]
    lines: Option<u32>,
}

/// A tool's answer: structured, or an error whose text says why.
type Answer = Result<CallToolResult, ErrorData>;

fn refused(reason: impl Into<String>) -> Answer {
    Ok(CallToolResult::error(vec![ContentBlock::text(
        reason.into(),
    )]))
}

/// A run error as the tool's error: `refused: WHY` for what the rules do not allow (nothing was
/// written), `error: WHAT` for what failed, as the command line says them.
fn failed(error: &RunError) -> Answer {
    match error {
        RunError::Refused(reason) => refused(format!("refused: {reason}")),
        other => refused(format!("error: {other}")),
    }
}

fn answer(result: Result<Value, RunError>) -> Answer {
    match result {
        Ok(value) => Ok(CallToolResult::structured(value)),
        Err(error) => failed(&error),
    }
}

/// Runs `work` on a blocking thread: the engine reads and writes files, and waits.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, RunError> + Send + 'static,
) -> Result<T, RunError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(RunError::Usage(format!("the server's worker failed: {e}"))))
}

fn to_value(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("what Warden answers serializes")
}

/// Cancels the wait when dropped: a wait whose request went away stops.
struct CancelOnDrop(Arc<Cancel>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[tool_router]
impl Warden {
    pub fn new(root: PathBuf, role: Option<String>) -> Warden {
        Warden {
            root: Arc::new(root),
            role: role.map(Arc::from),
            tool_router: Self::tool_router(),
        }
    }

    /// The role a tool acts as: the one given, which must be the pinned one if there is one.
    fn acting_as(&self, given: Option<String>) -> Result<String, String> {
        match (&self.role, given) {
            (Some(pin), Some(role)) if role != **pin => Err(format!(
                "this server acts for `{pin}` only (`warden mcp --role {pin}`); it cannot act \
                 as `{role}`"
            )),
            (Some(pin), _) => Ok(pin.to_string()),
            (None, Some(role)) => Ok(role),
            (None, None) => Err("give the `role` to act as".to_owned()),
        }
    }

    /// The run `id` under the server's folder: an id, never a path.
    fn run(&self, id: &str) -> Result<RunDir, RunError> {
        client::resolve(&self.root, Some(id))
    }

    #[tool(
        description = "The runs under the server's folder, oldest first, each with its state, \
                       whether it ended, its supervisor and its unread messages by role.",
        annotations(read_only_hint = true)
    )]
    async fn warden_list(&self) -> Answer {
        let root = self.root.clone();
        answer(
            blocking(move || {
                let mut statuses = Vec::new();
                for (run, _) in client::runs(&root)? {
                    match client::status(&run) {
                        Ok(status) => statuses.push(to_value(&status)),
                        Err(error) => {
                            statuses.push(json!({ "id": run.id, "error": error.to_string() }))
                        }
                    }
                }
                Ok(json!({ "runs": statuses }))
            })
            .await,
        )
    }

    #[tool(
        description = "A run's status, as `warden status --format json` gives it: state, job, \
                       restarts, timers, last incident, gates, artifacts, unread messages.",
        annotations(read_only_hint = true)
    )]
    async fn warden_status(&self, Parameters(params): Parameters<RunParams>) -> Answer {
        let this = self.clone();
        answer(
            blocking(move || {
                let run = this.run(&params.run)?;
                Ok(to_value(&client::status(&run)?))
            })
            .await,
        )
    }

    #[tool(
        description = "A role's messages in a run, oldest first: the unread ones, or all with \
                       `all`. Reading them here does not mark them read; `warden_wait` does.",
        annotations(read_only_hint = true)
    )]
    async fn warden_inbox(&self, Parameters(params): Parameters<InboxParams>) -> Answer {
        let role = match self.acting_as(params.role) {
            Ok(role) => role,
            Err(reason) => return refused(reason),
        };
        let this = self.clone();
        answer(
            blocking(move || {
                let run = this.run(&params.run)?;
                let messages = client::inbox(&run, &role, params.all)?;
                Ok(json!({ "messages": to_value(&messages) }))
            })
            .await,
        )
    }

    #[tool(
        description = "Waits until there is a message for the role that no wait has delivered \
                       (one already waiting is delivered at once, oldest first), returns it and \
                       marks it read; or until the run ends, or the timeout passes. \
                       `outcome` says which: `message`, `ended` or `timed_out`. Reports \
                       progress while it waits when asked for it; a cancelled wait marks \
                       nothing read."
    )]
    async fn warden_wait(
        &self,
        Parameters(params): Parameters<WaitParams>,
        context: RequestContext<RoleServer>,
    ) -> Answer {
        let role = match self.acting_as(params.role) {
            Ok(role) => role,
            Err(reason) => return refused(reason),
        };
        if !(0.0..=MAX_WAIT).contains(&params.timeout) {
            return refused(format!(
                "`timeout` is {}; give a number of seconds from 0 to {MAX_WAIT}",
                params.timeout
            ));
        }
        let timeout = Duration::from_secs_f64(params.timeout);
        let run = match self.run(&params.run) {
            Ok(run) => run,
            Err(error) => return failed(&error),
        };
        let cancelled = Arc::new(Cancel::new());
        let unsupervised = Arc::new(AtomicBool::new(false));
        let waiting = {
            let (run, role) = (run.clone(), role.clone());
            let (cancelled, unsupervised) = (cancelled.clone(), unsupervised.clone());
            tokio::task::spawn_blocking(move || {
                let warned = |_: &str| unsupervised.store(true, Ordering::SeqCst);
                client::wait_unless(&run, &role, Some(timeout), WAIT_POLL, warned, &cancelled)
            })
        };
        let _cancel = CancelOnDrop(cancelled.clone());
        tokio::pin!(waiting);
        let progress = context.meta.get_progress_token();
        let mut ticks = tokio::time::interval(PROGRESS_EVERY);
        let started = Instant::now();
        let waited = loop {
            tokio::select! {
                biased;
                () = context.ct.cancelled() => {
                    cancelled.cancel();
                    // The wait stops at once; had it just delivered a message, the message
                    // is made unread again: the client will not see this answer.
                    if let Ok(Ok(Some(Waited::Message(message)))) = (&mut waiting).await {
                        let _ = blocking(move || client::give_back(&run, &role, &message)).await;
                    }
                    return refused("the wait was cancelled; nothing was marked read");
                }
                waited = &mut waiting => break waited,
                _ = ticks.tick(), if progress.is_some() => {
                    let Some(token) = progress.clone() else { continue };
                    let elapsed = started.elapsed().as_secs_f64();
                    let mut message = format!("waiting for a message for {role} in {}", run.id);
                    if unsupervised.load(Ordering::SeqCst) {
                        message.push_str(&format!(
                            "; the run has no supervisor running (`warden run --resume {}`)",
                            run.id
                        ));
                    }
                    let param = ProgressNotificationParam::new(token, elapsed.min(params.timeout))
                        .with_total(params.timeout)
                        .with_message(message);
                    let _ = context.peer.notify_progress(param).await;
                }
            }
        };
        let waited = waited
            .unwrap_or_else(|e| Err(RunError::Usage(format!("the server's worker failed: {e}"))));
        answer(waited.map(|waited| match waited {
            Some(Waited::Message(message)) => json!({
                "outcome": "message",
                "message": to_value(&message),
            }),
            Some(Waited::Ended(state)) => json!({ "outcome": "ended", "state": state }),
            Some(Waited::TimedOut) | None => json!({ "outcome": "timed_out" }),
        }))
    }

    #[tool(
        description = "Sends an event to a run as a role, as `warden send RUN EVENT --as ROLE` \
                       does. It is checked against the run's protocol and state first: an \
                       unknown event or field, a role that may not send it, a missing or \
                       mistyped field, an ended run or a state that does not take it is \
                       refused, as an error saying why, and nothing is written. Otherwise the \
                       supervisor takes it and says what it did (`outcome: taken`), or will \
                       take it in order (`outcome: queued`)."
    )]
    async fn warden_send(&self, Parameters(params): Parameters<SendParams>) -> Answer {
        let role = match self.acting_as(params.role) {
            Ok(role) => role,
            Err(reason) => return refused(reason),
        };
        let this = self.clone();
        let event = params.event.clone();
        let sent = blocking(move || {
            let run = this.run(&params.run)?;
            let request = Request {
                event: params.event,
                sender: role,
                fields: params.fields,
            };
            client::send(&run, &request, SEND_TIMEOUT)
        })
        .await;
        match sent {
            Ok(Sent::Answered(reply)) => {
                if let Some(unmet) = client::unmet(&reply, &event) {
                    return refused(unmet);
                }
                let mut value = to_value(&reply);
                value["outcome"] = json!("taken");
                Ok(CallToolResult::structured(value))
            }
            Ok(Sent::Queued(request)) => Ok(CallToolResult::structured(json!({
                "outcome": "queued",
                "request": request,
            }))),
            Err(error) => failed(&error),
        }
    }

    #[tool(
        description = "The last lines of a run's job log (100 unless `lines` says otherwise).",
        annotations(read_only_hint = true)
    )]
    async fn warden_log(&self, Parameters(params): Parameters<LogParams>) -> Answer {
        let lines = params.lines.unwrap_or(LOG_LINES);
        if !(1..=MAX_LOG_LINES).contains(&lines) {
            return refused(format!(
                "`lines` is {lines}; give a number from 1 to {MAX_LOG_LINES}"
            ));
        }
        let this = self.clone();
        let tail = blocking(move || {
            let run = this.run(&params.run)?;
            client::log_tail(&run, lines as usize)
        })
        .await;
        match tail {
            Ok(text) => Ok(CallToolResult::success(vec![ContentBlock::text(text)])),
            Err(error) => failed(&error),
        }
    }
}

/// The tools' input schemas as clients see them: the role given where the server is pinned to
/// one, required where it is not; and, in `warden_send`'s `event`, `role` and `fields`, the
/// events of the protocols of the runs there are. Nothing is added at a schema's top: some
/// model providers refuse a tool whose schema has alternatives there.
fn adjust_schema(tool: &mut rmcp::model::Tool, pin: Option<&str>, send: &describe::SendSchema) {
    let mut schema = (*tool.input_schema).clone();
    let sending = tool.name == "warden_send";
    let described = schema
        .get("properties")
        .and_then(|p| p.get("role"))
        .map(|role| role["description"].as_str().unwrap_or_default().to_owned());
    if let Some(description) = described {
        let role = match pin {
            Some(pin) => json!({
                "type": "string",
                "description": format!("{description} This server acts for `{pin}` only."),
                "enum": [pin],
                "default": pin,
            }),
            None if sending && !send.roles.is_empty() => json!({
                "type": "string",
                "description": format!("{description} One of the run's protocol's roles."),
                "enum": send.roles,
            }),
            None => json!({
                "type": "string",
                "description": format!("{description} One of the run's protocol's roles."),
            }),
        };
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            properties.insert("role".into(), role);
        }
        if pin.is_none() {
            if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
                required.push(json!("role"));
            }
        }
    }
    if sending && !send.events.is_empty() {
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            if let Some(event) = properties.get_mut("event").and_then(Value::as_object_mut) {
                event.insert("oneOf".into(), Value::Array(send.events.clone()));
            }
            if let Some(fields) = properties.get_mut("fields").and_then(Value::as_object_mut) {
                fields.insert("anyOf".into(), Value::Array(send.fields.clone()));
            }
        }
    }
    tool.input_schema = Arc::new(schema);
}

/// Why a URI names no resource of this server.
fn not_found(uri: &str, why: impl std::fmt::Display) -> ErrorData {
    ErrorData::resource_not_found(format!("{uri}: {why}"), Some(json!({ "uri": uri })))
}

/// What a resource URI names: `warden://RUN/protocol` or `warden://RUN/messages/NNNN`.
enum Named {
    Protocol(String),
    Message(String, u64),
}

fn parse_uri(uri: &str) -> Result<Named, String> {
    let Some(rest) = uri.strip_prefix("warden://") else {
        return Err("not a warden:// URI".to_owned());
    };
    match rest.split('/').collect::<Vec<_>>().as_slice() {
        [run, "protocol"] => Ok(Named::Protocol((*run).to_owned())),
        [run, "messages", seq] if !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()) => seq
            .parse()
            .map(|seq| Named::Message((*run).to_owned(), seq))
            .map_err(|_| format!("`{seq}` is not a message number")),
        _ => Err("write warden://RUN/protocol or warden://RUN/messages/NUMBER".to_owned()),
    }
}

impl ServerHandler for Warden {
    fn get_info(&self) -> ServerConfig {
        let mut instructions = String::from(
            "Warden supervises long jobs under protocols: state machines whose roles receive \
             messages and send events. Find a run with warden_list; read what your role may \
             send in the resource warden://RUN/protocol; take your messages with warden_wait \
             (it blocks until one comes) and answer with warden_send.",
        );
        if let Some(role) = &self.role {
            instructions.push_str(&format!(" This server acts for the role `{role}` only."));
        }
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("warden", env!("CARGO_PKG_VERSION")))
        .with_instructions(instructions)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let call = ToolCallContext::new(self, request, context);
        self.tool_router.call(call).await
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let root = self.root.clone();
        let pin = self.role.clone();
        // The protocols of the runs there are, each once.
        let protocols = blocking(move || {
            let mut sources = Vec::new();
            let mut protocols = Vec::new();
            for (run, _) in client::runs(&root)? {
                let Ok(snapshot) = Snapshot::read(&run) else {
                    continue;
                };
                let Ok(protocol) = snapshot.protocol() else {
                    continue;
                };
                if !sources.contains(&protocol.source) {
                    sources.push(protocol.source.clone());
                    protocols.push(protocol);
                }
            }
            let all: Vec<_> = protocols.iter().collect();
            Ok(describe::send_schema(&all, pin.as_deref()))
        })
        .await
        .unwrap_or_default();
        let mut tools = self.tool_router.list_all();
        for tool in &mut tools {
            adjust_schema(tool, self.role.as_deref(), &protocols);
        }
        // The events depend on the runs there are: not to be kept.
        Ok(ListToolsResult::with_all_items(tools).with_ttl_ms(0))
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        self.tool_router.get(name).cloned()
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let root = self.root.clone();
        let pin = self.role.clone();
        let listed = blocking(move || {
            let mut resources = Vec::new();
            for (run, _) in client::runs(&root)? {
                resources.push(
                    Resource::new(
                        format!("warden://{}/protocol", run.id),
                        format!("{} protocol", run.id),
                    )
                    .with_description(
                        "The run's roles, the events each may send with their fields and \
                         types, its states and channels, and its state now.",
                    )
                    .with_mime_type("application/json"),
                );
                // A run whose protocol has not the pinned role has no messages for it.
                let Ok(messages) = client::message_list(&run, pin.as_deref()) else {
                    continue;
                };
                for m in messages {
                    resources.push(
                        Resource::new(
                            format!("warden://{}/messages/{:04}", run.id, m.seq),
                            format!("{} message {}", run.id, m.seq),
                        )
                        .with_description(format!(
                            "From {} to {}, at {}{}",
                            m.from,
                            m.to.join(", "),
                            m.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            m.template
                                .as_ref()
                                .map_or_else(String::new, |t| format!(", template {t}"))
                        ))
                        .with_mime_type("text/markdown"),
                    );
                }
            }
            Ok(resources)
        })
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok(ListResourcesResult::with_all_items(listed).with_ttl_ms(0))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new("warden://{run}/protocol", "protocol")
                .with_description("What a run's roles may send, and to whom they write.")
                .with_mime_type("application/json"),
            ResourceTemplate::new("warden://{run}/messages/{number}", "message")
                .with_description("A message of a run, by its number.")
                .with_mime_type("text/markdown"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        let named = parse_uri(&uri).map_err(|why| not_found(&uri, why))?;
        let this = self.clone();
        let read = blocking(move || match named {
            Named::Protocol(id) => {
                let described = describe::describe(&this.run(&id)?)?;
                let text =
                    serde_json::to_string_pretty(&described).expect("a description serializes");
                Ok((text, "application/json"))
            }
            Named::Message(id, seq) => {
                let run = this.run(&id)?;
                let message = client::message(&run, seq, this.role.as_deref())?;
                Ok((message.text, "text/markdown"))
            }
        })
        .await;
        match read {
            Ok((text, mime)) => {
                Ok(ReadResourceResult::new(vec![
                    ResourceContents::text(text, uri).with_mime_type(mime)
                ])
                .into())
            }
            Err(error) => Err(not_found(&uri, error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_uris_name_a_protocol_or_a_message_and_nothing_else() {
        assert!(matches!(
            parse_uri("warden://r1/protocol"),
            Ok(Named::Protocol(run)) if run == "r1"
        ));
        assert!(matches!(
            parse_uri("warden://r1/messages/0007"),
            Ok(Named::Message(run, 7)) if run == "r1"
        ));
        for bad in [
            "file:///etc/passwd",
            "warden://r1",
            "warden://r1/messages/",
            "warden://r1/messages/-1",
            "warden://r1/messages/1/2",
            "warden://../x/protocol/y",
            "warden://r1/messages/99999999999999999999999",
        ] {
            assert!(parse_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_pinned_server_acts_for_its_role_only() {
        let pinned = Warden::new(PathBuf::from("runs"), Some("director".into()));
        assert_eq!(pinned.acting_as(None).unwrap(), "director");
        assert_eq!(
            pinned.acting_as(Some("director".into())).unwrap(),
            "director"
        );
        let error = pinned.acting_as(Some("modeler".into())).unwrap_err();
        assert!(error.contains("acts for `director` only"), "{error}");
        let free = Warden::new(PathBuf::from("runs"), None);
        assert_eq!(free.acting_as(Some("modeler".into())).unwrap(), "modeler");
        assert!(free.acting_as(None).is_err());
    }

    #[test]
    fn schemas_require_the_role_unless_pinned_and_carry_the_events() {
        let tools = Warden::tool_router().list_all();
        let send = tools.iter().find(|t| t.name == "warden_send").unwrap();
        let base = Value::Object((*send.input_schema).clone());
        assert_eq!(base["required"], json!(["run", "event"]), "{base}");
        assert_eq!(base["properties"]["fields"]["type"], "object", "{base}");

        let known = describe::SendSchema {
            events: vec![json!({ "const": "note", "description": "Sent by a; no fields." })],
            roles: vec!["a".into()],
            fields: vec![json!({ "title": "note", "type": "object" })],
        };
        let mut free = send.clone();
        adjust_schema(&mut free, None, &known);
        let free = Value::Object((*free.input_schema).clone());
        assert_eq!(free["required"], json!(["run", "event", "role"]));
        assert_eq!(free["properties"]["event"]["oneOf"], json!(known.events));
        assert_eq!(free["properties"]["role"]["enum"], json!(["a"]));
        assert_eq!(free["properties"]["fields"]["anyOf"], json!(known.fields));
        for top in ["anyOf", "oneOf", "allOf", "if"] {
            assert!(free.get(top).is_none(), "{free}");
        }

        let mut pinned = send.clone();
        adjust_schema(
            &mut pinned,
            Some("director"),
            &describe::SendSchema::default(),
        );
        let pinned = Value::Object((*pinned.input_schema).clone());
        assert_eq!(pinned["required"], json!(["run", "event"]));
        assert_eq!(pinned["properties"]["role"]["enum"], json!(["director"]));
        assert!(pinned["properties"]["event"].get("oneOf").is_none());

        let wait = tools.iter().find(|t| t.name == "warden_wait").unwrap();
        let wait = Value::Object((*wait.input_schema).clone());
        assert_eq!(wait["required"], json!(["run", "timeout"]), "{wait}");
        assert_eq!(wait["properties"]["timeout"]["type"], "number");
        assert_eq!(wait["additionalProperties"], false);
    }
}

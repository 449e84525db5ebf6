//! A TCP proxy that cuts database connections on demand, for fault tests.
//!
//! [`FaultProxy`] listens on `127.0.0.1:<ephemeral port>` and relays every connection to a
//! PostgreSQL or MySQL/MariaDB server, byte for byte, on two plain threads per connection. A
//! test hands retort [`FaultProxy::url`] instead of the server's URL and then injects a fault:
//!
//! | call | what happens |
//! |---|---|
//! | [`cut_all`](FaultProxy::cut_all) | every open connection is closed at once, both sides (a server restart, a network cut) |
//! | [`cut_before_next_query`](FaultProxy::cut_before_next_query) | the next statement any client sends is not forwarded; its connection is closed |
//! | [`cut_after_commit`](FaultProxy::cut_after_commit) | the next COMMIT is forwarded; once the server's whole reply has reached the proxy (so the commit surely happened) that reply is dropped and the connection closed |
//! | [`cut_mid_result`](FaultProxy::cut_mid_result) | after the next statement that runs (not one that only prepares), `n` bytes of the server's answer reach the client, then the connection is closed |
//!
//! The three armed faults fire once, on whichever connection gets there first; arm them when
//! the connections the test wants to keep are already open. [`fired`](FaultProxy::fired)
//! counts the faults that went off.
//!
//! The proxy reads the client's messages just enough to find statements: PostgreSQL's simple
//! (`Query`) and extended (`Parse`, `Bind`, `Execute`) protocol, MySQL's `COM_QUERY`,
//! `COM_STMT_PREPARE` and `COM_STMT_EXECUTE`. A COMMIT is a statement holding the word
//! `COMMIT` in any case (a PostgreSQL `Bind` of a statement parsed from such text counts too).
//! It understands no TLS: retort's drivers connect without it.
//!
//! ```no_run
//! use retort_core::Engine;
//! use retort_testkit::proxy::FaultProxy;
//!
//! let Some(db) = retort_testkit::postgresql() else { return };
//! let proxy = FaultProxy::for_url(db.url()).unwrap();
//! let engine = Engine::builder(proxy.url()).pool_size(1).build().unwrap();
//! let mut conn = engine.connect().unwrap();
//! conn.exec_driver_sql("SELECT 1", &[]).unwrap();
//! proxy.cut_all();
//! assert!(conn.exec_driver_sql("SELECT 1", &[]).unwrap_err().is_disconnect());
//! ```

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use retort_core::Url;

/// The wire protocol the proxy reads, to find statements in the client's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// PostgreSQL's frontend/backend protocol, version 3.
    Postgres,
    /// The MySQL / MariaDB client/server protocol.
    MySql,
}

impl Wire {
    /// The protocol a URL's scheme speaks; `None` for SQLite and unknown schemes.
    pub fn for_url(url: &Url) -> Option<Wire> {
        match url.drivername() {
            "postgresql" | "postgres" => Some(Wire::Postgres),
            "mysql" | "mariadb" => Some(Wire::MySql),
            _ => None,
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Wire::Postgres => 5432,
            Wire::MySql => 3306,
        }
    }
}

/// A fault waiting for the moment it fires.
#[derive(Debug, Clone, Copy)]
enum Fault {
    BeforeQuery,
    AfterCommit,
    MidResult(usize),
}

/// A relaying TCP proxy in front of one database server; see the [module docs](self).
///
/// Dropping it stops accepting and closes every connection it relays.
pub struct FaultProxy {
    addr: SocketAddr,
    url: Option<Url>,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    upstream: String,
    wire: Wire,
    stop: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    links: Vec<Arc<Link>>,
    armed: Option<Fault>,
    fired: usize,
    accepted: usize,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn forget(&self, link: &Arc<Link>) {
        self.state().links.retain(|l| !Arc::ptr_eq(l, link));
    }
}

/// What the server-to-client pump does with what the server sends next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    Forward,
    /// Hold the reply to a COMMIT until it is whole, then drop it and close.
    SwallowCommitAnswer,
    /// Forward this many more bytes, then close.
    CutAfter(usize),
}

/// One relayed connection.
struct Link {
    client: TcpStream,
    server: TcpStream,
    reply: Mutex<Reply>,
}

impl Link {
    /// Closes both sides; the pumps see it and end.
    fn cut(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.server.shutdown(Shutdown::Both);
    }

    fn reply(&self) -> MutexGuard<'_, Reply> {
        self.reply.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl FaultProxy {
    /// Starts a proxy on an ephemeral port of 127.0.0.1 that relays to `upstream`
    /// (`host:port`), reading `wire`.
    pub fn start(upstream: &str, wire: Wire) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            wire,
            stop: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        });
        let accept = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("fault-proxy-accept".into())
                .spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(FaultProxy {
            addr,
            url: None,
            shared,
            accept: Some(accept),
        })
    }

    /// Starts a proxy in front of the server `url` names; [`url`](Self::url) is then `url`
    /// pointed at the proxy. Fails with `InvalidInput` for URLs without a server (SQLite).
    pub fn for_url(url: &Url) -> io::Result<FaultProxy> {
        let wire = Wire::for_url(url).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no server to proxy for '{}' URLs", url.drivername()),
            )
        })?;
        let host = url.host().unwrap_or("localhost");
        let port = url.port().unwrap_or(wire.default_port());
        let upstream = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut proxy = FaultProxy::start(&upstream, wire)?;
        proxy.url = Some(
            url.clone()
                .with_host(Some("127.0.0.1"))
                .with_port(Some(proxy.addr.port())),
        );
        Ok(proxy)
    }

    /// The address the proxy listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL given to [`for_url`](Self::for_url), pointed at the proxy.
    ///
    /// # Panics
    ///
    /// When the proxy was made with [`start`](Self::start), which has no URL.
    pub fn url(&self) -> Url {
        self.url
            .clone()
            .expect("FaultProxy::url needs a proxy made by FaultProxy::for_url")
    }

    /// Closes every open connection now, on both sides, and returns how many there were.
    /// New connections are relayed as before, as after a server restart.
    pub fn cut_all(&self) -> usize {
        let links = std::mem::take(&mut self.shared.state().links);
        for link in &links {
            link.cut();
        }
        links.len()
    }

    /// Closes the connection that sends the next statement, without forwarding it.
    pub fn cut_before_next_query(&self) {
        self.arm(Fault::BeforeQuery);
    }

    /// Lets the next COMMIT reach the server, waits for the server's whole reply (so the
    /// commit has happened), drops that reply and closes the connection.
    pub fn cut_after_commit(&self) {
        self.arm(Fault::AfterCommit);
    }

    /// Lets `bytes` bytes of what the server sends after the next executed statement reach
    /// the client, then closes the connection: with a large result, a cut in the middle of
    /// its rows.
    pub fn cut_mid_result(&self, bytes: usize) {
        self.arm(Fault::MidResult(bytes));
    }

    /// Arms a fault, replacing one not fired yet.
    fn arm(&self, fault: Fault) {
        self.shared.state().armed = Some(fault);
    }

    /// Whether an armed fault has not fired yet.
    pub fn armed(&self) -> bool {
        self.shared.state().armed.is_some()
    }

    /// How many armed faults have fired.
    pub fn fired(&self) -> usize {
        self.shared.state().fired
    }

    /// How many client connections the proxy has accepted in all.
    pub fn accepted(&self) -> usize {
        self.shared.state().accepted
    }

    /// How many connections are open through the proxy now.
    pub fn open_connections(&self) -> usize {
        self.shared.state().links.len()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the stop flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        self.cut_all();
    }
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .field("wire", &self.shared.wire)
            .finish_non_exhaustive()
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        // A server that cannot be reached: the client sees its connection closed.
        let Ok(server) = TcpStream::connect(&shared.upstream) else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let link = Arc::new(Link {
            client,
            server,
            reply: Mutex::new(Reply::Forward),
        });
        {
            let mut state = shared.state();
            state.accepted += 1;
            state.links.push(link.clone());
        }
        for upstream in [true, false] {
            let (pump_link, pump_shared) = (link.clone(), shared.clone());
            let spawned = thread::Builder::new()
                .name("fault-proxy-pump".into())
                .spawn(move || {
                    if upstream {
                        client_to_server(&pump_link, &pump_shared);
                    } else {
                        server_to_client(&pump_link, &pump_shared);
                    }
                    pump_link.cut();
                    pump_shared.forget(&pump_link);
                });
            if spawned.is_err() {
                link.cut();
                shared.forget(&link);
            }
        }
    }
}

/// What a client message is, as far as faults care.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Message {
    /// The first message of a statement (cut before it).
    starts_statement: bool,
    /// A message that makes the server run a statement (its answer may hold rows).
    executes: bool,
    /// A message that runs a COMMIT.
    commits: bool,
}

/// Splits the client's byte stream into messages and classifies them.
struct ClientReader {
    wire: Wire,
    buf: Vec<u8>,
    /// PostgreSQL: the startup message (untyped) has not been seen yet.
    startup: bool,
    /// PostgreSQL: prepared statements whose text is a COMMIT, by name.
    commit_statements: HashSet<Vec<u8>>,
}

impl ClientReader {
    fn new(wire: Wire) -> ClientReader {
        ClientReader {
            wire,
            buf: Vec::new(),
            startup: true,
            commit_statements: HashSet::new(),
        }
    }

    /// The length of the first whole message in the buffer, if there is one.
    fn whole_message(&self) -> Option<usize> {
        let b = &self.buf;
        let len = match self.wire {
            Wire::Postgres if self.startup => {
                be_u32(b.get(..4)?)? as usize // the length counts itself
            }
            Wire::Postgres => 1 + be_u32(b.get(1..5)?)? as usize,
            Wire::MySql => 4 + mysql_payload_len(b)?,
        };
        (b.len() >= len && len > 0).then_some(len)
    }

    /// Takes the next whole message off the buffer, with its classification.
    fn next_message(&mut self) -> Option<(Vec<u8>, Message)> {
        let len = self.whole_message()?;
        let bytes: Vec<u8> = self.buf.drain(..len).collect();
        let message = match self.wire {
            Wire::Postgres => self.classify_postgres(&bytes),
            Wire::MySql => classify_mysql(&bytes),
        };
        Some((bytes, message))
    }

    fn classify_postgres(&mut self, bytes: &[u8]) -> Message {
        if self.startup {
            // SSL and GSS encryption requests come before the startup message, which is the
            // first one with protocol version 3.
            if bytes.get(4..8).and_then(be_u32) == Some(196_608) {
                self.startup = false;
            }
            return Message::default();
        }
        let body = &bytes[5..];
        match bytes[0] {
            b'Q' => Message {
                starts_statement: true,
                executes: true,
                commits: has_commit(cstr(body, 0)),
            },
            b'P' => {
                let name = cstr(body, 0);
                let text = cstr(body, name.len() + 1);
                if has_commit(text) {
                    self.commit_statements.insert(name.to_vec());
                } else {
                    self.commit_statements.remove(name);
                }
                Message {
                    starts_statement: true,
                    ..Message::default()
                }
            }
            b'B' => {
                let portal = cstr(body, 0);
                let statement = cstr(body, portal.len() + 1);
                Message {
                    starts_statement: true,
                    commits: self.commit_statements.contains(statement),
                    ..Message::default()
                }
            }
            b'E' => Message {
                executes: true,
                ..Message::default()
            },
            _ => Message::default(),
        }
    }
}

fn classify_mysql(bytes: &[u8]) -> Message {
    // Commands open a new exchange, with sequence id 0; handshake packets never have it.
    if bytes[3] != 0 || bytes.len() < 5 {
        return Message::default();
    }
    match bytes[4] {
        // COM_QUERY
        0x03 => Message {
            starts_statement: true,
            executes: true,
            commits: has_commit(&bytes[5..]),
        },
        // COM_STMT_PREPARE
        0x16 => Message {
            starts_statement: true,
            ..Message::default()
        },
        // COM_STMT_EXECUTE
        0x17 => Message {
            starts_statement: true,
            executes: true,
            commits: false,
        },
        _ => Message::default(),
    }
}

fn be_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

/// The payload length in a MySQL packet header.
fn mysql_payload_len(b: &[u8]) -> Option<usize> {
    let h = b.get(..3)?;
    Some(usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16)
}

/// The NUL-terminated string at `at` (to the end if there is no NUL).
fn cstr(b: &[u8], at: usize) -> &[u8] {
    let rest = b.get(at..).unwrap_or_default();
    let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
    &rest[..end]
}

/// Whether SQL text holds the word COMMIT, in any case, not as part of a longer name
/// (`autocommit`, `COMMITTED`).
fn has_commit(sql: &[u8]) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    sql.windows(6).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(b"COMMIT")
            && (i == 0 || !word(sql[i - 1]))
            && !matches!(sql.get(i + 6), Some(&c) if word(c))
    })
}

/// Whether `reply` holds the server's whole answer to a COMMIT.
fn whole_commit_reply(wire: Wire, reply: &[u8]) -> bool {
    match wire {
        // Everything up to ReadyForQuery.
        Wire::Postgres => {
            let mut at = 0;
            while let Some(len) = reply.get(at + 1..at + 5).and_then(be_u32) {
                let end = at + 1 + len as usize;
                if end > reply.len() {
                    return false;
                }
                if reply[at] == b'Z' {
                    return true;
                }
                at = end;
            }
            false
        }
        // One OK (or error) packet.
        Wire::MySql => mysql_payload_len(reply).is_some_and(|len| reply.len() >= 4 + len),
    }
}

fn client_to_server(link: &Link, shared: &Shared) {
    let mut reader = ClientReader::new(shared.wire);
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match (&link.client).read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        reader.buf.extend_from_slice(&buf[..n]);
        while let Some((bytes, message)) = reader.next_message() {
            if !decide(link, shared, message) {
                return;
            }
            if (&link.server).write_all(&bytes).is_err() {
                return;
            }
        }
    }
}

/// Fires an armed fault that `message` triggers; false when the message must not be
/// forwarded (the connection is cut).
fn decide(link: &Link, shared: &Shared, message: Message) -> bool {
    let mut state = shared.state();
    let plan = match state.armed {
        Some(Fault::BeforeQuery) if message.starts_statement => None,
        Some(Fault::AfterCommit) if message.commits => Some(Reply::SwallowCommitAnswer),
        Some(Fault::MidResult(n)) if message.executes => Some(Reply::CutAfter(n)),
        _ => return true,
    };
    state.armed = None;
    state.fired += 1;
    drop(state);
    match plan {
        // Set before the message goes out, so that the server's answer meets it.
        Some(plan) => {
            *link.reply() = plan;
            true
        }
        None => false,
    }
}

fn server_to_client(link: &Link, shared: &Shared) {
    let mut buf = [0u8; 16 * 1024];
    let mut held = Vec::new();
    loop {
        let n = match (&link.server).read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let data = &buf[..n];
        let mut reply = link.reply();
        match *reply {
            Reply::Forward => {
                drop(reply);
                if (&link.client).write_all(data).is_err() {
                    return;
                }
            }
            Reply::SwallowCommitAnswer => {
                held.extend_from_slice(data);
                if whole_commit_reply(shared.wire, &held) {
                    return;
                }
            }
            Reply::CutAfter(left) => {
                let k = left.min(n);
                *reply = Reply::CutAfter(left - k);
                drop(reply);
                let _ = (&link.client).write_all(&data[..k]);
                if k == left {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_is_found_as_a_word() {
        assert!(has_commit(b"COMMIT"));
        assert!(has_commit(b"  commit;"));
        assert!(has_commit(b"INSERT INTO t VALUES (1); Commit"));
        assert!(!has_commit(b"SET autocommit = 1"));
        assert!(!has_commit(
            b"SET TRANSACTION ISOLATION LEVEL READ COMMITTED"
        ));
        assert!(!has_commit(b"SELECT 1"));
    }

    #[test]
    fn postgres_messages_are_split_and_classified() {
        let mut r = ClientReader::new(Wire::Postgres);
        let mut startup = vec![0, 0, 0, 0, 0, 3, 0, 0];
        startup.extend_from_slice(b"user\0postgres\0\0");
        let len = startup.len() as u32;
        startup[..4].copy_from_slice(&len.to_be_bytes());
        r.buf.extend_from_slice(&startup);
        let query = |t: u8, body: &[u8]| {
            let mut m = vec![t];
            m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
            m.extend_from_slice(body);
            m
        };
        r.buf.extend(query(b'Q', b"commit\0"));
        r.buf.extend(query(b'P', b"s1\0COMMIT\0\0\0"));
        r.buf.extend(query(b'B', b"\0s1\0\0\0\0\0\0\0"));
        // Half a message waits for the rest.
        let tail = query(b'E', b"\0\0\0\0\0");
        r.buf.extend_from_slice(&tail[..3]);

        assert_eq!(r.next_message().map(|m| m.1), Some(Message::default()));
        let q = r.next_message().unwrap().1;
        assert!(q.starts_statement && q.executes && q.commits);
        let p = r.next_message().unwrap().1;
        assert!(p.starts_statement && !p.commits);
        let b = r.next_message().unwrap().1;
        assert!(b.starts_statement && b.commits);
        assert!(r.next_message().is_none());
        r.buf.extend_from_slice(&tail[3..]);
        let e = r.next_message().unwrap().1;
        assert!(e.executes && !e.starts_statement);
    }

    #[test]
    fn mysql_commands_are_found_by_sequence_id() {
        let mut r = ClientReader::new(Wire::MySql);
        let packet = |seq: u8, body: &[u8]| {
            let mut m = (body.len() as u32).to_le_bytes()[..3].to_vec();
            m.push(seq);
            m.extend_from_slice(body);
            m
        };
        // A handshake response that happens to start with 0x03.
        r.buf.extend(packet(1, b"\x03COMMIT"));
        r.buf.extend(packet(0, b"\x03COMMIT"));
        r.buf.extend(packet(0, b"\x0e"));
        assert_eq!(r.next_message().unwrap().1, Message::default());
        let q = r.next_message().unwrap().1;
        assert!(q.starts_statement && q.executes && q.commits);
        assert_eq!(r.next_message().unwrap().1, Message::default());
        assert!(whole_commit_reply(
            Wire::MySql,
            &packet(1, b"\0\0\0\x02\0\0\0")
        ));
        assert!(!whole_commit_reply(Wire::MySql, &packet(1, b"\0\0\0")[..5]));
    }
}

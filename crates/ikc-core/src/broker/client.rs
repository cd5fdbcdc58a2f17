//! The client side of the broker protocol: connect (and read the hello), send
//! a request with the namespace fd if there is one, and take the response fd
//! from the reply. Identity is never sent: the kernel attaches it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};

use super::protocol::{NsKind, Reply, RequestHeader, MAX_REQUEST_MESSAGE, MAX_REPLY_MESSAGE, REPLY_HEADER_LEN};
use super::transport;
use crate::ns::NsSelector;
use crate::response::ResponseFd;
use crate::error::{Error, Result};

/// A connection to a broker. Requests from several threads are sent one at a
/// time, so each reply reaches the thread that asked.
#[derive(Debug)]
pub struct Client {
    sock: OwnedFd,
    in_flight: std::sync::Mutex<()>,
}

const MAX_REPLY: usize = REPLY_HEADER_LEN + MAX_REPLY_MESSAGE;

impl Client {
    /// Connects to the broker at `path` and checks its hello.
    pub fn connect(path: &Path) -> Result<Client> {
        let sock = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).map_err(|e| Error::os("socket", e))?;
        let addr = UnixAddr::new(path).map_err(|e| Error::os(format!("broker path {}", path.display()), e))?;
        connect(sock.as_raw_fd(), &addr).map_err(|e| Error::os(format!("connect {}", path.display()), e))?;
        receive_reply(&sock)?.0.into_hello()?;
        Ok(Client { sock, in_flight: Default::default() })
    }

    /// Wraps a connection made earlier (for example one a sandbox inherited);
    /// its hello must already have been read.
    pub fn from_connected(sock: OwnedFd) -> Client {
        Client { sock, in_flight: Default::default() }
    }

    pub fn socket(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// `issue_kernel_command` through the broker; `ns` as in-process (a sentinel
    /// or an fd of this process, which is passed along).
    pub fn issue(&self, ns: i32, command: u32, iov: &[&[u8]], flags: u32) -> Result<ResponseFd> {
        self.issue_with(NsSelector::from_raw(ns)?, command, iov, flags)
    }

    /// `issue` with the namespace argument already held: an asynchronous
    /// caller takes its reference to the fd when it is called, not later on
    /// another thread, where the number may have been closed and reused.
    pub fn issue_with(&self, ns: NsSelector, command: u32, iov: &[&[u8]], flags: u32) -> Result<ResponseFd> {
        let request = iov.concat();
        if request.len() + super::protocol::REQUEST_HEADER_LEN > MAX_REQUEST_MESSAGE {
            return Err(Error::invalid(format!("request exceeds {} bytes", crate::MAX_REQUEST_LEN)));
        }
        let (kind, fd) = match ns {
            NsSelector::CurrentPid => (NsKind::CurrentPid, None),
            NsSelector::CurrentNet => (NsKind::CurrentNet, None),
            NsSelector::Global => (NsKind::Global, None),
            NsSelector::Fd(fd) => (NsKind::PassedFd, Some(fd)),
        };
        let message = RequestHeader::message(kind, command, flags, &request);
        let _turn = self.in_flight.lock().map_err(|_| Error::invalid("broker connection poisoned by a panic"))?;
        transport::send(&self.sock, &message, fd.as_ref())?;
        let (reply, fd) = receive_reply(&self.sock)?;
        let (fd, kind) = reply.into_response(fd)?;
        // A reply must be the kind the command answers with: a broker that
        // calls a snapshot a stream (or the reverse) is broken, not believed.
        match crate::command::lookup(command) {
            Ok(spec) if spec.response == kind => Ok(ResponseFd::received(fd, kind)),
            _ => Err(Error::Broker {
                errno: nix::errno::Errno::EPROTO as i32,
                message: format!("EPROTO: the broker answered command {command:#x} with a {} fd", kind.name()),
            }),
        }
    }
}

/// A client as a garbage-collected owner holds it (the Node binding's
/// `BrokerConnection`): shared with the calls in flight, which finish on their
/// own reference, and closable at any moment, after which `fd()` is -1 and
/// every new call is `EBADF`.
#[derive(Debug, Clone)]
pub struct Connection(Option<Arc<Client>>);

impl Connection {
    pub fn connect(path: &Path) -> Result<Connection> {
        Client::connect(path).map(Connection::from)
    }

    /// Adopts a connected socket this process already holds as `fd` (for example
    /// `IKC_BROKER_FD` in a sandbox); the fd is duplicated, its hello already read.
    pub fn from_fd(fd: i32) -> Result<Connection> {
        dup_caller_fd(fd).map(|sock| Connection::from(Client::from_connected(sock)))
    }

    /// The socket's fd number, or -1 once closed.
    pub fn fd(&self) -> i32 {
        self.0.as_ref().map_or(-1, |c| c.socket().as_raw_fd())
    }

    /// `Client::issue`, or `EBADF` once closed.
    pub fn issue(&self, ns: i32, command: u32, iov: &[&[u8]], flags: u32) -> Result<ResponseFd> {
        self.0.as_ref().ok_or(Error::BadFd(-1))?.issue(ns, command, iov, flags)
    }

    /// `Client::issue_with`, or `EBADF` once closed.
    pub fn issue_with(&self, ns: NsSelector, command: u32, iov: &[&[u8]], flags: u32) -> Result<ResponseFd> {
        self.0.as_ref().ok_or(Error::BadFd(-1))?.issue_with(ns, command, iov, flags)
    }

    /// Drops this reference; the socket closes when the last call in flight ends.
    pub fn close(&mut self) {
        self.0 = None;
    }
}

impl From<Client> for Connection {
    fn from(client: Client) -> Self {
        Connection(Some(Arc::new(client)))
    }
}

/// Our own reference to a caller's fd: EBADF for a closed one, before anything is sent.
fn dup_caller_fd(raw: i32) -> Result<OwnedFd> {
    match crate::ns::NsSelector::from_raw(raw)? {
        crate::ns::NsSelector::Fd(fd) => Ok(fd),
        _ => Err(Error::BadFd(raw)),
    }
}

fn receive_reply(sock: &OwnedFd) -> Result<(Reply, Option<OwnedFd>)> {
    let mut msg = transport::receive(sock, MAX_REPLY)?
        .ok_or_else(|| Error::Broker { errno: nix::errno::Errno::ECONNRESET as i32, message: "ECONNRESET: the broker closed the connection".into() })?;
    let reply = Reply::parse(&msg.bytes).map_err(|e| Error::Broker { errno: nix::errno::Errno::EPROTO as i32, message: format!("EPROTO: {e}") })?;
    if msg.fds.len() > 1 {
        return Err(Error::Broker { errno: nix::errno::Errno::EPROTO as i32, message: "EPROTO: reply carried several fds".into() });
    }
    Ok((reply, msg.fds.pop()))
}

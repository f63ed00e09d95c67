//! The command line's side of the control socket: find a running node, hand it the request, send
//! the files the request carries, and receive progress, the output file and the reply.

use super::protocol::{
    self, ClientMessage, DATA, END, Frame, MAX_CHUNK, PROTOCOL, ServerMessage, SignIn,
};
use crate::app::{Progress, Reply, Request};
use crate::error::{Error, RefusalKind, Result};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A connection to a running node.
pub struct Client {
    stream: UnixStream,
}

/// Where a request's files come from and its output goes, on the client's side.
pub trait Files {
    /// Open the `index`-th file the request declared.
    fn open(&mut self, index: usize) -> Result<Box<dyn Read + Send>>;
    /// Where the output stream goes.
    fn sink(&mut self) -> Result<&mut dyn Write>;
    /// The output stream is complete.
    fn finish(&mut self) -> Result<()>;
    /// Progress, for the person waiting.
    fn progress(&mut self, p: &Progress);
}

impl Client {
    /// Connect to the node running in `data`, if one is: `None` when nothing listens there.
    pub fn connect(data: &Path) -> Result<Option<Client>> {
        let path = data.join(super::SOCKET);
        let stream = match UnixStream::connect(&path) {
            Ok(s) => s,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Ok(None);
            }
            Err(e) => {
                return Err(Error::storage(
                    &format!("cannot reach the running node at {}", path.display()),
                    e,
                ));
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(600)))
            .map_err(|e| Error::storage("setting up the control socket", e))?;
        let mut c = Client { stream };
        c.write_frame(&protocol::encode_message(&ClientMessage::Hello {
            protocol: PROTOCOL,
            version: env!("CARGO_PKG_VERSION").into(),
        }))?;
        match c.read_message()? {
            ServerMessage::Welcome { .. } => Ok(Some(c)),
            ServerMessage::Refused { message } => Err(Error::Usage(message)),
            _ => Err(Error::storage_msg(
                "the running node answered the greeting with something else",
            )),
        }
    }

    fn write_frame(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream
            .write_all(bytes)
            .map_err(|e| Error::storage("talking to the running node", e))
    }

    fn read_message(&mut self) -> Result<ServerMessage> {
        match protocol::read_frame(&mut self.stream) {
            Ok(Frame::Message(m)) => protocol::decode_message(&m).map_err(|e| {
                Error::storage_msg(format!("the running node said something unreadable: {e}"))
            }),
            Ok(_) => Err(Error::storage_msg("the running node sent data out of turn")),
            Err(e) => Err(Error::storage("the running node stopped answering", e)),
        }
    }

    /// Perform `request` at the running node, as `sign_in` (none: the operator).
    pub fn perform(
        mut self,
        sign_in: Option<SignIn>,
        request: Request,
        files: &mut dyn Files,
    ) -> Result<Reply> {
        let uploads = request.uploads().len();
        self.write_frame(&protocol::encode_message(&ClientMessage::Request {
            sign_in,
            request: Box::new(request),
        }))?;
        // The files go out on their own thread, so replies (a refusal before any byte is read)
        // are heard while they are sent.
        let mut sources = Vec::with_capacity(uploads);
        for i in 0..uploads {
            sources.push(files.open(i)?);
        }
        let mut out = self
            .stream
            .try_clone()
            .map_err(|e| Error::storage("talking to the running node", e))?;
        let sender = std::thread::spawn(move || -> std::io::Result<()> {
            let mut buf = vec![0u8; MAX_CHUNK];
            for mut source in sources {
                loop {
                    let n = source.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    out.write_all(&protocol::encode(DATA, &buf[..n]))?;
                }
                out.write_all(&protocol::encode(END, &[]))?;
            }
            Ok(())
        });
        let answer = loop {
            let frame = protocol::read_frame(&mut self.stream)
                .map_err(|e| Error::storage("the running node stopped answering", e))?;
            match frame {
                Frame::Data(d) => files
                    .sink()?
                    .write_all(&d)
                    .map_err(|e| Error::storage("writing the output", e))?,
                Frame::End => files.finish()?,
                Frame::Message(m) => match protocol::decode_message::<ServerMessage>(&m) {
                    Ok(ServerMessage::Progress(p)) => files.progress(&p),
                    Ok(ServerMessage::Done(reply)) => break Ok(reply),
                    Ok(ServerMessage::Failed { kind, message }) => {
                        break Err(error_of(&kind, message));
                    }
                    Ok(other) => {
                        break Err(Error::storage_msg(format!(
                            "the running node said something out of turn: {other:?}"
                        )));
                    }
                    Err(e) => {
                        break Err(Error::storage_msg(format!(
                            "the running node said something unreadable: {e}"
                        )));
                    }
                },
            }
        };
        // A refused request may leave the sender blocked on a full socket: close to free it.
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        let sent = sender.join();
        if answer.is_ok()
            && let Ok(Err(e)) = sent
        {
            return Err(Error::storage("sending a file to the running node", e));
        }
        answer
    }
}

/// The error a running node reported, as the same kind of error here.
pub fn error_of(kind: &str, message: String) -> Error {
    let refused = |k| Error::refused(k, message.clone());
    match kind {
        "usage" => Error::Usage(message),
        "invalid" => refused(RefusalKind::Invalid),
        "not-found" => refused(RefusalKind::NotFound),
        "unauthorized" => refused(RefusalKind::Unauthorized),
        "rule" => refused(RefusalKind::Rule),
        "duplicate" => refused(RefusalKind::Duplicate),
        "forged" => refused(RefusalKind::Forged),
        "too-many-tries" => refused(RefusalKind::TooManyTries),
        "unreachable" => Error::Unreachable(message),
        _ => Error::storage_msg(message),
    }
}

/// The socket path for a data folder.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join(super::SOCKET)
}

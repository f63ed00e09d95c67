//! The running node's side of the control socket: accept local clients (the service's own user or
//! root only, checked with the socket's peer credentials), sign the person in through the same
//! gate as the web, perform the request through the application layer, and stream back progress,
//! the output file and the reply.

use super::protocol::{
    self, ClientMessage, END, Frame, MAX_CHUNK, PROTOCOL, ServerMessage, SignIn,
};
use crate::app::{Actor, App, Progress, Transfer};
use crate::audit::Channel;
use crate::error::{Error, Result};
use crate::signin::{Claim, Source};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};

/// Longest the server waits for a client's next frame.
const IDLE: Duration = Duration::from_secs(60);
/// Most conversations at once; more wait.
const MAX_CLIENTS: usize = 64;

/// Bind the socket at `path` (the node's store lock is held, so anything there is stale).
pub fn bind(path: &Path) -> Result<UnixListener> {
    if path.as_os_str().len() > 100 {
        return Err(Error::Usage(format!(
            "the data folder's path is too long for its control socket ({}): move the node to a shorter path",
            path.display()
        )));
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::storage("removing an old control socket", e)),
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| Error::storage(&format!("cannot listen on {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::storage("making the control socket private", e))?;
    }
    Ok(listener)
}

/// Serve the control socket until `stop` resolves; the socket file is removed on the way out.
pub async fn serve(
    app: Arc<App>,
    listener: UnixListener,
    path: std::path::PathBuf,
    stop: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CLIENTS));
    // SAFETY: geteuid only reads this process's effective user id.
    let me = unsafe { libc::geteuid() };
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!("control socket accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = converse(app, stream, me).await {
                tracing::debug!("a control conversation ended: {e}");
            }
        });
    }
    let _ = std::fs::remove_file(&path);
}

async fn send(
    stream: &mut (impl tokio::io::AsyncWrite + Unpin),
    m: &ServerMessage,
) -> std::io::Result<()> {
    stream.write_all(&protocol::encode_message(m)).await
}

async fn next_message(r: &mut (impl tokio::io::AsyncRead + Unpin)) -> std::io::Result<Vec<u8>> {
    match tokio::time::timeout(IDLE, protocol::read_frame_async(r)).await {
        Err(_) => Err(std::io::Error::other(
            "the client sent nothing for a minute",
        )),
        Ok(Ok(Frame::Message(m))) => Ok(m),
        Ok(Ok(_)) => Err(std::io::Error::other("expected a message")),
        Ok(Err(e)) => Err(e),
    }
}

/// What the blocking side hands the socket writer.
enum Out {
    Progress(Progress),
    Data(Vec<u8>),
    End,
    Done(ServerMessage),
}

async fn converse(app: Arc<App>, mut stream: UnixStream, me: u32) -> std::io::Result<()> {
    let uid = stream.peer_cred()?.uid();
    if uid != me && uid != 0 {
        send(
            &mut stream,
            &ServerMessage::Refused {
                message: "only the node's own user (or root) may use its control socket".into(),
            },
        )
        .await?;
        return Ok(());
    }
    let hello = next_message(&mut stream).await?;
    match protocol::decode_message::<ClientMessage>(&hello) {
        Ok(ClientMessage::Hello { protocol, .. }) if protocol == PROTOCOL => {
            send(
                &mut stream,
                &ServerMessage::Welcome {
                    version: env!("CARGO_PKG_VERSION").into(),
                },
            )
            .await?;
        }
        Ok(ClientMessage::Hello { version, .. }) => {
            let message = format!(
                "this node is run by cairn {} (control protocol {PROTOCOL}); this command is cairn {version}, which speaks another protocol: use the cairn that runs the service, or restart the service after upgrading",
                env!("CARGO_PKG_VERSION")
            );
            return send(&mut stream, &ServerMessage::Refused { message }).await;
        }
        _ => {
            let message = "the first message was not a greeting this node understands".to_string();
            return send(&mut stream, &ServerMessage::Refused { message }).await;
        }
    }
    let request = next_message(&mut stream).await?;
    let (sign_in, request) = match protocol::decode_message::<ClientMessage>(&request) {
        Ok(ClientMessage::Request { sign_in, request }) => (sign_in, *request),
        Ok(_) | Err(_) => {
            let failed = ServerMessage::Failed {
                kind: "usage".into(),
                message: "the running node could not read this request (is this cairn the same version as the service?)".into(),
            };
            return send(&mut stream, &failed).await;
        }
    };
    let (reader, mut writer) = stream.into_split();
    // Uploads: read from the socket here, handed over a bounded channel to the blocking side.
    let (up_tx, up_rx) = std::sync::mpsc::sync_channel::<Option<Vec<u8>>>(8);
    let uploads = request.uploads().len();
    let up_task = tokio::spawn(async move {
        let mut reader = reader;
        let mut ended = 0;
        while ended < uploads {
            let frame =
                match tokio::time::timeout(IDLE, protocol::read_frame_async(&mut reader)).await {
                    Ok(Ok(f)) => f,
                    _ => break,
                };
            let item = match frame {
                Frame::Data(d) => Some(d),
                Frame::End => {
                    ended += 1;
                    None
                }
                Frame::Message(_) => break,
            };
            let tx = up_tx.clone();
            if tokio::task::spawn_blocking(move || tx.send(item))
                .await
                .map_or(true, |r| r.is_err())
            {
                break;
            }
        }
    });
    // Replies: written here from a bounded channel the blocking side fills.
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Out>(16);
    let write_task = tokio::spawn(async move {
        while let Some(out) = out_rx.recv().await {
            let bytes = match out {
                Out::Progress(p) => protocol::encode_message(&ServerMessage::Progress(p)),
                Out::Data(d) => protocol::encode(protocol::DATA, &d),
                Out::End => protocol::encode(END, &[]),
                Out::Done(m) => protocol::encode_message(&m),
            };
            if writer.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = writer.shutdown().await;
    });
    let worker = tokio::task::spawn_blocking(move || {
        let actor = match sign_in {
            None => Ok(Actor::Operator),
            Some(SignIn::Staff { name, secret }) => app.gate().sign_in(
                app.node(),
                Claim::Staff(&name),
                &secret,
                Source {
                    channel: Channel::Socket,
                    address: None,
                },
            ),
            Some(SignIn::Learner { number, secret }) => app.gate().sign_in(
                app.node(),
                Claim::Learner(&number),
                &secret,
                Source {
                    channel: Channel::Socket,
                    address: None,
                },
            ),
        };
        let mut io = SocketTransfer {
            uploads: up_rx,
            current: 0,
            open: false,
            out: out_tx.clone(),
            downloading: false,
        };
        let result = actor.and_then(|actor| app.perform(&actor, request, Channel::Socket, &mut io));
        if io.downloading {
            let _ = out_tx.blocking_send(Out::End);
        }
        let last = match result {
            Ok(reply) => ServerMessage::Done(reply),
            Err(e) => ServerMessage::Failed {
                kind: e.kind().to_string(),
                message: e.chain(),
            },
        };
        let _ = out_tx.blocking_send(Out::Done(last));
    });
    let _ = worker.await;
    up_task.abort();
    let _ = write_task.await;
    Ok(())
}

/// The blocking side of a conversation's files.
struct SocketTransfer {
    uploads: std::sync::mpsc::Receiver<Option<Vec<u8>>>,
    // The index of the upload being read, and whether its bytes have begun.
    current: usize,
    open: bool,
    out: tokio::sync::mpsc::Sender<Out>,
    downloading: bool,
}

impl SocketTransfer {
    /// Skip the rest of the upload being read.
    fn skip_current(&mut self) {
        while let Ok(Some(_)) = self.uploads.recv_timeout(IDLE) {}
        self.current += 1;
        self.open = false;
    }
}

struct UploadReader<'a> {
    t: &'a mut SocketTransfer,
    buf: Vec<u8>,
    at: usize,
    done: bool,
}

impl Read for UploadReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            match self.t.uploads.recv_timeout(IDLE) {
                Ok(Some(chunk)) => {
                    self.buf = chunk;
                    self.at = 0;
                }
                Ok(None) => {
                    self.done = true;
                    self.t.current += 1;
                    self.t.open = false;
                }
                Err(_) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the client stopped sending the file",
                    ));
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

struct DownloadWriter<'a> {
    out: &'a tokio::sync::mpsc::Sender<Out>,
    buf: Vec<u8>,
}

impl Write for DownloadWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        while self.buf.len() >= MAX_CHUNK {
            let rest = self.buf.split_off(MAX_CHUNK);
            let chunk = std::mem::replace(&mut self.buf, rest);
            self.out
                .blocking_send(Out::Data(chunk))
                .map_err(|_| std::io::Error::other("the client went away"))?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let chunk = std::mem::take(&mut self.buf);
            self.out
                .blocking_send(Out::Data(chunk))
                .map_err(|_| std::io::Error::other("the client went away"))?;
        }
        Ok(())
    }
}

impl Drop for DownloadWriter<'_> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl Transfer for SocketTransfer {
    fn upload(&mut self, index: usize) -> Result<Box<dyn Read + Send + '_>> {
        if index < self.current || (index == self.current && self.open) {
            return Err(Error::Usage("a file was read twice".into()));
        }
        while self.current < index {
            self.skip_current();
        }
        self.open = true;
        Ok(Box::new(UploadReader {
            t: self,
            buf: Vec::new(),
            at: 0,
            done: false,
        }))
    }

    fn download(&mut self) -> Result<Box<dyn Write + Send + '_>> {
        self.downloading = true;
        Ok(Box::new(DownloadWriter {
            out: &self.out,
            buf: Vec::with_capacity(MAX_CHUNK),
        }))
    }

    fn reporter(&self) -> crate::app::Reporter {
        let out = self.out.clone();
        let mut last: Option<std::time::Instant> = None;
        Box::new(move |progress| {
            // A few times a second is plenty for a person watching.
            let now = std::time::Instant::now();
            if last.is_some_and(|t| now.duration_since(t) < Duration::from_millis(200)) {
                return;
            }
            last = Some(now);
            // Never block the work for a slow reader: a report may be dropped.
            let _ = out.try_send(Out::Progress(progress));
        })
    }
}

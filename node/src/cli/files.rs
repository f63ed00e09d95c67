//! The command line's files: what a request carries is read from the paths the person named, and
//! what it writes back goes to the path they named — whole or not at all (a temporary file
//! renamed into place), or, for a backup, unpacked into a new folder.

use super::plan::Download;
use crate::app::{Progress, Transfer};
use crate::error::{Error, Result};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// The files of one command.
pub struct LocalFiles {
    uploads: Vec<PathBuf>,
    download: Option<Download>,
    sink: Option<Sink>,
    bar: Option<indicatif::ProgressBar>,
}

enum Sink {
    File {
        tmp: tempfile::NamedTempFile,
        to: PathBuf,
    },
    Folder {
        writer: std::io::PipeWriter,
        unpacking: std::thread::JoinHandle<std::io::Result<()>>,
        to: PathBuf,
    },
}

impl LocalFiles {
    /// The files a plan names; progress shows on standard error when it is a terminal and
    /// `quiet` is false.
    pub fn new(uploads: Vec<PathBuf>, download: Option<Download>, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} {pos}{len} {wide_bar}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b
        });
        LocalFiles {
            uploads,
            download,
            sink: None,
            bar,
        }
    }

    fn open_file(&self, index: usize) -> Result<std::fs::File> {
        let path = self
            .uploads
            .get(index)
            .ok_or_else(|| Error::Usage("the request names a file it was not given".into()))?;
        open_regular(path)
    }

    fn sink_writer(&mut self) -> Result<&mut (dyn Write + Send)> {
        if self.sink.is_none() {
            self.sink = Some(match &self.download {
                Some(Download::File(to)) => {
                    let dir = to
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or(Path::new("."));
                    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
                        Error::storage(&format!("cannot write {}", to.display()), e)
                    })?;
                    Sink::File {
                        tmp,
                        to: to.clone(),
                    }
                }
                Some(Download::Folder(to)) => {
                    std::fs::create_dir_all(to).map_err(|e| {
                        Error::storage(&format!("cannot create {}", to.display()), e)
                    })?;
                    let (reader, writer) =
                        std::io::pipe().map_err(|e| Error::storage("unpacking the backup", e))?;
                    let dest = to.clone();
                    let unpacking = std::thread::spawn(move || {
                        let mut archive = tar::Archive::new(reader);
                        archive.set_preserve_permissions(true);
                        let unpacked = archive.unpack(&dest);
                        // Unpacking stops at the first of the two zero blocks that end an
                        // archive (or at what it cannot read); the stream goes on past it, and
                        // a reader that left would fail the command with a broken pipe
                        // (whenever a chunk from the node ended between those two blocks).
                        // Read to the end, into nothing, and report unpacking's own result.
                        let drained =
                            std::io::copy(&mut archive.into_inner(), &mut std::io::sink());
                        unpacked.and(drained.map(|_| ()))
                    });
                    Sink::Folder {
                        writer,
                        unpacking,
                        to: to.clone(),
                    }
                }
                None => return Err(Error::Usage("this command writes no file".into())),
            });
        }
        match self.sink.as_mut() {
            Some(Sink::File { tmp, .. }) => Ok(tmp.as_file_mut()),
            Some(Sink::Folder { writer, .. }) => Ok(writer),
            None => Err(Error::Usage("this command writes no file".into())),
        }
    }

    /// Put the output in place once the command succeeded.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        match self.sink.take() {
            None => Ok(()),
            Some(Sink::File { tmp, to }) => {
                tmp.as_file()
                    .sync_all()
                    .map_err(|e| Error::storage(&format!("cannot write {}", to.display()), e))?;
                tmp.persist(&to).map_err(|e| {
                    Error::storage(&format!("cannot write {}", to.display()), e.error)
                })?;
                Ok(())
            }
            Some(Sink::Folder {
                writer,
                unpacking,
                to,
            }) => {
                drop(writer);
                unpacking
                    .join()
                    .map_err(|_| Error::storage_msg("unpacking the backup failed"))?
                    .map_err(|e| Error::storage(&format!("cannot write {}", to.display()), e))
            }
        }
    }
}

/// Open a file a person named for reading: a regular file only (a FIFO or a device could
/// serve one thing to a check and another to the apply).
pub fn open_regular(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(Error::invalid(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(file)
}

impl Transfer for LocalFiles {
    fn upload(&mut self, index: usize) -> Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(self.open_file(index)?))
    }

    fn download(&mut self) -> Result<Box<dyn Write + Send + '_>> {
        Ok(Box::new(self.sink_writer()?))
    }

    fn reporter(&self) -> crate::app::Reporter {
        let bar = self.bar.clone();
        Box::new(move |p| show(&bar, &p))
    }
}

fn show(bar: &Option<indicatif::ProgressBar>, p: &Progress) {
    if let Some(b) = bar {
        b.set_message(format!("{} ({})", p.doing, p.unit));
        if let Some(t) = p.total {
            b.set_length(t);
        }
        b.set_position(p.done);
    }
}

impl crate::control::client::Files for LocalFiles {
    fn open(&mut self, index: usize) -> Result<Box<dyn Read + Send>> {
        Ok(Box::new(self.open_file(index)?))
    }

    fn sink(&mut self) -> Result<&mut dyn Write> {
        Ok(self.sink_writer()?)
    }

    fn finish(&mut self) -> Result<()> {
        // The stream ended: flush what the sink holds; the command's success puts it in place.
        match self.sink.as_mut() {
            Some(Sink::File { tmp, .. }) => tmp
                .as_file_mut()
                .flush()
                .map_err(|e| Error::storage("writing the output", e)),
            _ => Ok(()),
        }
    }

    fn progress(&mut self, p: &Progress) {
        show(&self.bar, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::client::Files;

    /// A small archive as `cairn backup` streams it: a file, then tar's end (two zero blocks).
    fn archive() -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, "node.key", &b"hello"[..])
            .unwrap();
        tar.into_inner().unwrap()
    }

    /// The running node sends a backup in chunks of its own size, so a chunk can end between
    /// the two zero blocks that close the archive. The unpacker stops at the first one; the
    /// rest must still be accepted, not refused with a broken pipe.
    #[test]
    fn a_backup_whose_last_chunk_is_the_second_zero_block_is_written_whole() {
        let root = tempfile::tempdir().unwrap();
        let to = root.path().join("backup");
        let bytes = archive();
        let (body, last) = bytes.split_at(bytes.len() - 512);
        assert!(last.iter().all(|b| *b == 0) && body[body.len() - 512..].iter().all(|b| *b == 0));
        let mut files = LocalFiles::new(Vec::new(), Some(Download::Folder(to.clone())), true);
        files.sink().unwrap().write_all(body).unwrap();
        // Time for the unpacker to reach the first zero block and return.
        std::thread::sleep(std::time::Duration::from_millis(300));
        files
            .sink()
            .unwrap()
            .write_all(last)
            .expect("the archive's last block is accepted");
        Files::finish(&mut files).unwrap();
        LocalFiles::finish(&mut files).unwrap();
        assert_eq!(std::fs::read(to.join("node.key")).unwrap(), b"hello");
    }

    /// A stream that is not an archive is reported as such when the command ends, whatever
    /// the server still sends after the point where unpacking failed.
    #[test]
    fn a_stream_that_is_not_an_archive_is_reported_not_a_broken_pipe() {
        let root = tempfile::tempdir().unwrap();
        let to = root.path().join("backup");
        let mut files = LocalFiles::new(Vec::new(), Some(Download::Folder(to.clone())), true);
        files.sink().unwrap().write_all(&[0x55; 512]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        files
            .sink()
            .unwrap()
            .write_all(&[0x55; 4096])
            .expect("the rest of the stream is read");
        let err = LocalFiles::finish(&mut files).unwrap_err().to_string();
        assert!(err.contains(&to.display().to_string()), "{err}");
    }
}

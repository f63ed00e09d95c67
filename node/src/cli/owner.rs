//! Root on another user's data folder. The service runs as its own user (the package's
//! `cairn`) and must be able to read every file in its folder; a command that root runs on that
//! folder while the service is stopped would otherwise leave files only root can read (a key, a
//! store segment), and the service would then fail with "Permission denied". So such a command
//! does its work as the folder's owner. While the service runs, commands go to it through the
//! control socket instead, and nothing here applies.

use crate::error::{Error, Result};
use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The user and group to become for `dir`: `Some` when this process runs as root and `dir` —
/// or, when it does not exist yet, the nearest folder above it that does — belongs to another
/// user.
pub fn foreign_owner(dir: &Path) -> Option<(u32, u32)> {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let absolute = std::path::absolute(dir).ok()?;
    let meta = absolute
        .ancestors()
        .find_map(|p| std::fs::metadata(p).ok())?;
    (meta.uid() != 0).then(|| (meta.uid(), meta.gid()))
}

/// The name and primary group of `uid` in the user database, if it has an entry.
fn user_entry(uid: u32) -> Option<(CString, u32)> {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: an all-zero `passwd` is a valid value to be overwritten by getpwuid_r.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call, and `buf` outlives the use of `entry`'s
    // strings below.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so pw_name points at a NUL-terminated string in `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) }.to_owned();
    Some((name, entry.pw_gid))
}

/// When this process runs as root and `dir` (or the folder it will be made in) belongs to
/// another user, become that user — its
/// user id, primary group and supplementary groups — for the rest of the process. Call it before
/// anything touches `dir` and before any thread starts.
pub fn become_owner_of(dir: &Path) -> Result<()> {
    let Some((uid, folder_gid)) = foreign_owner(dir) else {
        return Ok(());
    };
    let failed = |what: &str| {
        Error::storage(
            &format!(
                "could not switch to the user (uid {uid}) that owns {}: {what}",
                dir.display()
            ),
            std::io::Error::last_os_error(),
        )
    };
    let entry = user_entry(uid);
    let gid = entry.as_ref().map_or(folder_gid, |(_, gid)| *gid);
    // SAFETY: plain system calls on values we own; each result is checked.
    unsafe {
        let groups = match &entry {
            Some((name, gid)) => libc::initgroups(name.as_ptr(), *gid),
            None => libc::setgroups(0, std::ptr::null()),
        };
        if groups != 0 {
            return Err(failed("setting its groups"));
        }
        if libc::setgid(gid) != 0 {
            return Err(failed("setting its group"));
        }
        if libc::setuid(uid) != 0 {
            return Err(failed("setting its user id"));
        }
        // Dropped for good: root cannot be regained.
        if libc::geteuid() != uid || libc::setuid(0) == 0 {
            return Err(Error::storage_msg(format!(
                "could not give up root to work as the user (uid {uid}) that owns {}",
                dir.display()
            )));
        }
    }
    tracing::debug!(uid, gid, "working as the owner of {}", dir.display());
    Ok(())
}

/// Give everything under `dir` (and `dir`) to `uid`:`gid`, without following symlinks.
pub fn give_tree(dir: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::lchown(dir, Some(uid), Some(gid))?;
    if std::fs::symlink_metadata(dir)?.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            give_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

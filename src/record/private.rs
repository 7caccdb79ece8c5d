//! The run directory is the tool's alone (SPEC section 5, rule 12). Before any command runs, the
//! directory, its default parent and every folder above them are checked as OpenSSH's
//! StrictModes checks a home directory: the run directory and the parent the tool creates it in
//! must be the running user's, writable by no group or other; a folder above that others may
//! write must have the sticky bit (as /tmp has). Then the directory is opened once, and every
//! file in it is opened relative to that descriptor, never through a symlink: new files are
//! created exclusively, whole files are written to a new temporary and renamed over the old one
//! (a rename replaces a planted symlink, never follows it).
//!
//! rustix (already in the tree through tempfile) gives these calls (`openat`, `mkdirat`,
//! `renameat`, `fstat`, `fchmod`) safely, where libc would need `unsafe` at every call.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::error::{Error, Result};

/// A folder of the run directory, open.
#[derive(Debug)]
pub struct Folder {
    fd: OwnedFd,
    path: PathBuf,
}

fn euid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

const STICKY: u32 = 0o1000;
const GROUP_OTHER_WRITE: u32 = 0o022;
const OTHER_WRITE: u32 = 0o002;

fn refuse(what: String) -> Error {
    Error::refused(format!("{what}; nothing was run"))
}

fn os_error(action: &'static str, path: &Path, e: rustix::io::Errno) -> Error {
    Error::io(action, path, std::io::Error::from(e))
}

/// Every folder from the root down to `path` (which exists, and is whole: no `..`, no symlink),
/// `path` excluded: none that others may write without the sticky bit.
pub fn check_ancestors(path: &Path) -> Result<()> {
    for ancestor in path.ancestors().skip(1) {
        let stat =
            rustix::fs::stat(ancestor).map_err(|e| os_error("cannot look at", ancestor, e))?;
        if stat.st_mode & OTHER_WRITE != 0 && stat.st_mode & STICKY == 0 {
            return Err(refuse(format!(
                "the run directory lies under {}, which any user may write (mode {:o}, no sticky bit): another user could replace the run directory. Choose a --run-dir under a folder only you can write, or have its owner run `chmod o-w {}`",
                ancestor.display(),
                stat.st_mode & 0o7777,
                ancestor.display()
            )));
        }
    }
    Ok(())
}

/// A folder that must be the running user's alone: owned by them, writable by no group or other.
fn check_own(stat: &rustix::fs::Stat, path: &Path) -> Result<()> {
    if stat.st_uid != euid() {
        return Err(refuse(format!(
            "{} belongs to another user (uid {}), not to the one running arthur-restore (uid {}): that user could change what the run writes there. Choose another --run-dir, or remove it and let arthur-restore create it",
            path.display(),
            stat.st_uid,
            euid()
        )));
    }
    if stat.st_mode & GROUP_OTHER_WRITE != 0 {
        return Err(refuse(format!(
            "{} may be written by its group or others (mode {:o}): another user could replace what the run writes there. Run `chmod go-w {}`, or choose another --run-dir",
            path.display(),
            stat.st_mode & 0o7777,
            path.display()
        )));
    }
    Ok(())
}

fn open_dir_at(base: Option<&Folder>, name: &Path) -> rustix::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match base {
        Some(base) => rustix::fs::openat(&base.fd, name, flags, Mode::empty()),
        None => rustix::fs::open(name, flags, Mode::empty()),
    }
}

impl Folder {
    /// Opens (creating it when `create`, 0700) a folder whose parent is checked, refusing one
    /// that is a symlink, another user's, or writable by others; one that is the user's but
    /// readable by others is made 0700.
    fn open_checked(
        parent: Option<&Folder>,
        path: &Path,
        name: &Path,
        create: bool,
    ) -> Result<Folder> {
        if create {
            let made = match parent {
                Some(parent) => rustix::fs::mkdirat(&parent.fd, name, Mode::from_raw_mode(0o700)),
                None => rustix::fs::mkdir(name, Mode::from_raw_mode(0o700)),
            };
            match made {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(os_error("cannot create the run directory", path, e)),
            }
        }
        let fd = open_dir_at(parent, name).map_err(|e| match e {
            rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => refuse(format!(
                "{} is a symlink or not a folder: the run directory and its default parent are opened only as real folders",
                path.display()
            )),
            e => os_error("cannot open the run directory", path, e),
        })?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| os_error("cannot look at", path, e))?;
        check_own(&stat, path)?;
        if stat.st_mode & 0o077 != 0 {
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o700))
                .map_err(|e| os_error("cannot make private", path, e))?;
        }
        Ok(Folder {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The run directory at `path`: created when `create` (with its missing parents: the last
    /// of them, the default `arthur-restore-runs/`, is held to the same checks), else opened.
    pub fn run_dir(path: &Path, create: bool) -> Result<Folder> {
        let absolute = std::path::absolute(path).map_err(|e| Error::io("cannot find", path, e))?;
        let parent = absolute.parent().unwrap_or(Path::new("/"));
        let name = absolute
            .file_name()
            .map(PathBuf::from)
            .ok_or_else(|| Error::usage(format!("{}: not a folder name", path.display())))?;
        // The parent, created as a private folder when missing (the default parent).
        if create && !parent.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .create(parent.parent().unwrap_or(Path::new("/")))
                .map_err(|e| Error::io("cannot create", parent, e))?;
            let _ = rustix::fs::mkdir(parent, Mode::from_raw_mode(0o700));
        }
        // Symlinks above the run directory are followed once, here, to the real path that is
        // checked and opened; the run directory itself may not be one.
        let real_parent =
            std::fs::canonicalize(parent).map_err(|e| Error::io("cannot find", parent, e))?;
        check_ancestors(&real_parent.join(&name))?;
        let parent_fd = open_dir_at(None, &real_parent)
            .map_err(|e| os_error("cannot open", &real_parent, e))?;
        let parent_stat = rustix::fs::fstat(&parent_fd)
            .map_err(|e| os_error("cannot look at", &real_parent, e))?;
        // The default parent (`arthur-restore-runs/`) is the tool's, like the run directory.
        if parent
            .file_name()
            .is_some_and(|n| n == crate::record::DEFAULT_PARENT)
        {
            check_own(&parent_stat, &real_parent)?;
        }
        let parent = Folder {
            fd: parent_fd,
            path: real_parent.clone(),
        };
        Folder::open_checked(Some(&parent), &real_parent.join(&name), &name, create)
    }

    /// The real path of the folder (what `kubectl apply -f` is given).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A folder inside this one (created 0700 when missing), held to the same checks.
    pub fn folder(&self, name: &str) -> Result<Folder> {
        Folder::open_checked(Some(self), &self.path.join(name), Path::new(name), true)
    }

    /// A file of the folder for appending (and reading), created 0600 when missing; one that is
    /// a symlink, not a regular file, another user's or has another name (a hard link) is
    /// refused.
    pub fn append(&self, name: &str) -> Result<File> {
        let flags =
            OFlags::RDWR | OFlags::APPEND | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        self.open_file(name, flags)
    }

    /// A file of the folder, for reading and writing in place (the lock's holder), created 0600.
    pub fn read_write(&self, name: &str) -> Result<File> {
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        self.open_file(name, flags)
    }

    /// A file of the folder, for reading; `None` when there is none.
    pub fn read(&self, name: &str) -> Result<Option<File>> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => {
                self.check_file(&fd, name)?;
                Ok(Some(File::from(fd)))
            }
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(self.file_error(name, e)),
        }
    }

    fn open_file(&self, name: &str, flags: OFlags) -> Result<File> {
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(0o600))
            .map_err(|e| self.file_error(name, e))?;
        self.check_file(&fd, name)?;
        Ok(File::from(fd))
    }

    fn file_error(&self, name: &str, e: rustix::io::Errno) -> Error {
        let path = self.path.join(name);
        if e == rustix::io::Errno::LOOP {
            return refuse(format!(
                "{} is a symlink: nothing in the run directory is opened through one; someone put it there. Look at who did, and start a new run",
                path.display()
            ));
        }
        os_error("cannot open", &path, e)
    }

    fn check_file(&self, fd: &impl AsFd, name: &str) -> Result<()> {
        let path = self.path.join(name);
        let stat = rustix::fs::fstat(fd).map_err(|e| os_error("cannot look at", &path, e))?;
        let regular = stat.st_mode & libc::S_IFMT == libc::S_IFREG;
        if !regular || stat.st_uid != euid() || stat.st_nlink != 1 {
            return Err(refuse(format!(
                "{} is not a plain file of this user's with one name (a device, a folder, a hard link or another user's file): someone put it there",
                path.display()
            )));
        }
        Ok(())
    }

    /// Writes a whole file: a new temporary (created exclusively, 0600, a stale one removed
    /// first), synced, then renamed over `name`.
    pub fn write_whole(&self, name: &str, contents: &[u8]) -> Result<PathBuf> {
        let path = self.path.join(name);
        let temporary = format!("{name}.tmp");
        match rustix::fs::unlinkat(&self.fd, temporary.as_str(), AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(os_error("cannot remove", &self.path.join(&temporary), e)),
        }
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(
            &self.fd,
            temporary.as_str(),
            flags,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| self.file_error(&temporary, e))?;
        let mut file = File::from(fd);
        file.write_all(contents)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("cannot write", &path, e))?;
        rustix::fs::renameat(&self.fd, temporary.as_str(), &self.fd, name)
            .map_err(|e| os_error("cannot write", &path, e))?;
        Ok(path)
    }

    /// Whether `name` holds exactly `expected` (read without following a symlink): what
    /// `kubectl apply -f` is about to read is what was checked.
    pub fn holds(&self, name: &str, expected: &[u8]) -> Result<bool> {
        use std::io::Read;
        let Some(mut file) = self.read(name)? else {
            return Ok(false);
        };
        let mut found = Vec::with_capacity(expected.len());
        std::io::Read::by_ref(&mut file)
            .take(expected.len() as u64 + 1)
            .read_to_end(&mut found)
            .map_err(|e| Error::io("cannot read", self.path.join(name), e))?;
        Ok(found == expected)
    }

    /// The folder itself, opened anew (a description of its own, for its flock: a lock on a
    /// duplicate would last as long as any copy of this descriptor).
    pub fn as_file(&self) -> Result<File> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        rustix::fs::openat(&self.fd, ".", flags, Mode::empty())
            .map(File::from)
            .map_err(|e| os_error("cannot open", &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_file_changed_after_it_was_written_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::run_dir(&dir.path().join("run"), true).unwrap();
        folder.write_whole("job.yaml", b"checked").unwrap();
        assert!(folder.holds("job.yaml", b"checked").unwrap());
        // Another process swaps the file (here: the same user; rule 12 keeps others out).
        std::fs::write(dir.path().join("run/job.yaml"), b"attacker's").unwrap();
        assert!(!folder.holds("job.yaml", b"checked").unwrap());
        // A symlink in its place is not followed.
        std::fs::remove_file(dir.path().join("run/job.yaml")).unwrap();
        std::fs::write(dir.path().join("elsewhere"), b"checked").unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("elsewhere"),
            dir.path().join("run/job.yaml"),
        )
        .unwrap();
        assert!(folder.holds("job.yaml", b"checked").is_err());
    }

    #[test]
    fn a_planted_symlink_is_replaced_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"root's file").unwrap();
        let folder = Folder::run_dir(&dir.path().join("run"), true).unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("run/state.json.tmp")).unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("run/state.json")).unwrap();
        folder.write_whole("state.json", b"{}").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"root's file");
        std::os::unix::fs::symlink(&victim, dir.path().join("run/transcript.log")).unwrap();
        assert!(folder.append("transcript.log").is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"root's file");
    }

    #[test]
    fn folders_others_may_write_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let refused = Folder::run_dir(&open.join("run"), true).unwrap_err();
        assert_eq!(refused.exit_code(), 3, "{refused}");
        assert!(
            refused.to_string().contains("which any user may write"),
            "{refused}"
        );
        // With the sticky bit (as /tmp), a folder of one's own in it is fine.
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        Folder::run_dir(&open.join("run"), true).unwrap();
        // A run directory others may write is refused; one others may read is made private.
        let shared = open.join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(Folder::run_dir(&shared, false).is_err());
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        Folder::run_dir(&shared, false).unwrap();
        let mode = std::fs::metadata(&shared).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // A run directory that is a symlink is refused.
        std::os::unix::fs::symlink(&shared, open.join("link")).unwrap();
        assert!(Folder::run_dir(&open.join("link"), false).is_err());
    }
}

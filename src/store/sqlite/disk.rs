//! The database's files as the filesystem sees them: whether this process
//! may write them, which file the path names now (to notice a database
//! deleted or replaced under a running server), the free space left, the
//! WAL's size, and the reserve file that is given up when the disk fills.
//!
//! Plain system calls, no SQL; what to do about what they report is the
//! flusher's business.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The directory holding `db` (where SQLite makes its `-wal` and `-shm`).
pub fn dir_of(db: &Path) -> PathBuf {
    match db.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    }
}

/// Creates the directory if needed and checks that this process may write
/// the directory and, if it exists, the file: SQLite would otherwise open
/// the file read-only without a word, or fail at the first write.
pub fn writable(db: &Path) -> Result<(), String> {
    let dir = dir_of(db);
    if !dir.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
    }
    if !access_w(&dir) {
        return Err(format!("the directory {} is not writable {}", dir.display(), for_whom()));
    }
    if db.exists() && !access_w(db) {
        return Err(format!("the file {} is not writable {}", db.display(), for_whom()));
    }
    Ok(())
}

fn for_whom() -> String {
    // SAFETY: geteuid() has no preconditions.
    let uid = unsafe { libc::geteuid() };
    format!("by this user (uid {uid})")
}

fn access_w(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: access() only reads the NUL-terminated path we pass.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Which file a path names: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    dev: u64,
    ino: u64,
}

/// The file `path` names now; `None` when there is none.
pub fn identity(path: &Path) -> Option<Identity> {
    std::fs::metadata(path).ok().map(|m| Identity { dev: m.dev(), ino: m.ino() })
}

/// Space on the filesystem holding the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes an unprivileged writer may still use.
    pub free: u64,
    pub total: u64,
}

impl Space {
    /// Low: below `min(low_bytes, low_percent of the filesystem)`, so a
    /// small filesystem is not always "low" and a large one warns in time.
    pub fn is_low(&self, low_bytes: u64, low_percent: u64) -> bool {
        self.free < low_bytes.min(self.total / 100 * low_percent)
    }
}

/// Free and total space of the filesystem holding `db`.
pub fn space(db: &Path) -> Option<Space> {
    let c = CString::new(dir_of(db).as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes only into the struct we pass, for the
    // NUL-terminated path we pass.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let unit = st.f_frsize as u64;
    Some(Space { free: (st.f_bavail as u64).saturating_mul(unit), total: (st.f_blocks as u64).saturating_mul(unit) })
}

/// The WAL's size in bytes (0 when there is none).
pub fn wal_bytes(db: &Path) -> u64 {
    std::fs::metadata(suffixed(db, "-wal")).map(|m| m.len()).unwrap_or(0)
}

/// `db` with `suffix` appended to its file name.
pub fn suffixed(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The reserve: a file of `bytes` written next to the database at start
/// and deleted when the disk fills, so that the hits held in memory can
/// still be written (and the WAL checkpointed). Made again once there is
/// room.
pub struct Reserve {
    path: PathBuf,
    bytes: u64,
}

impl Reserve {
    pub fn new(db: &Path, bytes: u64) -> Reserve {
        Reserve { path: suffixed(db, "-reserve"), bytes }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn held(&self) -> bool {
        std::fs::metadata(&self.path).map(|m| m.len() >= self.bytes).unwrap_or(false)
    }

    /// Makes the file with its blocks allocated; on failure nothing is
    /// left behind.
    pub fn make(&self) -> std::io::Result<()> {
        let file = std::fs::File::create(&self.path)?;
        let result = allocate(&file, self.bytes);
        if result.is_err() {
            let _ = std::fs::remove_file(&self.path);
        }
        result
    }

    /// Gives the space back; true if there was a reserve to give.
    pub fn release(&self) -> bool {
        std::fs::remove_file(&self.path).is_ok()
    }
}

fn allocate(file: &std::fs::File, bytes: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let len = libc::off_t::try_from(bytes).map_err(|_| std::io::Error::other("reserve too large"))?;
    // SAFETY: posix_fallocate on a descriptor we own.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) } {
        0 => file.sync_all(),
        e => Err(std::io::Error::from_raw_os_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_space_is_the_smaller_of_the_two_thresholds() {
        let mib = 1 << 20;
        let big = Space { free: 100 * mib, total: 100_000 * mib };
        assert!(!big.is_low(64 * mib, 5));
        assert!(Space { free: 63 * mib, ..big }.is_low(64 * mib, 5));
        let small = Space { free: 200 * 1024, total: 3 * mib };
        assert!(!small.is_low(64 * mib, 5), "5% of 3 MiB is about 150 KiB");
        assert!(Space { free: 100 * 1024, ..small }.is_low(64 * mib, 5));
    }

    #[test]
    fn the_identity_changes_when_the_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.db");
        std::fs::write(&p, b"x").unwrap();
        let first = identity(&p).unwrap();
        assert_eq!(identity(&p), Some(first));
        let q = dir.path().join("b.db");
        std::fs::write(&q, b"y").unwrap();
        std::fs::rename(&q, &p).unwrap();
        assert_ne!(identity(&p), Some(first));
        std::fs::remove_file(&p).unwrap();
        assert_eq!(identity(&p), None);
    }

    #[test]
    fn a_reserve_is_made_and_released() {
        let dir = tempfile::tempdir().unwrap();
        let r = Reserve::new(&dir.path().join("h.db"), 64 * 1024);
        assert!(!r.held());
        r.make().unwrap();
        assert!(r.held());
        assert_eq!(std::fs::metadata(r.path()).unwrap().len(), 64 * 1024);
        assert!(r.release());
        assert!(!r.held() && !r.release());
    }

    #[test]
    fn wal_and_reserve_paths_sit_next_to_the_database() {
        assert_eq!(suffixed(Path::new("/d/h.db"), "-wal"), Path::new("/d/h.db-wal"));
        assert_eq!(dir_of(Path::new("h.db")), Path::new("."));
    }
}

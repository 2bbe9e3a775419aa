//! Backups kept in a local folder (a mounted volume, another disk): the
//! same names and rules as in S3, with renames for atomic writes.

use std::path::{Path, PathBuf};

use super::{Object, Objects};

pub struct Dir {
    path: PathBuf,
}

impl Dir {
    pub fn new(path: PathBuf) -> Dir {
        Dir { path }
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> String {
    format!("cannot {what} {}: {e}", path.display())
}

impl Objects for Dir {
    fn put(&self, name: &str, file: &Path) -> Result<(), String> {
        std::fs::create_dir_all(&self.path).map_err(|e| io("create", &self.path, e))?;
        let dest = self.path.join(name);
        let tmp = self.path.join(format!(".{name}.tmp"));
        std::fs::copy(file, &tmp).map_err(|e| io("write", &tmp, e))?;
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| io("sync", &tmp, e))?;
        std::fs::rename(&tmp, &dest).map_err(|e| io("write", &dest, e))
    }

    fn get(&self, name: &str, to: &Path) -> Result<bool, String> {
        let src = self.path.join(name);
        match std::fs::copy(&src, to) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io("read", &src, e)),
        }
    }

    fn list(&self) -> Result<Vec<Object>, String> {
        let entries = match std::fs::read_dir(&self.path) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("list", &self.path, e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if !meta.is_file() || name.starts_with('.') {
                continue;
            }
            let modified = meta
                .modified()
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t).format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default();
            out.push(Object { name, size: meta.len(), modified });
        }
        Ok(out)
    }

    fn delete(&self, name: &str) -> Result<(), String> {
        let path = self.path.join(name);
        std::fs::remove_file(&path).map_err(|e| io("delete", &path, e))
    }
}

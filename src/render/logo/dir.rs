//! `--logo-dir DIR`: more named logos, one `NAME.svg` file each (simple-
//! icons' `icons/` folder works as it is). Read once at start, so a badge
//! never touches the disk; a file that fails the checks stops the start
//! with its name, rather than turning into `unknown logo` badges later.

use std::collections::HashMap;
use std::path::Path;

use super::{custom::icon_from_svg, Logos};
use crate::limits::{MAX_LOGO_FILES, MAX_LOGO_FILE_BYTES};

pub fn load_dir(dir: &Path) -> Result<Logos, String> {
    let shown = dir.display();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("--logo-dir {shown}: {e}"))?;
    let mut extra = HashMap::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("--logo-dir {shown}: {e}"))?.path();
        let Some(name) = logo_name(&path) else { continue };
        if extra.len() == MAX_LOGO_FILES {
            return Err(format!("--logo-dir {shown}: more than {MAX_LOGO_FILES} .svg files"));
        }
        let file = path.display();
        let size = std::fs::metadata(&path).map_err(|e| format!("--logo-dir: {file}: {e}"))?.len();
        if size > MAX_LOGO_FILE_BYTES as u64 {
            return Err(format!("--logo-dir: {file} is larger than {MAX_LOGO_FILE_BYTES} bytes"));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| format!("--logo-dir: {file}: {e}"))?;
        extra.insert(name, icon_from_svg(&text).map_err(|e| format!("--logo-dir: {file}: {e}"))?);
    }
    Ok(Logos { extra })
}

/// `NAME` of a `NAME.svg` file, lower-cased; other files are skipped.
fn logo_name(path: &Path) -> Option<String> {
    let is_svg = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let stem = path.file_stem()?.to_str()?;
    let plain = !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (is_svg && plain && path.is_file()).then(|| stem.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_svg_files_and_names_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let icon = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="M0 0h24v24H0z"/></svg>"#;
        std::fs::write(dir.path().join("MyLogo.svg"), icon).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a logo").unwrap();
        let logos = load_dir(dir.path()).unwrap();
        assert!(logos.named("mylogo").is_some());
        assert!(logos.named("github").is_some(), "the bundled set stays");
        std::fs::write(dir.path().join("evil.svg"), r#"<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>"#)
            .unwrap();
        let err = load_dir(dir.path()).unwrap_err();
        assert!(err.contains("evil.svg") && err.contains("unsafe logo"), "{err}");
        assert!(load_dir(&dir.path().join("missing")).is_err());
    }
}

// Records the git commit for `hitcounter --version`: HITCOUNTER_COMMIT when
// set (a container build, which copies no .git), else git's, else "unknown"
// (a source tarball).
fn main() {
    println!("cargo:rerun-if-env-changed=HITCOUNTER_COMMIT");
    if let Some(commit) = std::env::var("HITCOUNTER_COMMIT").ok().filter(|c| !c.trim().is_empty()) {
        println!("cargo:rustc-env=HITCOUNTER_COMMIT={}", commit.trim());
        return;
    }
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=HITCOUNTER_COMMIT={commit}");
    // Rebuild when HEAD moves. In a linked worktree `.git` is a file: ask
    // git where HEAD and the refs live.
    let git_path = |what: &str| {
        std::process::Command::new("git")
            .args(["rev-parse", "--path-format=absolute", "--git-path", what])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    for what in ["HEAD", "refs/heads", "packed-refs"] {
        if let Some(path) = git_path(what).filter(|p| std::path::Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

// Records the git commit for `hitcounter --version`, and turns the bot
// pattern list into literals a User-Agent must contain to match (see
// bot_needles).
fn main() {
    bot_needles();
    commit();
}

// The commit: HITCOUNTER_COMMIT when set (a container build, which copies no
// .git), else git's, else "unknown" (a source tarball).
fn commit() {
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

// src/decide/bot_patterns.txt (isbot's list) as `$OUT_DIR/bot_needles.rs`:
// the patterns, lowercased as isbot does, and for each pattern the literals
// one of which any match contains (regex-syntax's prefix or suffix
// literals, whichever are longer; an empty one when neither is finite, which
// makes the pattern a candidate for every User-Agent). A User-Agent that
// contains none of them matches no pattern, so src/decide/bots.rs decides
// it without compiling a regex; otherwise it compiles only the patterns
// whose literals it contains.
fn bot_needles() {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    use std::fmt::Write;
    const LIST: &str = "src/decide/bot_patterns.txt";
    println!("cargo:rerun-if-changed={LIST}");
    let text = std::fs::read_to_string(LIST).expect("reading the bot pattern list").to_ascii_lowercase();
    let patterns: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = String::from("pub const PATTERNS: &[&str] = &[\n");
    for p in &patterns {
        writeln!(out, "    {p:?},").unwrap();
    }
    out.push_str("];\npub const NEEDLES: &[(&[u8], usize)] = &[\n");
    for (i, p) in patterns.iter().enumerate() {
        let hir = regex_syntax::parse(p).unwrap_or_else(|e| panic!("bot pattern {p:?}: {e}"));
        let literals = [ExtractKind::Prefix, ExtractKind::Suffix]
            .into_iter()
            .filter_map(|kind| {
                let seq = Extractor::new().kind(kind).extract(&hir);
                let literals = seq.literals()?.iter().map(|l| l.as_bytes().to_vec()).collect::<Vec<_>>();
                let shortest = literals.iter().map(Vec::len).min()?;
                Some((shortest, literals))
            })
            .max_by_key(|(shortest, _)| *shortest)
            .map_or_else(|| vec![Vec::new()], |(_, literals)| literals);
        for literal in literals {
            writeln!(out, "    (b\"{}\", {i}),", literal.escape_ascii()).unwrap();
        }
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("bot_needles.rs");
    std::fs::write(dest, out).expect("writing bot_needles.rs");
}

//! Records the git commit the binary is built from, for `--version`.
//!
//! Cargo re-runs a build script whose `rerun-if-changed` path does not
//! exist on every build (and relinks the LTO binary with it), so only files
//! that exist are named: HEAD, the file of the branch it points to, or
//! `packed-refs` when the branch lives there. Outside a git checkout (a
//! tarball) it names only itself, and the commit is "unknown".

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=USER_SERVICE_COMMIT={commit}");
    if commit == "unknown" {
        return;
    }
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    // A new commit moves the branch's ref, not HEAD itself.
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
        watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    for path in watched.into_iter().flatten().map(PathBuf::from) {
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

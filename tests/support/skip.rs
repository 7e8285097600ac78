//! What a suite does when what it needs is missing: on a developer's machine
//! it says so once, loudly, and its tests return early; under `CI=true` (as
//! `.ci/run` runs on CI) a suite that cannot run fails instead, so a green
//! run always means the suite ran.

use std::io::Write;
use std::sync::Once;

/// Whether the tests of `suite` must be skipped because `missing` is true.
/// `why` says what is missing and `how` how to provide it.
pub fn skip_unless_ci(
    once: &'static Once,
    suite: &str,
    missing: bool,
    why: &str,
    how: &str,
) -> bool {
    if !missing {
        return false;
    }
    let on_ci = std::env::var("CI").is_ok_and(|value| value == "true" || value == "1");
    assert!(
        !on_ci,
        "{suite} cannot run: {why}. CI=true, so this is a failure, not a skip; {how}"
    );
    once.call_once(|| {
        // Straight to stderr: libtest would swallow eprintln! output.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: {suite} did not run: {why}. {how} ***\n"
        );
    });
    true
}

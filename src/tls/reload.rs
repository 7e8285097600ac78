//! Reloading the certificate without a restart: on `SIGHUP`, and when
//! either file changes on disk (polled: a few `stat` calls a second, and it
//! sees what certbot and friends do, which is to swap a symlink or rename a
//! new file into place). A replacement that does not load (garbage, half
//! written, a key that does not match) keeps the old certificate serving;
//! the next change is tried again.

use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::task::JoinHandle;

use super::{certificate, warn_if_expiring, CurrentCertificate, TlsFiles, TlsMetrics};

/// How often the files are looked at.
pub const POLL: Duration = Duration::from_secs(1);

/// What a reload needs: the files, and what it swaps and counts.
pub struct Reloadable {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: Arc<CurrentCertificate>,
    metrics: TlsMetrics,
    /// The files as last looked at.
    seen: Mutex<Fingerprint>,
}

/// What changes when a file is rewritten or replaced.
type Fingerprint = [Option<(SystemTime, u64, u64, u64)>; 2];

impl Reloadable {
    pub(super) fn new(
        files: TlsFiles,
        provider: Arc<CryptoProvider>,
        current: Arc<CurrentCertificate>,
        metrics: TlsMetrics,
    ) -> Self {
        let seen = Mutex::new(fingerprint(&files));
        Self {
            files,
            provider,
            current,
            metrics,
            seen,
        }
    }

    pub(super) fn metrics(&self) -> &TlsMetrics {
        &self.metrics
    }

    /// Whether either file changed since the last look.
    fn changed(&self) -> bool {
        let now = fingerprint(&self.files);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let changed = *seen != now;
        *seen = now;
        changed
    }

    /// Loads the files again and serves them, or keeps the old certificate.
    /// Blocks on file reads.
    pub fn reload(&self, why: &str) -> bool {
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = fingerprint(&self.files);
        match certificate::load(&self.files.cert, &self.files.key, &self.provider) {
            Ok(served) => {
                self.current.replace(served.key);
                self.metrics.serving(&served.validity);
                self.metrics.reloaded(true);
                log::info!(
                    "reloaded the TLS certificate from {} ({why}); it expires {}",
                    self.files.cert.display(),
                    served.validity.not_after
                );
                warn_if_expiring(&self.files.cert, &served.validity);
                true
            }
            Err(e) => {
                self.metrics.reloaded(false);
                log::error!(
                    "TLS reload ({why}) failed, still serving the previous certificate: {e}"
                );
                false
            }
        }
    }
}

fn fingerprint(files: &TlsFiles) -> Fingerprint {
    [&files.cert, &files.key].map(|path| {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len(), meta.ino(), meta.dev()))
    })
}

/// Reloads on `SIGHUP` and when a file changes, once spawned.
pub struct Watcher {
    reloadable: Arc<Reloadable>,
    hangup: Option<Signal>,
}

impl Watcher {
    /// Listens for `SIGHUP` from now on: a SIGHUP the moment the server is
    /// up must reload, not end the process (its default action). Needs a
    /// tokio runtime.
    pub fn new(reloadable: Arc<Reloadable>) -> Self {
        let hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => Some(hangup),
            Err(e) => {
                log::warn!("cannot listen for SIGHUP ({e}); TLS reloads on file changes only");
                None
            }
        };
        Self { reloadable, hangup }
    }

    /// Watches until the handle is aborted. Runs on the current tokio
    /// runtime; the file reads of a reload run on its blocking pool.
    pub fn spawn(self) -> JoinHandle<()> {
        let Self {
            reloadable,
            mut hangup,
        } = self;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                let why = tokio::select! {
                    Some(()) = async { hangup.as_mut()?.recv().await } => "SIGHUP",
                    _ = tick.tick() => {
                        if !reloadable.changed() {
                            continue;
                        }
                        "a file changed"
                    }
                };
                let reloadable = Arc::clone(&reloadable);
                let _ = tokio::task::spawn_blocking(move || reloadable.reload(why)).await;
            }
        })
    }
}

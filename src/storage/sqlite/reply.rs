//! How the writer thread answers: a batch's answers reach each HTTP worker
//! thread with one wake-up, not one per request.
//!
//! Why: a oneshot answer sent from the writer thread wakes the requester's
//! worker right away, and the worker runs above the writer (see
//! `writer::lower_priority`), so it took the CPU after the first answer of a
//! batch, sent that one response, went back to `epoll_wait`, and only then
//! let the writer send the next answer. Measured under durable POSTs
//! (batches of ~17): ~11,000 worker sleeps and ~8,000 writer preemptions per
//! second, with context switching the largest item of the profile
//! (BENCHMARKS.md). So each actix worker thread gets a [`Relay`]: a queue the
//! writer fills with a whole batch's answers before waking, once, a task on
//! that thread, which then hands them out locally (a wake-up on the thread
//! that runs the task costs no system call).
//!
//! Other threads (command-line tools, tests, the blocking pool) get their
//! answers straight from the writer, as before.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{oneshot, Notify};

use crate::domain::User;
use crate::storage::StoreError;

/// What a write came to.
#[derive(Debug)]
pub(super) enum WriteOutcome {
    /// The user as this write left it.
    User(User),
    /// An idempotent create answered again: the user as it was created.
    Replayed(User),
    Done,
}

impl WriteOutcome {
    pub(super) fn user(self) -> Result<User, StoreError> {
        match self {
            Self::User(user) => Ok(user),
            Self::Replayed(_) | Self::Done => Err(StoreError::internal("writer returned no user")),
        }
    }
}

pub(super) type Answer = Result<WriteOutcome, StoreError>;

/// Where one write's answer goes.
pub(super) struct Reply {
    sender: oneshot::Sender<Answer>,
    relay: Option<Arc<Relay>>,
}

/// Waits for the answer of the write a [`Reply`] was made for.
pub(super) type Answered = oneshot::Receiver<Answer>;

impl Reply {
    /// A reply for a write queued from this thread.
    pub(super) fn new() -> (Self, Answered) {
        let (sender, answer) = oneshot::channel();
        let relay = this_threads_relay();
        (Self { sender, relay }, answer)
    }
}

/// Sends each answer, waking each worker thread once.
pub(super) fn deliver(answers: impl IntoIterator<Item = (Reply, Answer)>) {
    let mut woken: Vec<Arc<Relay>> = Vec::new();
    for (reply, answer) in answers {
        let Some(relay) = reply.relay else {
            // The requester may have gone away; its write is done anyway.
            let _ = reply.sender.send(answer);
            continue;
        };
        match relay.lock().as_mut() {
            Some(queue) => queue.push((reply.sender, answer)),
            None => {
                let _ = reply.sender.send(answer);
                continue;
            }
        }
        if !woken.iter().any(|r| Arc::ptr_eq(r, &relay)) {
            woken.push(relay);
        }
    }
    for relay in woken {
        relay.notify.notify_one();
    }
}

type Queue = Vec<(oneshot::Sender<Answer>, Answer)>;

/// One worker thread's answers waiting to be handed out there.
pub(super) struct Relay {
    /// `None` once the task that hands them out is gone.
    queue: Mutex<Option<Queue>>,
    notify: Notify,
}

impl Relay {
    fn lock(&self) -> MutexGuard<'_, Option<Queue>> {
        // Only pushes and swaps happen under the lock; nothing can panic
        // half-way, so a poisoned lock holds a consistent queue.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_open(&self) -> bool {
        self.lock().is_some()
    }
}

thread_local! {
    static RELAY: RefCell<Option<Arc<Relay>>> = const { RefCell::new(None) };
}

/// Gives this thread a relay, if it has none running. Call it on an HTTP
/// worker thread from inside its runtime: it spawns a task on the thread's
/// `tokio::task::LocalSet` (actix's workers run one).
pub fn start_relay_on_this_thread() {
    RELAY.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.as_ref().is_some_and(|relay| relay.is_open()) {
            return;
        }
        let relay = Arc::new(Relay {
            queue: Mutex::new(Some(Vec::new())),
            notify: Notify::new(),
        });
        tokio::task::spawn_local(hand_out(CloseOnDrop(Arc::clone(&relay))));
        *slot = Some(relay);
    });
}

/// This thread's relay, if it has one running.
fn this_threads_relay() -> Option<Arc<Relay>> {
    RELAY.with(|slot| slot.borrow().as_ref().filter(|r| r.is_open()).cloned())
}

/// The task on a worker thread that hands out what the writer queued.
async fn hand_out(closer: CloseOnDrop) {
    let relay = &closer.0;
    let mut taken = Vec::new();
    loop {
        relay.notify.notified().await;
        if let Some(queue) = relay.lock().as_mut() {
            std::mem::swap(queue, &mut taken);
        }
        for (sender, answer) in taken.drain(..) {
            let _ = sender.send(answer);
        }
    }
}

/// When the runtime drops the task (even one it never ran), answers still
/// queued are sent directly and later ones bypass the relay.
struct CloseOnDrop(Arc<Relay>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let queued = self.0.lock().take().unwrap_or_default();
        for (sender, answer) in queued {
            let _ = sender.send(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done() -> Answer {
        Ok(WriteOutcome::Done)
    }

    /// A runtime with a `LocalSet`, as each actix worker thread has.
    fn worker_thread() -> (tokio::runtime::Runtime, tokio::task::LocalSet) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        (runtime, tokio::task::LocalSet::new())
    }

    #[test]
    fn a_batch_for_a_worker_thread_is_queued_whole_then_handed_out() {
        let (runtime, local) = worker_thread();
        local.block_on(&runtime, a_batch_is_queued_whole_then_handed_out());
    }

    async fn a_batch_is_queued_whole_then_handed_out() {
        start_relay_on_this_thread();
        start_relay_on_this_thread(); // idempotent: one relay per thread
        let (first, first_answer) = Reply::new();
        let relay = first.relay.clone().expect("this thread has a relay");
        let mut replies = vec![(first, done())];
        let mut answers = vec![first_answer];
        for _ in 0..20 {
            let (reply, answer) = Reply::new();
            assert!(Arc::ptr_eq(reply.relay.as_ref().unwrap(), &relay));
            replies.push((reply, done()));
            answers.push(answer);
        }
        // Delivered from another thread, as the writer does; this thread
        // has not yielded, so the relay task has not run yet.
        std::thread::spawn(move || deliver(replies)).join().unwrap();
        assert_eq!(relay.lock().as_ref().map(Vec::len), Some(21));
        for answer in answers {
            assert!(matches!(answer.await, Ok(Ok(WriteOutcome::Done))));
        }
        assert_eq!(relay.lock().as_ref().map(Vec::len), Some(0));
    }

    #[tokio::test]
    async fn answers_for_a_thread_without_a_relay_are_sent_directly() {
        let (reply, answer) = Reply::new();
        assert!(reply.relay.is_none());
        std::thread::spawn(move || deliver([(reply, done())]))
            .join()
            .unwrap();
        assert!(matches!(answer.await, Ok(Ok(WriteOutcome::Done))));
    }

    #[test]
    fn answers_for_a_relay_whose_runtime_ended_are_sent_directly() {
        let (runtime, local) = worker_thread();
        let (reply, answer) = local.block_on(&runtime, async {
            start_relay_on_this_thread();
            Reply::new()
        });
        let relay = reply.relay.clone().expect("this thread has a relay");
        assert!(relay.is_open());
        drop(local);
        assert!(!relay.is_open());
        assert!(this_threads_relay().is_none());
        deliver([(reply, done())]);
        assert!(matches!(answer.blocking_recv(), Ok(Ok(WriteOutcome::Done))));
        // A later runtime on the same thread starts a fresh one.
        let (runtime, local) = worker_thread();
        local.block_on(&runtime, async { start_relay_on_this_thread() });
        assert!(this_threads_relay().is_some_and(|fresh| fresh.is_open()));
    }
}

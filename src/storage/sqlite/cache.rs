//! A bounded cache of users by id in front of `GET /users/{id}`, kept exact
//! by the writer thread.
//!
//! Why it exists: every commit makes SQLite drop each read connection's whole
//! page cache (a reader cannot tell which pages changed), so under a mixed
//! load every GET read its pages again through the kernel and took POSIX
//! locks on the `-shm` file. Profiled in the 90/10 mix, that was about a
//! third of each GET's cost (BENCHMARKS.md).
//!
//! Why it is exact: only the writer changes users. After each commit — after
//! its fsync, and before it answers anyone — it replaces the cached users it
//! changed, takes the ones it deleted out, and records which ids that commit
//! changed. A read that missed takes a [`Ticket`] before its read
//! transaction starts, and its result goes in only if no commit since the
//! ticket changed that id (or could have: the record of changes is bounded,
//! and an older ticket is refused). So the cache never holds a value the
//! database has moved past, and never one a power cut could still undo. Only
//! reads add users, so what a write-heavy load creates does not push out
//! what is being read.
//!
//! This holds because this process is the database's only writer of
//! existing users: `import`, the one other program that writes to a served
//! file, only adds users there, which no entry can contradict (misses are
//! not cached); its `--update-existing` is refused while a caching server
//! holds the file (`claim.rs`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use crate::domain::{User, UserId};

/// Ids changed by recent commits, kept so a late fill can be checked.
const CHANGES_KEPT: usize = 4096;

/// What a commit did to one user.
#[derive(Debug)]
pub(super) enum Change<'a> {
    Written(&'a User),
    Deleted(UserId),
}

/// Taken before a read that may fill the cache: the commits seen so far.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket(u64);

pub(super) struct UserCache {
    inner: Mutex<Inner>,
}

/// Entries live in `slots`; `index` finds them by id. Eviction is CLOCK (an
/// approximation of least-recently-used): a read marks its slot, and the
/// hand sweeping for room spares marked slots once. One entry is evicted per
/// insert, so no request pays for freeing many at once.
struct Inner {
    index: HashMap<UserId, usize>,
    slots: Vec<Slot>,
    capacity: usize,
    hand: usize,
    /// Commits applied.
    commits: u64,
    /// `(commit, id)` of recent changes, oldest first.
    changes: VecDeque<(u64, UserId)>,
    /// Changes up to this commit were dropped from `changes`.
    forgotten: u64,
}

struct Slot {
    user: Option<User>,
    read: bool,
}

impl UserCache {
    /// A cache of at most `capacity` users; `None` for 0 (no cache).
    pub(super) fn new(capacity: usize) -> Option<Self> {
        (capacity > 0).then(|| Self {
            inner: Mutex::new(Inner {
                index: HashMap::new(),
                slots: Vec::new(),
                capacity,
                hand: 0,
                commits: 0,
                changes: VecDeque::new(),
                forgotten: 0,
            }),
        })
    }

    pub(super) fn get(&self, id: UserId) -> Option<User> {
        let mut inner = self.lock();
        let at = *inner.index.get(&id)?;
        let slot = &mut inner.slots[at];
        slot.read = true;
        slot.user.clone()
    }

    /// Call before the read whose result may [`fill`](Self::fill) the cache.
    pub(super) fn ticket(&self) -> Ticket {
        Ticket(self.lock().commits)
    }

    /// Keeps `user`, read after `ticket` was taken, unless a commit since then
    /// changed it.
    pub(super) fn fill(&self, ticket: Ticket, user: &User) {
        let mut inner = self.lock();
        if ticket.0 < inner.forgotten || inner.index.contains_key(&user.id) {
            return;
        }
        let changed_since = inner
            .changes
            .iter()
            .rev()
            .take_while(|(commit, _)| *commit > ticket.0)
            .any(|(_, id)| *id == user.id);
        if !changed_since {
            let evicted = inner.insert(user.clone());
            drop(inner);
            drop(evicted);
        }
    }

    /// Called by the writer after a commit is durable, before it replies.
    pub(super) fn committed<'a>(&self, changes: impl IntoIterator<Item = Change<'a>>) {
        let mut inner = self.lock();
        inner.commits += 1;
        let commit = inner.commits;
        for change in changes {
            let id = match change {
                Change::Written(user) => {
                    if let Some(&at) = inner.index.get(&user.id) {
                        inner.slots[at].user = Some(user.clone());
                    }
                    user.id
                }
                Change::Deleted(id) => {
                    // The hand takes the emptied slot when it next reaches
                    // it, without evicting anyone.
                    if let Some(at) = inner.index.remove(&id) {
                        inner.slots[at] = Slot {
                            user: None,
                            read: false,
                        };
                    }
                    id
                }
            };
            if inner.changes.len() == CHANGES_KEPT {
                if let Some((dropped, _)) = inner.changes.pop_front() {
                    inner.forgotten = dropped;
                }
            }
            inner.changes.push_back((commit, id));
        }
    }

    /// Forgets everything and refuses every outstanding ticket: for when the
    /// writer cannot tell what a commit changed (it panicked mid-batch).
    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.index.clear();
        inner.slots.clear();
        inner.hand = 0;
        inner.changes.clear();
        inner.commits += 1;
        inner.forgotten = inner.commits;
    }

    /// Users held now, after checking that the index and the slots agree.
    #[cfg(test)]
    fn len(&self) -> usize {
        let inner = self.lock();
        for (id, &at) in &inner.index {
            assert_eq!(inner.slots[at].user.as_ref().map(|u| u.id), Some(*id));
        }
        let held = inner
            .slots
            .iter()
            .filter(|slot| slot.user.is_some())
            .count();
        assert_eq!(held, inner.index.len(), "a slot no id leads to");
        held
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the cache consistent enough
        // (at worst a slot the index no longer names), so go on using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// Stores `user`, evicting one entry if full; returns the evicted user so
    /// it is freed after the lock is released.
    fn insert(&mut self, user: User) -> Option<User> {
        let id = user.id;
        let fresh = Slot {
            user: Some(user),
            read: false,
        };
        if self.slots.len() < self.capacity {
            self.slots.push(fresh);
            self.index.insert(id, self.slots.len() - 1);
            return None;
        }
        loop {
            let at = self.hand;
            self.hand = (self.hand + 1) % self.slots.len();
            let slot = &mut self.slots[at];
            if std::mem::take(&mut slot.read) {
                continue;
            }
            let evicted = std::mem::replace(slot, fresh).user;
            if let Some(old) = &evicted {
                self.index.remove(&old.id);
            }
            self.index.insert(id, at);
            return evicted;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, NewUser, Timestamp, UserName};

    fn user(n: usize) -> User {
        User::create(
            NewUser {
                email: Email::parse(&format!("c{n}@example.com")).unwrap(),
                name: UserName::parse(&format!("C {n}")).unwrap(),
            },
            Timestamp::now(),
        )
    }

    fn renamed(user: &User, name: &str) -> User {
        User {
            name: UserName::parse(name).unwrap(),
            ..user.clone()
        }
    }

    #[test]
    fn a_committed_write_replaces_a_cached_user_and_a_delete_removes_it() {
        let cache = UserCache::new(10).unwrap();
        let ada = user(1);
        cache.committed([Change::Written(&ada)]);
        assert_eq!(
            cache.get(ada.id),
            None,
            "writes alone do not fill the cache"
        );
        cache.fill(cache.ticket(), &ada);
        let renamed = renamed(&ada, "Ada L");
        cache.committed([Change::Written(&renamed)]);
        assert_eq!(cache.get(ada.id), Some(renamed));
        cache.committed([Change::Deleted(ada.id)]);
        assert_eq!(cache.get(ada.id), None);
    }

    #[test]
    fn a_read_that_raced_a_commit_to_the_same_user_is_not_kept() {
        let cache = UserCache::new(10).unwrap();
        let ada = user(1);
        let ticket = cache.ticket();
        // The read saw the old row; meanwhile a commit renamed and another
        // deleted her.
        cache.committed([Change::Written(&renamed(&ada, "New"))]);
        cache.committed([Change::Deleted(ada.id)]);
        cache.fill(ticket, &ada);
        assert_eq!(cache.get(ada.id), None, "a deleted user came back");

        let bob = user(2);
        cache.fill(cache.ticket(), &bob);
        let ticket = cache.ticket();
        let newer = renamed(&bob, "Bobby");
        cache.committed([Change::Written(&newer)]);
        cache.fill(ticket, &bob);
        assert_eq!(
            cache.get(bob.id),
            Some(newer),
            "an older row replaced a newer one"
        );
    }

    #[test]
    fn a_read_is_kept_when_commits_since_its_ticket_changed_other_users() {
        let cache = UserCache::new(10).unwrap();
        let ada = user(1);
        let ticket = cache.ticket();
        cache.committed([Change::Written(&user(2)), Change::Deleted(user(3).id)]);
        cache.fill(ticket, &ada);
        assert_eq!(cache.get(ada.id), Some(ada));
    }

    #[test]
    fn a_ticket_older_than_the_record_of_changes_is_refused() {
        let cache = UserCache::new(10).unwrap();
        let ada = user(1);
        let ticket = cache.ticket();
        let others: Vec<User> = (0..=CHANGES_KEPT).map(|n| user(n + 10)).collect();
        for other in &others {
            cache.committed([Change::Deleted(other.id)]);
        }
        cache.fill(ticket, &ada);
        assert_eq!(cache.get(ada.id), None);
    }

    #[test]
    fn the_cache_stays_within_its_capacity_and_keeps_what_is_read() {
        let cache = UserCache::new(100).unwrap();
        let hot = user(0);
        cache.fill(cache.ticket(), &hot);
        for n in 1..1_000 {
            cache.fill(cache.ticket(), &user(n));
            assert!(cache.len() <= 100, "{} entries", cache.len());
            assert!(cache.get(hot.id).is_some(), "a user read often was evicted");
        }
        assert!(UserCache::new(0).is_none());
    }

    #[test]
    fn slots_emptied_by_deletes_are_reused_and_the_index_stays_right() {
        let cache = UserCache::new(50).unwrap();
        let users: Vec<User> = (0..200).map(user).collect();
        for (n, user) in users.iter().enumerate() {
            cache.fill(cache.ticket(), user);
            if n % 3 == 0 {
                cache.committed([Change::Deleted(users[n / 2].id)]);
            }
            assert!(cache.len() <= 50);
        }
        for user in &users {
            if let Some(cached) = cache.get(user.id) {
                assert_eq!(&cached, user);
            }
        }
    }

    #[test]
    fn clearing_refuses_reads_that_started_before() {
        let cache = UserCache::new(10).unwrap();
        let ada = user(1);
        cache.fill(cache.ticket(), &ada);
        let ticket = cache.ticket();
        cache.clear();
        assert_eq!(cache.get(ada.id), None);
        cache.fill(ticket, &ada);
        assert_eq!(cache.get(ada.id), None);
        cache.fill(cache.ticket(), &ada);
        assert_eq!(cache.get(ada.id), Some(ada));
    }
}

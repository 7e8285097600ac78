//! The storage contract, written once against `UserStore` and run on every
//! backend: `sqlite::*` on a fresh file, `postgres::*` on a fresh schema of
//! `TEST_DATABASE_URL` (skipped, with one line saying so, when unset).

use crate::support;

use user_service::domain::{
    Email, EntityTag, IdempotencyKey, KeyOwner, NewUser, RetryableCreate, SearchTerm, TagCondition,
    Timestamp, UserName, UserPatch, Version,
};
use user_service::storage::postgres::{PgOptions, PgStore};
use user_service::storage::sqlite::{Durability, SqliteOptions, SqliteStore};
use user_service::storage::StorageMetrics;
use user_service::storage::{Created, ListQuery, StoreError, UserStore, DEFAULT_KEY_TTL};

fn new_user(email: &str, name: &str) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap(),
        name: UserName::parse(name).unwrap(),
    }
}

fn page(limit: u32) -> ListQuery {
    ListQuery::first(limit)
}

async fn create_then_get_returns_the_same_user(store: impl UserStore) {
    let created = store
        .create(new_user("ada@example.com", "Ada"))
        .await
        .unwrap();
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(store.get(created.id).await.unwrap(), created);
}

async fn a_taken_email_is_a_conflict_on_email(store: impl UserStore) {
    store
        .create(new_user("ada@example.com", "Ada"))
        .await
        .unwrap();
    let error = store
        .create(new_user("ADA@example.com", "Other"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict { field: "email" }),
        "{error:?}"
    );
}

async fn unknown_ids_are_not_found(store: impl UserStore) {
    let ghost = store
        .create(new_user("ghost@example.com", "Ghost"))
        .await
        .unwrap();
    store.delete(ghost.id, TagCondition::Any).await.unwrap();
    assert!(matches!(
        store.get(ghost.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(ghost.id, TagCondition::Any).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .update(ghost.id, UserPatch::default(), TagCondition::Any)
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn an_update_changes_only_what_it_names_and_equal_values_change_nothing(
    store: impl UserStore,
) {
    let ada = store
        .create(new_user("ada@example.com", "Ada"))
        .await
        .unwrap();
    let same = store
        .update(
            ada.id,
            UserPatch {
                email: Some(Email::parse("ada@example.com").unwrap()),
                name: None,
            },
            TagCondition::Any,
        )
        .await
        .unwrap();
    assert_eq!(same, ada, "equal values do not move updated_at");
    let renamed = store
        .update(
            ada.id,
            UserPatch {
                email: None,
                name: Some(UserName::parse("Countess").unwrap()),
            },
            TagCondition::Any,
        )
        .await
        .unwrap();
    assert_eq!(renamed.email, ada.email);
    assert_eq!(renamed.name.as_str(), "Countess");
    assert_eq!(renamed.created_at, ada.created_at);
    assert!(renamed.updated_at > ada.updated_at);
    assert_eq!(store.get(ada.id).await.unwrap(), renamed);
}

async fn an_update_to_a_taken_email_is_a_conflict_and_changes_nothing(store: impl UserStore) {
    let ada = store
        .create(new_user("ada@example.com", "Ada"))
        .await
        .unwrap();
    store
        .create(new_user("bob@example.com", "Bob"))
        .await
        .unwrap();
    let error = store
        .update(
            ada.id,
            UserPatch {
                email: Some(Email::parse("bob@example.com").unwrap()),
                name: Some(UserName::parse("Not Ada").unwrap()),
            },
            TagCondition::Any,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict { field: "email" }),
        "{error:?}"
    );
    assert_eq!(store.get(ada.id).await.unwrap(), ada);
}

async fn pages_are_newest_first_and_cursors_continue_them(store: impl UserStore) {
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            store
                .create(new_user(&format!("u{i}@example.com"), "U"))
                .await
                .unwrap(),
        );
    }
    created.reverse();
    let mut seen = Vec::new();
    let mut query = page(3);
    loop {
        let result = store.list(query.clone()).await.unwrap();
        assert!(result.users.len() <= 3);
        seen.extend(result.users);
        match result.next {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, created);
}

async fn the_email_filter_finds_one_user_or_none(store: impl UserStore) {
    let ada = store
        .create(new_user("ada@example.com", "Ada"))
        .await
        .unwrap();
    store
        .create(new_user("bob@example.com", "Bob"))
        .await
        .unwrap();
    let mut query = page(10);
    query.email = Some(Email::parse(" ADA@example.com").unwrap());
    let found = store.list(query.clone()).await.unwrap();
    assert_eq!((found.users, found.next), (vec![ada], None));
    query.email = Some(Email::parse("nobody@example.com").unwrap());
    assert!(store.list(query).await.unwrap().users.is_empty());
}

async fn timestamps_keep_microseconds(store: impl UserStore) {
    let before = Timestamp::now();
    let user = store
        .create(new_user("ada@example.com", "Ada"))
        .await
        .unwrap();
    let stored = store.get(user.id).await.unwrap();
    assert_eq!(stored.created_at, user.created_at);
    assert!(stored.created_at >= before);
}

async fn a_working_database_is_ready(store: impl UserStore) {
    store.ready().await.unwrap();
}

/// Readers hammer the users a writer keeps changing (the SQLite store serves
/// them from its cache): every acknowledged change is what the next read
/// returns, a deleted user stays gone, and no reader ever sees a user go
/// back to an older version.
async fn reads_racing_writes_never_go_back_in_time(store: impl UserStore) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let mut ids = Vec::new();
    for n in 0..8 {
        let user = store
            .create(new_user(&format!("race{n}@example.com"), "v0"))
            .await
            .unwrap();
        ids.push(user.id);
    }
    let version = |name: &str| name.trim_start_matches('v').parse::<u32>().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for reader in 0..4 {
        let (store, ids, done) = (store.clone(), ids.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut seen = vec![0; ids.len()];
            let mut reads = 0;
            let mut n = reader;
            while !done.load(Ordering::Relaxed) {
                n = (n * 7 + 3) % ids.len();
                match store.get(ids[n]).await {
                    Ok(user) => {
                        let v = version(user.name.as_str());
                        assert!(v >= seen[n], "user {n} went back from v{} to v{v}", seen[n]);
                        seen[n] = v;
                    }
                    Err(StoreError::NotFound) => seen[n] = u32::MAX,
                    Err(e) => panic!("{e:?}"),
                }
                reads += 1;
                tokio::task::yield_now().await;
            }
            reads
        }));
    }
    for round in 1..=300u32 {
        let n = round as usize % ids.len();
        let patch = UserPatch {
            name: Some(UserName::parse(&format!("v{round}")).unwrap()),
            ..UserPatch::default()
        };
        let written = store
            .update(ids[n], patch, TagCondition::Any)
            .await
            .unwrap();
        assert_eq!(store.get(ids[n]).await.unwrap(), written);
    }
    // Deleting gives the "version" u32::MAX: a reader that saw it and then
    // sees the user again fails above.
    for &id in &ids[..4] {
        store.delete(id, TagCondition::Any).await.unwrap();
        assert!(matches!(store.get(id).await, Err(StoreError::NotFound)));
    }
    for _ in 0..200 {
        for &id in &ids[..4] {
            assert!(matches!(store.get(id).await, Err(StoreError::NotFound)));
        }
        tokio::task::yield_now().await;
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.await.unwrap() > 0, "a reader never ran");
    }
}

/// Every search finds exactly the users the rule picks
/// (`SearchTerm::matches`), newest first, for terms of one to five
/// characters cut from the users' own words, in both cases, and a few that
/// match nobody. The users have words that start alike in another case,
/// accented letters, digits and repeated words, so both the index's
/// trigrams and its word starts are tried. It waits past the SQLite
/// writer's pause first, so the users are searched in the index, not in
/// the list of users not yet moved into it.
async fn every_search_finds_exactly_the_users_the_rule_picks(store: impl UserStore) {
    const NAMES: [&str; 10] = [
        "Ada Lovelace",
        "ada Adams",
        "Ülla Über",
        "über Ulla",
        "Zoë O'Brien",
        "Straße Strauss",
        "Bob 42",
        "Mül Müller",
        "Ann-Marie Anders",
        "lo LO Lo",
    ];
    const DOMAINS: [&str; 3] = ["example.com", "ex.org", "adams.io"];
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut users = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        for (j, domain) in DOMAINS.iter().enumerate() {
            let local = words(name).join(".").to_lowercase();
            let email = format!("{local}{i}{j}@{domain}");
            users.push(store.create(new_user(&email, name)).await.unwrap());
        }
    }
    users.reverse();
    let mut terms =
        std::collections::BTreeSet::from(["zzz", "qx", "ülx", "a.lo", "o'b"].map(String::from));
    for user in &users {
        for word in words(user.name.as_str())
            .into_iter()
            .chain(words(user.email.as_str()))
        {
            let chars: Vec<char> = word.chars().collect();
            for len in 1..=5.min(chars.len()) {
                for start in [0, chars.len() - len] {
                    let term: String = chars[start..start + len].iter().collect();
                    terms.insert(term.to_uppercase());
                    terms.insert(term);
                }
            }
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for raw in &terms {
        let term = SearchTerm::parse(raw).unwrap();
        let expected: Vec<_> = users
            .iter()
            .filter(|u| term.matches(u))
            .map(|u| u.id)
            .collect();
        let mut query = page(1000);
        query.search = Some(term);
        let found = store.list(query).await.unwrap();
        assert!(found.next.is_none());
        let found: Vec<_> = found.users.iter().map(|u| u.id).collect();
        assert_eq!(found, expected, "q={raw:?}");
    }
    assert!(terms.len() > 300, "{} terms", terms.len());
}

fn if_match(user: &user_service::domain::User) -> TagCondition {
    TagCondition::parse([EntityTag::of(user).as_str().as_bytes()])
        .unwrap()
        .unwrap()
}

fn rename(name: &str) -> UserPatch {
    UserPatch {
        email: None,
        name: Some(UserName::parse(name).unwrap()),
    }
}

async fn every_change_counts_a_version_and_a_stale_tag_changes_nothing(store: impl UserStore) {
    let ada = store
        .create(new_user("ada@example.com", "Ada"))
        .await
        .unwrap();
    assert_eq!(ada.version, Version::FIRST);
    let same = store
        .update(ada.id, rename("Ada"), if_match(&ada))
        .await
        .unwrap();
    assert_eq!(
        same, ada,
        "a no-op moves neither updated_at nor the version"
    );
    let countess = store
        .update(ada.id, rename("Countess"), if_match(&ada))
        .await
        .unwrap();
    assert_eq!(countess.version, Version::FIRST.next());
    assert_eq!(store.get(ada.id).await.unwrap(), countess);
    // The tag read before the change is stale now, for updates and deletes.
    for attempt in [
        store
            .update(ada.id, rename("Lovelace"), if_match(&ada))
            .await
            .map(|_| ()),
        store.delete(ada.id, if_match(&ada)).await,
    ] {
        assert!(
            matches!(attempt, Err(StoreError::PreconditionFailed)),
            "{attempt:?}"
        );
    }
    assert_eq!(store.get(ada.id).await.unwrap(), countess);
    // An unknown user is not found, whatever the condition.
    store.delete(ada.id, if_match(&countess)).await.unwrap();
    assert!(matches!(
        store.update(ada.id, rename("X"), if_match(&countess)).await,
        Err(StoreError::NotFound)
    ));
}

async fn of_two_updates_with_one_tag_exactly_one_wins(store: impl UserStore) {
    let ada = store
        .create(new_user("ada@example.com", "Ada"))
        .await
        .unwrap();
    for round in 0..10 {
        let current = store.get(ada.id).await.unwrap();
        let racers: Vec<_> = (0..2)
            .map(|n| {
                let store = store.clone();
                let expected = if_match(&current);
                tokio::spawn(async move {
                    store
                        .update(ada.id, rename(&format!("R{round}-{n}")), expected)
                        .await
                })
            })
            .collect();
        let mut won = 0;
        for racer in racers {
            match racer.await.unwrap() {
                Ok(_) => won += 1,
                Err(StoreError::PreconditionFailed) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(won, 1, "round {round}");
        assert_eq!(
            store.get(ada.id).await.unwrap().version.get(),
            current.version.get() + 1
        );
    }
}

fn retry(key: &str) -> RetryableCreate {
    RetryableCreate {
        owner: KeyOwner::ANYONE,
        key: IdempotencyKey::parse(key.as_bytes()).unwrap(),
    }
}

async fn a_retried_create_answers_the_first_user_and_creates_nothing(store: impl UserStore) {
    let Created::New(first) = store
        .create_retryable(new_user("ada@example.com", "Ada"), retry("k1"))
        .await
        .unwrap()
    else {
        panic!("the first request creates");
    };
    store
        .update(first.id, rename("Countess"), TagCondition::Any)
        .await
        .unwrap();
    // The same request, as the client may resend it (email case, spaces).
    let again = store
        .create_retryable(new_user("ADA@example.com ", " Ada"), retry("k1"))
        .await
        .unwrap();
    assert_eq!(
        again,
        Created::Replayed(first.clone()),
        "the answer as first sent"
    );
    assert!(store
        .key_is_kept(KeyOwner::ANYONE, retry("k1").key)
        .await
        .unwrap());
    assert!(!store
        .key_is_kept(KeyOwner::ANYONE, retry("k2").key)
        .await
        .unwrap());
    let other = store
        .create_retryable(new_user("bob@example.com", "Bob"), retry("k1"))
        .await;
    assert!(matches!(other, Err(StoreError::KeyReused)), "{other:?}");
    // Another owner's key of the same name is another key.
    let owner = KeyOwner::from_digest([7; 16]);
    let theirs = store
        .create_retryable(
            new_user("bob@example.com", "Bob"),
            RetryableCreate {
                owner,
                ..retry("k1")
            },
        )
        .await
        .unwrap();
    assert!(matches!(theirs, Created::New(_)));
    // A failed create stores no key: the retry is judged afresh.
    let taken = store
        .create_retryable(new_user("bob@example.com", "Bob"), retry("k3"))
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict { .. })),
        "{taken:?}"
    );
    assert!(!store
        .key_is_kept(KeyOwner::ANYONE, retry("k3").key)
        .await
        .unwrap());
    let page = store.list(page(10)).await.unwrap();
    assert_eq!(page.users.len(), 2);
}

async fn concurrent_creates_with_one_key_create_one_user(store: impl UserStore) {
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_retryable(new_user("ada@example.com", "Ada"), retry("same"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut new = Vec::new();
    let mut replayed = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            Created::New(user) => new.push(user),
            Created::Replayed(user) => replayed.push(user),
        }
    }
    assert_eq!(new.len(), 1);
    assert!(replayed.iter().all(|user| *user == new[0]));
    assert_eq!(store.list(page(10)).await.unwrap().users, new);
}

/// Declares each contract as a test on every backend.
macro_rules! contract_tests {
    ($($contract:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $contract() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = super::sqlite_store(&dir);
                    super::$contract(store.clone()).await;
                    // Closing waits for the writer thread: not on a worker.
                    tokio::task::spawn_blocking(move || store.close()).await.unwrap();
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $contract() {
                    let Some(store) = super::postgres_store().await else {
                        return;
                    };
                    super::$contract(store.clone()).await;
                    store.close();
                }
            )*
        }
        /// Once more over `sslmode=verify-full` to a server that requires
        /// TLS (`TEST_DATABASE_TLS_URL`).
        mod postgres_tls {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $contract() {
                    let Some(store) = super::postgres_tls_store().await else {
                        return;
                    };
                    super::$contract(store.clone()).await;
                    store.close();
                }
            )*
        }
    };
}

contract_tests!(
    create_then_get_returns_the_same_user,
    a_taken_email_is_a_conflict_on_email,
    unknown_ids_are_not_found,
    an_update_changes_only_what_it_names_and_equal_values_change_nothing,
    an_update_to_a_taken_email_is_a_conflict_and_changes_nothing,
    pages_are_newest_first_and_cursors_continue_them,
    the_email_filter_finds_one_user_or_none,
    timestamps_keep_microseconds,
    a_working_database_is_ready,
    reads_racing_writes_never_go_back_in_time,
    every_change_counts_a_version_and_a_stale_tag_changes_nothing,
    of_two_updates_with_one_tag_exactly_one_wins,
    a_retried_create_answers_the_first_user_and_creates_nothing,
    concurrent_creates_with_one_key_create_one_user,
    every_search_finds_exactly_the_users_the_rule_picks,
);

fn sqlite_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&sqlite_options(dir)).unwrap()
}

fn sqlite_options(dir: &tempfile::TempDir) -> SqliteOptions {
    SqliteOptions {
        path: dir.path().join("users.db"),
        durability: Durability::Full,
        max_size: None,
        readers: 4,
        read_cache: 1_000,
        mmap_size: user_service::config::DEFAULT_MMAP_SIZE,
        serving: false,
        backups: None,
        metrics: StorageMetrics::new(),
        key_ttl: DEFAULT_KEY_TTL,
    }
}

/// A store on a fresh schema, or `None` (said once) without `TEST_DATABASE_URL`.
async fn postgres_store() -> Option<PgStore> {
    if support::skipped("the PostgreSQL store contract tests (postgres::*)") {
        return None;
    }
    let (url, _) = support::fresh_schema_named().await;
    Some(
        PgStore::connect(&PgOptions {
            url,
            pool_size: 4,
            metrics: StorageMetrics::new(),
            key_ttl: DEFAULT_KEY_TTL,
        })
        .await
        .unwrap(),
    )
}

/// A store on a fresh schema over verified TLS, or `None` (said once)
/// without `TEST_DATABASE_TLS_URL`.
async fn postgres_tls_store() -> Option<PgStore> {
    let base = crate::postgres_tls::tls_url()?;
    let (url, _) = support::fresh_schema_in(&base).await;
    Some(
        PgStore::connect(&PgOptions {
            url,
            pool_size: 4,
            metrics: StorageMetrics::new(),
            key_ttl: DEFAULT_KEY_TTL,
        })
        .await
        .unwrap(),
    )
}

/// The checkpointer and the writer's catch-up keep the WAL from growing
/// under a steady load of writes and reads (the read anchor holds a WAL
/// read slot nearly all the time, the inline reads often): without a restart the WAL
/// would hold every frame written, ~4 pages per create (measured: 64 MB for
/// 4,000 creates with the catch-up checkpoint turned off). A restart can
/// still miss its moment (a long read on the WAL just then) and wait for
/// the next checkpoint, so the bound leaves room for a few missed ones:
/// measured 24-25 MB, 36 MB with both cores busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_restarts_under_a_steady_load_of_writes_and_reads() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    const CREATES: usize = 16_000;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&SqliteOptions {
        durability: Durability::Normal,
        read_cache: 0,
        // Reads with pread, as `--mmap-size 0`.
        mmap_size: 0,
        serving: true,
        backups: None,
        ..sqlite_options(&dir)
    })
    .unwrap();
    let first = store
        .create(new_user("first@example.com", "First"))
        .await
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut reads = 0u64;
            while !done.load(Ordering::Relaxed) {
                store.get(first.id).await.unwrap();
                reads += 1;
                tokio::task::yield_now().await;
            }
            reads
        })
    };
    for n in 0..CREATES {
        let user = store
            .create(new_user(&format!("steady{n}@example.com"), "Steady"))
            .await
            .unwrap();
        assert_eq!(store.get(user.id).await.unwrap(), user);
    }
    done.store(true, Ordering::Relaxed);
    assert!(reader.await.unwrap() > 0);
    let wal = std::fs::metadata(dir.path().join("users.db-wal"))
        .unwrap()
        .len();
    let page = 4096 + 24;
    let unrestarted = (4 * CREATES * page) as u64;
    eprintln!("WAL {wal} bytes; {unrestarted} without a restart");
    assert!(
        wal < unrestarted / 3,
        "the WAL grew to {wal} bytes: it was not restarted"
    );
    tokio::task::spawn_blocking(move || store.close())
        .await
        .unwrap();
}

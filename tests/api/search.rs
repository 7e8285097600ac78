//! `GET /users` with `q`, `sort`, `created_after` and `created_before`
//! (API.md "Listing"), against a real server on each backend.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_error, next_link, TestApp};

fn field(users: &[Value], name: &str) -> Vec<String> {
    users
        .iter()
        .map(|u| u[name].as_str().unwrap().to_owned())
        .collect()
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn search(app: &TestApp, q: &str) -> Vec<String> {
    let (users, _) = app.walk(&format!("/users?limit=2&q={}", encode(q))).await;
    let mut emails = field(&users, "email");
    emails.sort();
    emails
}

/// People whose names and emails exercise case, accents, word boundaries
/// and FTS5 syntax.
async fn people(app: &TestApp) {
    for (email, name) in [
        ("ada.byron@example.com", "Ada Lovelace"),
        ("grace@navy.example", "Grace Hopper"),
        ("k.mueller@example.org", "Karl Müller"),
        ("mueller.anna@example.org", "anna MÜLLER"),
        ("quote@example.com", "Say \"OR\" NEAR(x) *star*"),
        ("zoe@example.net", "Zoë O'Brien"),
    ] {
        app.create_user(email, name).await;
    }
}

on_every_backend! {
    #[tokio::test]
    async fn a_search_matches_a_substring_of_the_name_or_email_ignoring_case() {
        let app = spawn_app().await;
        people(&app).await;
        assert_eq!(search(&app, "LOVELACE").await, ["ada.byron@example.com"]);
        assert_eq!(search(&app, "velac").await, ["ada.byron@example.com"]);
        assert_eq!(search(&app, "byron@ex").await, ["ada.byron@example.com"]);
        assert_eq!(
            search(&app, "müller").await,
            ["k.mueller@example.org", "mueller.anna@example.org"]
        );
        assert_eq!(
            search(&app, "  example.org ").await,
            ["k.mueller@example.org", "mueller.anna@example.org"]
        );
        assert_eq!(search(&app, "a lo").await, ["ada.byron@example.com"]);
        assert!(search(&app, "nobody").await.is_empty());
        // Name and email are not one text: nothing spans the two.
        assert!(search(&app, "hopper grace").await.is_empty());
    }

    #[tokio::test]
    async fn one_or_two_characters_match_the_start_of_a_word() {
        let app = spawn_app().await;
        people(&app).await;
        assert_eq!(search(&app, "lo").await, ["ada.byron@example.com"]);
        assert_eq!(search(&app, "By").await, ["ada.byron@example.com"]);
        // O'Brien, "OR", and the "org" of two emails.
        assert_eq!(
            search(&app, "o").await,
            [
                "k.mueller@example.org",
                "mueller.anna@example.org",
                "quote@example.com",
                "zoe@example.net"
            ]
        );
        assert_eq!(
            search(&app, "h").await,
            ["grace@navy.example"]
        );
        // Inside a word is not the start of one.
        assert!(search(&app, "ve").await.is_empty());
        // No word starts with punctuation.
        assert!(search(&app, "@e").await.is_empty());
    }

    #[tokio::test]
    async fn search_syntax_in_q_is_matched_as_text() {
        let app = spawn_app().await;
        people(&app).await;
        for q in ["\"OR\"", "NEAR(x)", "*star*", "\" NEAR"] {
            assert_eq!(search(&app, q).await, ["quote@example.com"], "{q}");
        }
        for q in ["OR", "\"", "*"] {
            let response = app.get(&format!("/users?q={}", encode(q))).await;
            assert_eq!(response.status(), StatusCode::OK, "{q}");
        }
        assert!(search(&app, "ada OR grace").await.is_empty());
        assert!(search(&app, "gra*").await.is_empty());
    }

    #[tokio::test]
    async fn like_wildcards_and_backslashes_in_q_are_matched_as_text() {
        let app = spawn_app().await;
        for (email, name) in [
            ("a_b@example.com", "Fifty 50% Off"),
            ("axb@example.com", "Fifty 500 Off"),
            ("back@example.com", "Back\\slash"),
            ("backx@example.com", "Backxslash"),
        ] {
            app.create_user(email, name).await;
        }
        assert_eq!(search(&app, "50% ").await, ["a_b@example.com"]);
        assert_eq!(search(&app, "a_b").await, ["a_b@example.com"]);
        assert_eq!(search(&app, "k\\s").await, ["back@example.com"]);
        assert_eq!(search(&app, "fifty").await.len(), 2);
    }

    #[tokio::test]
    async fn a_search_sees_every_write_at_once() {
        let app = spawn_app().await;
        let ada = app.create_user("ada@example.com", "Ada Lovelace").await;
        let id = ada["id"].as_str().unwrap();
        // Straight after the write, and after the index took it in.
        assert_eq!(search(&app, "lovelace").await, ["ada@example.com"]);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(search(&app, "lovelace").await, ["ada@example.com"]);
        let renamed = app.patch_user(id, &serde_json::json!({"name": "Ada King"})).await;
        assert_eq!(renamed.status(), StatusCode::OK);
        assert!(search(&app, "lovelace").await.is_empty());
        assert_eq!(search(&app, "king").await, ["ada@example.com"]);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(search(&app, "lovelace").await.is_empty());
        assert_eq!(search(&app, "king").await, ["ada@example.com"]);
        assert_eq!(app.delete_user(id).await.status(), StatusCode::NO_CONTENT);
        assert!(search(&app, "king").await.is_empty());
    }

    #[tokio::test]
    async fn names_sort_case_insensitively_with_ties_by_id() {
        let app = spawn_app().await;
        for (i, name) in ["bob", "Alice", "carol", "alice", "Bob", "ALICE"].iter().enumerate() {
            app.create_user(&format!("u{i}@example.com"), name).await;
        }
        let (users, pages) = app.walk("/users?limit=2&sort=name").await;
        assert_eq!(pages, 3);
        let keys: Vec<(String, String)> = users
            .iter()
            .map(|u| (u["name"].as_str().unwrap().to_lowercase(), u["id"].as_str().unwrap().to_owned()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let (backwards, _) = app.walk("/users?limit=4&sort=-name").await;
        let mut reversed = users.clone();
        reversed.reverse();
        assert_eq!(backwards, reversed);
    }

    #[tokio::test]
    async fn every_sort_walks_every_user_once_in_order() {
        let app = spawn_app().await;
        for i in 0..25 {
            app.create_user(&format!("user{:02}@example.com", (i * 7) % 25), &format!("Name {}", (i * 11) % 25)).await;
        }
        let (newest, _) = app.walk("/users?limit=1000").await;
        for (sort, key) in [
            ("created_at", "created_at"),
            ("-created_at", "created_at"),
            ("email", "email"),
            ("-email", "email"),
            ("name", "name"),
            ("-name", "name"),
        ] {
            let (users, pages) = app.walk(&format!("/users?limit=3&sort={sort}")).await;
            assert_eq!(pages, 9, "{sort}");
            assert_eq!(users.len(), 25, "{sort}");
            let mut expected = newest.clone();
            expected.sort_by(|a, b| {
                let key = |u: &Value| (u[key].as_str().unwrap().to_lowercase(), u["id"].as_str().unwrap().to_owned());
                key(a).cmp(&key(b))
            });
            if sort.starts_with('-') {
                expected.reverse();
            }
            assert_eq!(users, expected, "{sort}");
        }
    }

    #[tokio::test]
    async fn a_search_walk_returns_each_match_once_while_users_come_and_go() {
        let app = spawn_app().await;
        let mut matching = Vec::new();
        for i in 0..30 {
            matching.push(app.create_user(&format!("m{i}@example.com"), &format!("Match {i}")).await);
            app.create_user(&format!("o{i}@example.com"), "Other").await;
        }
        for sort in ["-created_at", "created_at", "name", "-email"] {
            let mut next = Some(format!("/users?limit=4&q=match&sort={sort}"));
            let mut seen = Vec::new();
            let mut added = 0;
            while let Some(path) = next {
                let response = app.get(&path).await;
                assert_eq!(response.status(), StatusCode::OK);
                next = next_link(&response);
                let page: Vec<Value> = response.json().await.unwrap();
                seen.extend(field(&page, "email"));
                // Changes between pages: a new match, and one already seen gone.
                app.create_user(&format!("new{sort}{added}@example.com"), "Match late").await;
                added += 1;
            }
            let originals: Vec<String> = field(&matching, "email");
            for email in &originals {
                assert_eq!(seen.iter().filter(|e| *e == email).count(), 1, "{sort}: {email}");
            }
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), seen.len(), "{sort}: a user twice");
            assert!(seen.iter().all(|e| e.starts_with('m') || e.starts_with("new")), "{sort}");
        }
    }

    #[tokio::test]
    async fn created_after_and_before_are_exclusive_bounds() {
        let app = spawn_app().await;
        let mut users = Vec::new();
        for i in 0..5 {
            users.push(app.create_user(&format!("t{i}@example.com"), "Timed").await);
        }
        let at = |i: usize| users[i]["created_at"].as_str().unwrap().to_owned();
        let (between, _) = app
            .walk(&format!("/users?limit=1&created_after={}&created_before={}", encode(&at(1)), encode(&at(4))))
            .await;
        assert_eq!(field(&between, "email"), ["t3@example.com", "t2@example.com"]);
        let (oldest_first, _) = app
            .walk(&format!("/users?limit=1&sort=created_at&created_after={}&q=timed", encode(&at(2))))
            .await;
        assert_eq!(field(&oldest_first, "email"), ["t3@example.com", "t4@example.com"]);
        let (by_name, _) = app
            .walk(&format!("/users?limit=1&sort=email&created_before={}", encode(&at(2))))
            .await;
        assert_eq!(field(&by_name, "email"), ["t0@example.com", "t1@example.com"]);
        // Any RFC 3339 offset names the same instant.
        let response = app.get("/users?created_after=2000-01-01T02:00:00%2B02:00").await;
        let all: Vec<Value> = response.json().await.unwrap();
        assert_eq!(all.len(), 5);
    }

    #[tokio::test]
    async fn search_sort_and_email_combine() {
        let app = spawn_app().await;
        people(&app).await;
        let response = app.get("/users?email=GRACE@navy.example&q=hop&sort=name").await;
        let users: Vec<Value> = response.json().await.unwrap();
        assert_eq!(field(&users, "email"), ["grace@navy.example"]);
        let response = app.get("/users?email=grace@navy.example&q=lovelace").await;
        assert_eq!(response.json::<Vec<Value>>().await.unwrap(), Vec::<Value>::new());
    }

    #[tokio::test]
    async fn the_next_link_repeats_the_listing() {
        let app = spawn_app().await;
        for i in 0..3 {
            app.create_user(&format!("z{i}@example.com"), "Zoë Zed").await;
        }
        let response = app.get("/users?limit=2&sort=-name&q=Zo%C3%AB%20Z").await;
        let next = next_link(&response).expect("a next link");
        assert!(next.starts_with("/users?limit=2&sort=-name&q=zo%C3%AB%20z&cursor="), "{next}");
        let rest: Vec<Value> = app.get(&next).await.json().await.unwrap();
        assert_eq!(rest.len(), 1);
    }

    #[tokio::test]
    async fn bad_listing_parameters_are_400_naming_the_parameter() {
        let app = spawn_app().await;
        for i in 0..3 {
            app.create_user(&format!("b{i}@example.com"), "Bad").await;
        }
        let long = "x".repeat(101);
        for (query, says) in [
            (format!("q={long}"), "q must be at most 100 characters"),
            ("q=%20%20".to_owned(), "q must not be empty"),
            ("q=".to_owned(), "q must not be empty"),
            ("q=a%01b".to_owned(), "q must not contain control characters"),
            ("q=M%FCller".to_owned(), "query parameter q is not UTF-8 once percent-decoded"),
            ("sort=size".to_owned(), "sort must be one of -created_at, created_at, name, -name, email, -email"),
            ("sort=".to_owned(), "sort must be one of"),
            ("created_after=yesterday".to_owned(), "created_after must be an RFC 3339 timestamp"),
            ("created_before=2026-13-01T00:00:00Z".to_owned(), "created_before must be an RFC 3339 timestamp"),
        ] {
            let response = app.get(&format!("/users?{query}")).await;
            let body = assert_error(response, StatusCode::BAD_REQUEST, "bad_request", None, &query).await;
            assert!(body["error"].as_str().unwrap().starts_with(says), "{query}: {body}");
        }
        // A cursor pages only the listing that issued it.
        let response = app.get("/users?limit=1&sort=name&q=bad").await;
        let next = next_link(&response).unwrap();
        let cursor = next.split("cursor=").nth(1).unwrap();
        for other in [
            format!("/users?limit=1&sort=email&q=bad&cursor={cursor}"),
            format!("/users?limit=1&sort=name&q=ba&cursor={cursor}"),
            format!("/users?limit=1&sort=name&cursor={cursor}"),
            format!("/users?limit=1&q=bad&cursor={cursor}"),
            format!("/users?limit=1&sort=name&q=bad&created_after=2000-01-01T00:00:00Z&cursor={cursor}"),
        ] {
            let response = app.get(&other).await;
            let body = assert_error(response, StatusCode::BAD_REQUEST, "bad_request", None, &other).await;
            assert!(body["error"].as_str().unwrap().contains("cursor"), "{body}");
        }
        // The same listing with another page size is the same listing.
        let response = app.get(&format!("/users?limit=5&sort=name&q=bad&cursor={cursor}")).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}

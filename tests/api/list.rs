use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_error, next_link};

fn ids(users: &[Value]) -> Vec<String> {
    users
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

on_every_backend! {
    #[tokio::test]
    async fn an_empty_table_lists_an_empty_array_without_a_next_link() {
        let app = spawn_app().await;
        let response = app.get("/users").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("link").is_none());
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            serde_json::json!([])
        );
    }

    #[tokio::test]
    async fn users_are_listed_newest_first() {
        let app = spawn_app().await;
        let mut created = Vec::new();
        for i in 0..5 {
            created.push(app.create_user(&format!("u{i}@example.com"), "U").await);
        }
        let listed: Vec<Value> = app.get("/users").await.json().await.unwrap();
        created.reverse();
        assert_eq!(listed, created);
    }

    #[tokio::test]
    async fn the_default_page_is_100_users_with_a_next_link() {
        let app = spawn_app().await;
        for i in 0..101 {
            app.create_user(&format!("u{i}@example.com"), "U").await;
        }
        let response = app.get("/users").await;
        let next = next_link(&response).expect("a next link");
        assert!(next.starts_with("/users?limit=100&cursor="), "{next}");
        let page: Vec<Value> = response.json().await.unwrap();
        assert_eq!(page.len(), 100);
        let rest: Vec<Value> = app.get(&next).await.json().await.unwrap();
        assert_eq!(rest.len(), 1);
    }

    #[tokio::test]
    async fn walking_the_pages_returns_every_user_exactly_once_newest_first() {
        let app = spawn_app().await;
        let mut expected = Vec::new();
        for i in 0..23 {
            expected.push(app.create_user(&format!("u{i}@example.com"), "U").await);
        }
        expected.reverse();
        let (walked, pages) = app.walk("/users?limit=5").await;
        assert_eq!(pages, 5);
        assert_eq!(ids(&walked), ids(&expected));
    }

    #[tokio::test]
    async fn a_page_that_ends_exactly_at_the_last_user_has_no_next_link() {
        let app = spawn_app().await;
        for i in 0..4 {
            app.create_user(&format!("u{i}@example.com"), "U").await;
        }
        let response = app.get("/users?limit=4").await;
        assert!(next_link(&response).is_none());
    }

    #[tokio::test]
    async fn a_walk_sees_every_user_that_existed_throughout_exactly_once_despite_inserts_and_deletes() {
        let app = spawn_app().await;
        let mut survivors = Vec::new();
        let mut doomed = Vec::new();
        for i in 0..30 {
            let user = app.create_user(&format!("u{i}@example.com"), "U").await;
            if i % 3 == 0 {
                doomed.push(user);
            } else {
                survivors.push(user);
            }
        }
        let mut seen = Vec::new();
        let mut next = Some("/users?limit=4".to_owned());
        let mut round = 0;
        while let Some(path) = next {
            let response = app.get(&path).await;
            next = next_link(&response);
            seen.extend(ids(&response.json::<Vec<Value>>().await.unwrap()));
            // Change the table between pages.
            app.create_user(&format!("new{round}@example.com"), "New")
                .await;
            if let Some(user) = doomed.pop() {
                app.delete_user(user["id"].as_str().unwrap()).await;
            }
            round += 1;
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no user twice");
        for user in &survivors {
            let id = user["id"].as_str().unwrap().to_owned();
            assert!(seen.contains(&id), "survivor {id} seen");
        }
    }

    #[tokio::test]
    async fn limit_outside_1_to_1000_is_a_bad_request() {
        let app = spawn_app().await;
        for query in [
            "limit=0",
            "limit=1001",
            "limit=-1",
            "limit=abc",
            "limit=",
            "limit=1.5",
        ] {
            let response = app.get(&format!("/users?{query}")).await;
            assert_error(
                response,
                StatusCode::BAD_REQUEST,
                "bad_request",
                None,
                query,
            )
            .await;
        }
        for query in ["limit=1", "limit=1000"] {
            assert_eq!(
                app.get(&format!("/users?{query}")).await.status(),
                StatusCode::OK
            );
        }
    }

    #[tokio::test]
    async fn a_forged_or_corrupt_cursor_is_a_bad_request() {
        let app = spawn_app().await;
        for i in 0..3 {
            app.create_user(&format!("u{i}@example.com"), "U").await;
        }
        let next = next_link(&app.get("/users?limit=1").await).unwrap();
        let cursor = next.split("cursor=").nth(1).unwrap().to_owned();
        let mut flipped = cursor.clone().into_bytes();
        flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        for bad in [
            "garbage".to_owned(),
            flipped,
            format!("{cursor}A"),
            cursor[..cursor.len() - 1].to_owned(),
            "%00".to_owned(),
        ] {
            let response = app.get(&format!("/users?cursor={bad}")).await;
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request", None, &bad).await;
        }
    }

    #[tokio::test]
    async fn email_filter_is_an_exact_case_insensitive_lookup() {
        let app = spawn_app().await;
        let ada = app.create_user("ada@example.com", "Ada").await;
        app.create_user("ada2@example.com", "Ada Two").await;
        let found: Vec<Value> = app
            .get("/users?email=%20ADA@Example.com%20")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(found, vec![ada]);
        let none: Vec<Value> = app
            .get("/users?email=nobody@example.com")
            .await
            .json()
            .await
            .unwrap();
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn an_email_filter_that_is_not_an_email_is_a_bad_request() {
        let app = spawn_app().await;
        let response = app.get("/users?email=not-an-email").await;
        assert_error(
            response,
            StatusCode::BAD_REQUEST,
            "bad_request",
            None,
            "bad email filter",
        )
        .await;
    }
}

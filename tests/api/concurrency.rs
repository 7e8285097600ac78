//! Concurrent writers through the group-committing writer thread.

use std::collections::HashSet;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::created_and_conflicts;

on_every_backend! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn forty_concurrent_creates_of_one_email_give_one_201_and_39_409() {
        let app = spawn_app().await;
        let requests = (0..40).map(|i| {
            let body = json!({"email": "Same@Example.com", "name": format!("Racer {i}")});
            let app = &app;
            async move { app.post_user(&body).await }
        });
        let statuses: Vec<StatusCode> = join_all(requests)
            .await
            .into_iter()
            .map(|r| r.status())
            .collect();
        assert_eq!(created_and_conflicts(&statuses), (1, 39), "{statuses:?}");
        let (users, _) = app.walk("/users").await;
        assert_eq!(users.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn colliding_and_distinct_creates_in_one_batch_each_get_their_own_answer() {
        let app = spawn_app().await;
        // 60 distinct emails, 20 of which are sent three times each.
        let emails: Vec<String> = (0..60)
            .flat_map(|i| {
                let email = format!("user{i}@example.com");
                let copies = if i % 3 == 0 { 3 } else { 1 };
                std::iter::repeat_n(email, copies)
            })
            .collect();
        let responses = join_all(emails.iter().map(|email| {
            let body = json!({"email": email, "name": "U"});
            let app = &app;
            async move { app.post_user(&body).await }
        }))
        .await;
        let mut created = HashSet::new();
        let mut conflicts = 0;
        for (email, response) in emails.iter().zip(responses) {
            match response.status() {
                StatusCode::CREATED => {
                    let user: Value = response.json().await.unwrap();
                    assert_eq!(
                        user["email"],
                        email.as_str(),
                        "the answer belongs to its request"
                    );
                    assert!(created.insert(email.clone()), "{email} created twice");
                }
                StatusCode::CONFLICT => conflicts += 1,
                other => panic!("unexpected {other} for {email}"),
            }
        }
        assert_eq!(created.len(), 60, "every distinct email committed");
        assert_eq!(conflicts, 40, "every duplicate refused");
        let (users, _) = app.walk("/users?limit=1000").await;
        let stored: HashSet<String> = users
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(stored, created);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_updates_and_deletes_of_different_users_all_apply() {
        let app = spawn_app().await;
        let mut users = Vec::new();
        for i in 0..30 {
            users.push(
                app.create_user(&format!("u{i}@example.com"), "Before")
                    .await,
            );
        }
        let work = users.iter().enumerate().map(|(i, user)| {
            let id = user["id"].as_str().unwrap().to_owned();
            let app = &app;
            async move {
                if i % 2 == 0 {
                    app.patch_user(&id, &json!({"name": format!("After {i}")}))
                        .await
                        .status()
                } else {
                    app.delete_user(&id).await.status()
                }
            }
        });
        let statuses = join_all(work).await;
        for (i, status) in statuses.iter().enumerate() {
            let expected = if i % 2 == 0 {
                StatusCode::OK
            } else {
                StatusCode::NO_CONTENT
            };
            assert_eq!(*status, expected, "request {i}");
        }
        let (remaining, _) = app.walk("/users").await;
        assert_eq!(remaining.len(), 15);
        assert!(remaining
            .iter()
            .all(|u| u["name"].as_str().unwrap().starts_with("After ")));
    }
}

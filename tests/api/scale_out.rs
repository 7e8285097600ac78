//! PostgreSQL only: several instances on one database behave as one service.

use std::collections::HashSet;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::postgres::{fresh_schema, skipped, spawn_app_on};
use crate::helpers::{created_and_conflicts, TestApp};

/// Two servers on one fresh schema.
async fn two_instances() -> (TestApp, TestApp) {
    let url = fresh_schema().await;
    let a = spawn_app_on(url.clone(), |_| {}).await;
    let b = spawn_app_on(url, |_| {}).await;
    (a, b)
}

#[tokio::test]
async fn instances_started_together_migrate_once_and_both_serve() {
    if skipped() {
        return;
    }
    let url = fresh_schema().await;
    let apps = join_all((0..4).map(|_| spawn_app_on(url.clone(), |_| {}))).await;
    for (i, app) in apps.iter().enumerate() {
        let response = app.get("/ready").await;
        assert_eq!(response.status(), StatusCode::OK, "instance {i}");
    }
}

#[tokio::test]
async fn a_user_created_through_one_instance_is_read_and_changed_through_the_other() {
    if skipped() {
        return;
    }
    let (a, b) = two_instances().await;
    let user = a.create_user("ada@example.com", "Ada").await;
    let id = user["id"].as_str().unwrap();

    let response = b.get_user(id).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), user);

    let response = b.patch_user(id, &json!({"name": "Countess"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = a.get_user(id).await;
    assert_eq!(response.json::<Value>().await.unwrap()["name"], "Countess");

    assert_eq!(b.delete_user(id).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(a.get_user(id).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_email_across_instances_give_exactly_one_201() {
    if skipped() {
        return;
    }
    let (a, b) = two_instances().await;
    let requests = (0..40).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        // Case and spaces differ; the database's unique index sees one email.
        let email = if i % 3 == 0 {
            " SAME@example.com"
        } else {
            "same@example.com"
        };
        async move {
            app.post_user(&json!({"email": email, "name": format!("writer {i}")}))
                .await
        }
    });
    let statuses: Vec<StatusCode> = join_all(requests)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(created_and_conflicts(&statuses), (1, 39), "{statuses:?}");
    let listed = a.get("/users?email=same@example.com").await;
    assert_eq!(listed.json::<Vec<Value>>().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_paging_walk_that_alternates_instances_returns_every_user_once() {
    if skipped() {
        return;
    }
    let (a, b) = two_instances().await;
    for i in 0..25 {
        let app = if i % 2 == 0 { &a } else { &b };
        app.create_user(&format!("user{i}@example.com"), "A user")
            .await;
    }
    let mut seen = Vec::new();
    let mut next = Some("/users?limit=4".to_owned());
    let mut turn = 0;
    while let Some(path) = next {
        let app = if turn % 2 == 0 { &a } else { &b };
        turn += 1;
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        next = crate::helpers::next_link(&response);
        let page: Vec<Value> = response.json().await.unwrap();
        seen.extend(
            page.into_iter()
                .map(|u| u["email"].as_str().unwrap().to_owned()),
        );
    }
    assert_eq!(turn, 7, "25 users in pages of 4");
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), distinct.len()), (25, 25));
    let expected: Vec<String> = (0..25)
        .rev()
        .map(|i| format!("user{i}@example.com"))
        .collect();
    assert_eq!(seen, expected, "newest first across instances");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_if_match_patches_through_two_instances_give_one_200_and_one_412() {
    if skipped() {
        return;
    }
    let (a, b) = two_instances().await;
    let user = a.create_user("ada@example.com", "Ada").await;
    let id = user["id"].as_str().unwrap();
    for round in 0..10 {
        let tag = a.get_user(id).await.headers()["etag"]
            .to_str()
            .unwrap()
            .to_owned();
        let statuses: Vec<StatusCode> =
            join_all([&a, &b].into_iter().enumerate().map(|(n, app)| {
                let (tag, path) = (tag.clone(), app.url(&format!("/users/{id}")));
                async move {
                    app.client
                        .patch(path)
                        .header("if-match", tag)
                        .json(&json!({"name": format!("Round {round} instance {n}")}))
                        .send()
                        .await
                        .unwrap()
                        .status()
                }
            }))
            .await;
        let mut sorted = statuses.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [StatusCode::OK, StatusCode::PRECONDITION_FAILED],
            "round {round}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_sent_to_two_instances_at_once_creates_one_user() {
    if skipped() {
        return;
    }
    let (a, b) = two_instances().await;
    for round in 0..5 {
        let key = format!("key-{round}");
        let body = json!({"email": format!("r{round}@example.com"), "name": "Racer"});
        let answers: Vec<(StatusCode, Value)> = join_all([&a, &b, &a, &b].into_iter().map(|app| {
            let (key, body) = (key.clone(), body.clone());
            async move {
                let response = app
                    .client
                    .post(app.url("/users"))
                    .header("idempotency-key", key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (response.status(), response.json().await.unwrap())
            }
        }))
        .await;
        assert!(
            answers
                .iter()
                .all(|(status, user)| *status == StatusCode::CREATED
                    && user["id"] == answers[0].1["id"]),
            "round {round}: {answers:?}"
        );
    }
    let (users, _) = a.walk("/users?limit=100").await;
    assert_eq!(users.len(), 5);
}

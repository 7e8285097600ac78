//! `--max-db-size`: writes past the cap get 507, reads keep working.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app_with};

#[tokio::test]
async fn writes_past_the_size_cap_get_507_while_reads_keep_working() {
    let app = spawn_app_with(|s| s.max_db_size = Some(128 * 1024)).await;
    let mut created = Vec::new();
    let mut refused = None;
    for i in 0..5_000 {
        let body = json!({"email": format!("user{i}@example.com"), "name": "x".repeat(150)});
        let response = app.post_user(&body).await;
        if response.status() == StatusCode::CREATED {
            created.push(response.json::<Value>().await.unwrap());
        } else {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the cap was reached");
    assert_error(
        refused,
        StatusCode::INSUFFICIENT_STORAGE,
        "insufficient_storage",
        None,
        "write past the cap",
    )
    .await;
    assert!(!created.is_empty(), "some users fit under the cap");

    // Reads keep working and every acknowledged user is there.
    let (listed, _) = app.walk("/users?limit=1000").await;
    assert_eq!(listed.len(), created.len());
    let first = created[0]["id"].as_str().unwrap();
    assert_eq!(app.get_user(first).await.status(), StatusCode::OK);

    // A full database is not ready for writes.
    assert_eq!(
        app.get("/ready").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Deleting (half of the users, so whole pages come free) makes room again.
    for user in created.iter().take(created.len() / 2) {
        let id = user["id"].as_str().unwrap();
        assert_eq!(app.delete_user(id).await.status(), StatusCode::NO_CONTENT);
    }
    app.create_user("after-delete@example.com", "Room again")
        .await;
}

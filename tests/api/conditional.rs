//! `ETag`, `If-None-Match` and `If-Match` on users (API.md "Conditional
//! requests and safe retries"), against a real server on each backend.

use futures::future::join_all;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

fn etag(response: &Response) -> String {
    response
        .headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned()
}

async fn patch_if(app: &TestApp, id: &str, tag: &str, body: &Value) -> Response {
    app.client
        .patch(app.url(&format!("/users/{id}")))
        .header("if-match", tag)
        .json(body)
        .send()
        .await
        .expect("PATCH")
}

async fn delete_if(app: &TestApp, id: &str, tag: &str) -> Response {
    app.client
        .delete(app.url(&format!("/users/{id}")))
        .header("if-match", tag)
        .send()
        .await
        .expect("DELETE")
}

/// A user, its id, and the ETag its creation answered with.
async fn ada(app: &TestApp) -> (String, String) {
    let response = app
        .post_user(&json!({"email": "ada@example.com", "name": "Ada"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let tag = etag(&response);
    let user: Value = response.json().await.unwrap();
    (user["id"].as_str().unwrap().to_owned(), tag)
}

on_every_backend! {
    #[tokio::test]
    async fn every_response_with_a_user_has_a_strong_etag_that_follows_its_changes() {
        let app = spawn_app().await;
        let (id, created) = ada(&app).await;
        assert!(created.starts_with('"') && created.ends_with('"'), "strong: {created}");
        let read = app.get_user(&id).await;
        assert_eq!(read.status(), StatusCode::OK);
        assert_eq!(etag(&read), created, "GET gives the tag POST gave");

        // A no-op PATCH changes nothing, the tag included.
        let same = app.patch_user(&id, &json!({"name": " Ada "})).await;
        assert_eq!(same.status(), StatusCode::OK);
        assert_eq!(etag(&same), created);

        let renamed = app.patch_user(&id, &json!({"name": "Countess"})).await;
        let after_rename = etag(&renamed);
        assert_ne!(after_rename, created);
        // Back to the old name at once: still a new tag.
        let back = app.patch_user(&id, &json!({"name": "Ada"})).await;
        let after_back = etag(&back);
        assert_ne!(after_back, created);
        assert_ne!(after_back, after_rename);
        assert_eq!(etag(&app.get_user(&id).await), after_back);
    }

    #[tokio::test]
    async fn if_none_match_with_the_current_tag_is_a_304_without_a_body() {
        let app = spawn_app().await;
        let (id, tag) = ada(&app).await;
        let path = format!("/users/{id}");
        for matching in [tag.clone(), format!("W/{tag}"), format!("\"x\", {tag}"), "*".into()] {
            let response = app.get_with(&path, ("if-none-match", &matching)).await;
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{matching}");
            assert_eq!(etag(&response), tag);
            assert!(response.bytes().await.unwrap().is_empty());
        }
        let response = app.get_with(&path, ("if-none-match", "\"1-0000000000000000\"")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap()["name"], "Ada");
        // After a change the old tag no longer matches.
        app.patch_user(&id, &json!({"name": "Countess"})).await;
        let response = app.get_with(&path, ("if-none-match", &tag)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_ne!(etag(&response), tag);
    }

    #[tokio::test]
    async fn a_stale_if_match_is_a_412_and_changes_nothing() {
        let app = spawn_app().await;
        let (id, stale) = ada(&app).await;
        let current = etag(&app.patch_user(&id, &json!({"name": "Countess"})).await);

        let response = patch_if(&app, &id, &stale, &json!({"name": "Lost update"})).await;
        assert_error(response, StatusCode::PRECONDITION_FAILED, "precondition_failed", None, "stale PATCH").await;
        assert_error(delete_if(&app, &id, &stale).await, StatusCode::PRECONDITION_FAILED, "precondition_failed", None, "stale DELETE").await;
        // A weak tag never matches If-Match (strong comparison).
        let weak = format!("W/{current}");
        assert_error(patch_if(&app, &id, &weak, &json!({"name": "X"})).await, StatusCode::PRECONDITION_FAILED, "precondition_failed", None, "weak").await;
        let user: Value = app.get_user(&id).await.json().await.unwrap();
        assert_eq!(user["name"], "Countess");

        let response = patch_if(&app, &id, &current, &json!({"name": "Lovelace"})).await;
        assert_eq!(response.status(), StatusCode::OK);
        let newest = etag(&response);
        assert_eq!(delete_if(&app, &id, &format!("\"a\", {newest}")).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get_user(&id).await.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn if_match_star_matches_any_user_and_an_unknown_one_is_still_404() {
        let app = spawn_app().await;
        let (id, _) = ada(&app).await;
        let response = patch_if(&app, &id, "*", &json!({"name": "Countess"})).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(delete_if(&app, &id, "*").await.status(), StatusCode::NO_CONTENT);
        assert_error(patch_if(&app, &id, "*", &json!({"name": "X"})).await, StatusCode::NOT_FOUND, "not_found", Some("User not found"), "gone").await;
        assert_error(delete_if(&app, &id, "\"1-0\"").await, StatusCode::NOT_FOUND, "not_found", None, "gone").await;
    }

    #[tokio::test]
    async fn malformed_conditions_are_400_and_change_nothing() {
        let app = spawn_app().await;
        let (id, tag) = ada(&app).await;
        for bad in ["abc", "W/abc", "\"a", "*, \"a\"", "\"a\" \"b\"", ""] {
            let response = patch_if(&app, &id, bad, &json!({"name": "Changed"})).await;
            let body = assert_error(response, StatusCode::BAD_REQUEST, "bad_request", None, bad).await;
            assert!(body["error"].as_str().unwrap().contains("If-Match"), "{body}");
            let response = delete_if(&app, &id, bad).await;
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request", None, bad).await;
            let response = app.get_with(&format!("/users/{id}"), ("if-none-match", bad)).await;
            let body = assert_error(response, StatusCode::BAD_REQUEST, "bad_request", None, bad).await;
            assert!(body["error"].as_str().unwrap().contains("If-None-Match"), "{body}");
        }
        let response = app.get_user(&id).await;
        assert_eq!(etag(&response), tag);
        assert_eq!(response.json::<Value>().await.unwrap()["name"], "Ada");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_two_patches_with_one_etag_one_succeeds_and_the_other_is_412() {
        let app = spawn_app().await;
        let (id, _) = ada(&app).await;
        for round in 0..10 {
            let tag = etag(&app.get_user(&id).await);
            let statuses: Vec<StatusCode> = join_all((0..2).map(|n| {
                let body = json!({"name": format!("Round {round} writer {n}")});
                let (app, id, tag) = (&app, &id, &tag);
                async move { patch_if(app, id, tag, &body).await.status() }
            }))
            .await;
            let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
            let stale = statuses.iter().filter(|s| **s == StatusCode::PRECONDITION_FAILED).count();
            assert_eq!((ok, stale), (1, 1), "round {round}: {statuses:?}");
        }
    }
}

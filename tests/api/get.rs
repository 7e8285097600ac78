use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::assert_error;

on_every_backend! {
    #[tokio::test]
    async fn an_unknown_id_is_not_found_with_the_original_message() {
        let app = spawn_app().await;
        let response = app.get_user("0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10").await;
        assert_error(
            response,
            StatusCode::NOT_FOUND,
            "not_found",
            Some("User not found"),
            "unknown id",
        )
        .await;
    }

    #[tokio::test]
    async fn an_id_that_is_not_a_uuid_is_a_bad_request() {
        let app = spawn_app().await;
        for id in [
            "42",
            "not-a-uuid",
            "0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c1",
            "%00",
            "'%20OR%201=1",
        ] {
            let response = app.get_user(id).await;
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request", None, id).await;
        }
    }

    #[tokio::test]
    async fn an_id_in_upper_case_finds_the_user_and_is_answered_in_lower_case() {
        let app = spawn_app().await;
        let created = app.create_user("ada@example.com", "Ada").await;
        let id = created["id"].as_str().unwrap();
        let response = app.get_user(&id.to_uppercase()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let user: Value = response.json().await.unwrap();
        assert_eq!(user["id"], id);
    }
}

use reqwest::StatusCode;

use crate::helpers::assert_error;

on_every_backend! {
    #[tokio::test]
    async fn delete_answers_204_without_a_body_and_the_user_is_gone() {
        let app = spawn_app().await;
        let user = app.create_user("ada@example.com", "Ada").await;
        let id = user["id"].as_str().unwrap();

        let response = app.delete_user(id).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.bytes().await.unwrap().is_empty());

        let response = app.get_user(id).await;
        assert_error(
            response,
            StatusCode::NOT_FOUND,
            "not_found",
            Some("User not found"),
            "after delete",
        )
        .await;
    }

    #[tokio::test]
    async fn deleting_twice_or_an_unknown_id_is_not_found() {
        let app = spawn_app().await;
        let user = app.create_user("ada@example.com", "Ada").await;
        let id = user["id"].as_str().unwrap();
        assert_eq!(app.delete_user(id).await.status(), StatusCode::NO_CONTENT);
        let response = app.delete_user(id).await;
        assert_error(
            response,
            StatusCode::NOT_FOUND,
            "not_found",
            None,
            "second delete",
        )
        .await;
    }

    #[tokio::test]
    async fn deleting_with_a_bad_id_is_a_bad_request() {
        let app = spawn_app().await;
        let response = app.delete_user("nope").await;
        assert_error(
            response,
            StatusCode::BAD_REQUEST,
            "bad_request",
            None,
            "bad id",
        )
        .await;
    }

    #[tokio::test]
    async fn a_deleted_users_email_can_be_used_again() {
        let app = spawn_app().await;
        let user = app.create_user("ada@example.com", "Ada").await;
        app.delete_user(user["id"].as_str().unwrap()).await;
        let again = app.create_user("ada@example.com", "Ada again").await;
        assert_ne!(again["id"], user["id"]);
    }
}

use reqwest::{Method, StatusCode};

use crate::helpers::assert_error;

on_every_backend! {
    #[tokio::test]
    async fn unknown_routes_are_not_found_as_json() {
        let app = spawn_app().await;
        for path in [
            "/nope",
            "/users/0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10/extra",
            "/health/x",
            "/users/",
        ] {
            let response = app.get(path).await;
            assert_error(response, StatusCode::NOT_FOUND, "not_found", None, path).await;
        }
    }

    #[tokio::test]
    async fn a_known_route_with_another_method_is_405_with_allow() {
        let app = spawn_app().await;
        let id = "/users/0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10";
        let cases = [
            (Method::PUT, "/users", "GET, HEAD, POST"),
            (Method::DELETE, "/users", "GET, HEAD, POST"),
            (Method::POST, id, "GET, HEAD, PATCH, DELETE"),
            (Method::PUT, id, "GET, HEAD, PATCH, DELETE"),
            (Method::POST, "/health", "GET, HEAD"),
            (Method::DELETE, "/ready", "GET, HEAD"),
        ];
        for (method, path, allow) in cases {
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .unwrap();
            let case = format!("{method} {path}");
            assert_eq!(response.headers()["allow"], allow, "{case}");
            assert_error(
                response,
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                None,
                &case,
            )
            .await;
        }
    }

    #[tokio::test]
    async fn head_answers_like_get_without_a_body() {
        let app = spawn_app().await;
        let user = app.create_user("ada@example.com", "Ada").await;
        let id = user["id"].as_str().unwrap();
        for (path, status) in [
            (format!("/users/{id}"), StatusCode::OK),
            ("/users".to_owned(), StatusCode::OK),
            (
                "/users/0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10".to_owned(),
                StatusCode::NOT_FOUND,
            ),
        ] {
            let response = app.client.head(app.url(&path)).send().await.unwrap();
            assert_eq!(response.status(), status, "{path}");
            assert!(response.bytes().await.unwrap().is_empty(), "{path}");
        }
    }
}

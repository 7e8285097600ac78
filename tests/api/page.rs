//! The web page and its assets: served from the binary, open without the
//! token, cacheable by ETag, and locked down by Content-Security-Policy.

use reqwest::StatusCode;

use crate::helpers::{assert_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn the_page_is_html_with_a_strict_content_security_policy() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = response.text().await.unwrap();
    assert!(html.contains("<script src=\"/static/app.js\" defer></script>"));
}

#[tokio::test]
async fn assets_have_their_types_and_revalidate_by_etag() {
    let app = spawn_app().await;
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/static/app.js", "text/javascript; charset=utf-8"),
        ("/static/app.css", "text/css; charset=utf-8"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        let again = app.get_with(path, ("if-none-match", &etag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.text().await.unwrap().is_empty());
        let changed = app
            .get_with(path, ("if-none-match", "\"something-else\""))
            .await;
        assert_eq!(changed.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn unknown_assets_are_json_not_found_and_other_methods_405() {
    let app = spawn_app().await;
    let response = app.get("/static/secret.txt").await;
    assert_error(
        response,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
        "unknown asset",
    )
    .await;
    let response = app.client.post(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn the_page_stays_open_when_a_token_is_required() {
    let app = spawn_app_with(|s| s.api_tokens = vec!["t0ken".into()]).await;
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    assert_eq!(app.get("/static/app.js").await.status(), StatusCode::OK);
    assert_eq!(app.get("/users").await.status(), StatusCode::UNAUTHORIZED);
}

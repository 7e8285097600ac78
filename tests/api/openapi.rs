//! `/openapi.json` and the routes the server really has agree: every
//! documented operation is answered, every undocumented method is 405 with
//! an `Allow` listing exactly the documented ones, and the document's paths
//! are exactly the route table's templates.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use user_service::routes::TABLE;

use crate::helpers::spawn_app;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// A concrete path for a template: a well-formed id, an existing asset.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", "0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10")
        .replace("{file}", "app.js")
}

#[tokio::test]
async fn the_document_is_served_and_names_exactly_the_registered_paths() {
    let app = spawn_app().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let registered: BTreeSet<&str> = TABLE.iter().map(|spec| spec.template).collect();
    assert_eq!(documented, registered);
}

#[tokio::test]
async fn every_documented_method_is_answered_and_every_other_is_405() {
    let app = spawn_app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    for (template, item) in doc["paths"].as_object().unwrap() {
        let path = concrete(template);
        let documented: Vec<&str> = METHODS
            .into_iter()
            .filter(|m| item.get(*m).is_some())
            .collect();
        for method in METHODS {
            let response = app
                .client
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    app.url(&path),
                )
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status();
            let allow = response
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.text().await.unwrap();
            let case = format!("{method} {path}");
            if documented.contains(&method) {
                assert_ne!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{case} is documented"
                );
                assert!(
                    !body.contains("No such route"),
                    "{case} is documented: {body}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{case} is not documented"
                );
                let mut expected: Vec<String> =
                    documented.iter().map(|m| m.to_uppercase()).collect();
                if documented.contains(&"get") {
                    expected.insert(1, "HEAD".into());
                }
                assert_eq!(
                    allow.as_deref(),
                    Some(expected.join(", ").as_str()),
                    "{case}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_documented_error_statuses_cover_what_the_users_endpoints_answer() {
    let app = spawn_app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let statuses = |path: &str, method: &str| -> BTreeSet<String> {
        doc["paths"][path][method]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    for status in ["201", "400", "401", "409", "413", "415", "503", "507"] {
        assert!(
            statuses("/users", "post").contains(status),
            "POST /users {status}"
        );
    }
    for status in ["200", "400", "401", "404", "503"] {
        assert!(
            statuses("/users/{id}", "get").contains(status),
            "GET /users/{{id}} {status}"
        );
    }
    let created = &doc["paths"]["/users"]["post"]["responses"]["201"];
    assert!(created["headers"]["Location"].is_object());
    let listed = &doc["paths"]["/users"]["get"]["responses"]["200"];
    assert!(listed["headers"]["Link"].is_object());
}

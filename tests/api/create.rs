use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app};

fn is_rfc3339_utc_micros(text: &str) -> bool {
    // 2026-11-24T11:30:00.123456Z
    text.len() == 27
        && text.ends_with('Z')
        && text.as_bytes()[10] == b'T'
        && text.as_bytes()[19] == b'.'
}

on_every_backend! {
    #[tokio::test]
    async fn create_returns_201_the_user_and_its_location() {
        let app = spawn_app().await;
        let response = app
            .post_user(&json!({"email": "ada@example.com", "name": "Ada Lovelace"}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let user: Value = response.json().await.unwrap();
        let id = user["id"].as_str().unwrap();
        assert_eq!(location, format!("/users/{id}"));
        assert_eq!(user["email"], "ada@example.com");
        assert_eq!(user["name"], "Ada Lovelace");
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(uuid.get_version_num(), 7);
        assert_eq!(id, id.to_lowercase());
        let created = user["created_at"].as_str().unwrap();
        assert!(is_rfc3339_utc_micros(created), "{created}");
        assert_eq!(user["updated_at"], user["created_at"]);
        assert_eq!(user.as_object().unwrap().len(), 5, "{user}");
    }

    #[tokio::test]
    async fn the_created_user_can_be_read_back_at_its_location() {
        let app = spawn_app().await;
        let created = app.create_user("ada@example.com", "Ada").await;
        let response = app.get_user(created["id"].as_str().unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap(), created);
    }

    #[tokio::test]
    async fn email_is_trimmed_and_lower_cased_and_name_trimmed() {
        let app = spawn_app().await;
        let user = app.create_user("  Ada@Example.COM ", "  Ada  ").await;
        assert_eq!(user["email"], "ada@example.com");
        assert_eq!(user["name"], "Ada");
    }

    #[tokio::test]
    async fn an_email_differing_only_in_case_or_spaces_is_a_conflict() {
        let app = spawn_app().await;
        app.create_user("ada@example.com", "Ada").await;
        for email in ["ada@example.com", "ADA@EXAMPLE.COM", "  Ada@example.com  "] {
            let response = app
                .post_user(&json!({"email": email, "name": "Other"}))
                .await;
            assert_error(
                response,
                StatusCode::CONFLICT,
                "conflict",
                Some("Email already exists"),
                email,
            )
            .await;
        }
        let (users, _) = app.walk("/users").await;
        assert_eq!(users.len(), 1);
    }

    #[tokio::test]
    async fn invalid_emails_are_rejected_with_the_original_message() {
        let app = spawn_app().await;
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("a@{}.com", "d".repeat(250));
        let cases = [
            ("", "empty"),
            ("   ", "blank"),
            ("ada.example.com", "no @"),
            ("ada@@example.com", "two @"),
            ("a@b@example.com", "two @ apart"),
            ("@example.com", "empty local part"),
            ("ada@localhost", "no dot in domain"),
            ("ada@.example.com", "domain starts with a dot"),
            ("ada@example.com.", "domain ends with a dot"),
            ("ada lovelace@example.com", "inner space"),
            ("ada\u{1}@example.com", "control character"),
            (long_local.as_str(), "local part over 64"),
            (long_total.as_str(), "over 254 characters"),
        ];
        for (email, case) in cases {
            let response = app.post_user(&json!({"email": email, "name": "Ada"})).await;
            assert_error(
                response,
                StatusCode::BAD_REQUEST,
                "validation",
                Some("Invalid email address"),
                case,
            )
            .await;
        }
        let (users, _) = app.walk("/users").await;
        assert!(users.is_empty(), "no invalid user was stored");
    }

    #[tokio::test]
    async fn invalid_names_are_rejected_with_a_message_naming_the_field() {
        let app = spawn_app().await;
        let too_long = "n".repeat(201);
        let cases = [
            ("", "empty"),
            ("   ", "blank"),
            (too_long.as_str(), "201 characters"),
            ("Ada\nLovelace", "newline"),
            ("Ada\u{7f}", "DEL"),
        ];
        for (name, case) in cases {
            let response = app
                .post_user(&json!({"email": "ada@example.com", "name": name}))
                .await;
            let body = assert_error(response, StatusCode::BAD_REQUEST, "validation", None, case).await;
            assert!(
                body["error"].as_str().unwrap().contains("name"),
                "{case}: {body}"
            );
        }
    }

    #[tokio::test]
    async fn names_of_200_characters_count_code_points() {
        let app = spawn_app().await;
        let name = "é".repeat(200);
        let user = app.create_user("ada@example.com", &name).await;
        assert_eq!(user["name"], name);
    }

    #[tokio::test]
    async fn malformed_or_mistyped_bodies_are_bad_requests() {
        let app = spawn_app().await;
        let cases = [
            (r#"{"email": "ada@example.com""#, "truncated JSON"),
            (r#"{"name": "Ada"}"#, "missing email"),
            (r#"{"email": "ada@example.com"}"#, "missing name"),
            (r#"{"email": 42, "name": "Ada"}"#, "email is a number"),
            (
                r#"{"email": "ada@example.com", "name": null}"#,
                "name is null",
            ),
            (r#"["ada@example.com", "Ada"]"#, "an array"),
            ("", "empty body"),
            ("\u{0}", "NUL byte"),
        ];
        for (body, case) in cases {
            let response = app
                .client
                .post(app.url("/users"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request", None, case).await;
        }
    }

    #[tokio::test]
    async fn invalid_utf8_in_the_body_is_a_bad_request() {
        let app = spawn_app().await;
        let response = app
            .client
            .post(app.url("/users"))
            .header("content-type", "application/json")
            .body(b"{\"email\": \"a\xff@example.com\", \"name\": \"Ada\"}".to_vec())
            .send()
            .await
            .unwrap();
        assert_error(
            response,
            StatusCode::BAD_REQUEST,
            "bad_request",
            None,
            "invalid UTF-8",
        )
        .await;
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_is_unsupported_media_type() {
        let app = spawn_app().await;
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let mut request = app
                .client
                .post(app.url("/users"))
                .body(r#"{"email": "ada@example.com", "name": "Ada"}"#);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            assert_error(
                response,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                None,
                &format!("{content_type:?}"),
            )
            .await;
        }
    }

    #[tokio::test]
    async fn json_with_a_charset_is_accepted() {
        let app = spawn_app().await;
        let response = app
            .client
            .post(app.url("/users"))
            .header("content-type", "application/json; charset=utf-8")
            .body(r#"{"email": "ada@example.com", "name": "Ada"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    #[tokio::test]
    async fn a_body_over_64_kib_is_payload_too_large() {
        let app = spawn_app().await;
        let body = json!({"email": "ada@example.com", "name": "x".repeat(70 * 1024)});
        let response = app.post_user(&body).await;
        assert_error(
            response,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            None,
            "70 KiB",
        )
        .await;
    }

    #[tokio::test]
    async fn unknown_fields_are_ignored_and_ids_cannot_be_chosen() {
        let app = spawn_app().await;
        let chosen = "0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10";
        let response = app
            .post_user(&json!({
                "email": "ada@example.com",
                "name": "Ada",
                "id": chosen,
                "created_at": "2000-01-01T00:00:00.000000Z",
                "role": "admin"
            }))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let user: Value = response.json().await.unwrap();
        assert_ne!(user["id"], chosen);
        assert_ne!(user["created_at"], "2000-01-01T00:00:00.000000Z");
        assert!(user.get("role").is_none());
    }


    #[tokio::test]
    async fn an_email_with_a_capital_that_has_no_lower_case_form_reads_back() {
        // U+1D49E is upper case but has no lower-case mapping; it is stored as is.
        let app = spawn_app().await;
        let user = app.create_user("\u{1d49e}da@example.com", "Ada").await;
        let response = app.get_user(user["id"].as_str().unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let (listed, _) = app.walk("/users").await;
        assert_eq!(listed, vec![user]);
    }
}

/// SQLite only: the row is in the file, where another tool can read it.
#[tokio::test]
async fn a_created_user_is_in_the_sqlite_file_on_disk() {
    let app = spawn_app().await;
    let user = app.create_user("ada@example.com", "Ada").await;
    let conn = rusqlite::Connection::open(app.sqlite_path()).unwrap();
    let email: String = conn
        .query_row(
            "SELECT email FROM users WHERE id = ?1",
            [uuid::Uuid::parse_str(user["id"].as_str().unwrap())
                .unwrap()
                .as_bytes()
                .as_slice()],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(email, "ada@example.com");
}

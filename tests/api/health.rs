use reqwest::StatusCode;
use serde_json::Value;

on_every_backend! {
    #[tokio::test]
    async fn health_answers_ok_in_plain_text() {
        let app = spawn_app().await;
        let response = app.get("/health").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "OK");
    }

    #[tokio::test]
    async fn ready_reports_the_database_check_as_json() {
        let app = spawn_app().await;
        let response = app.get("/ready").await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        assert_eq!(body["database"], "ok");
        assert!(body["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    }

    #[tokio::test]
    async fn health_and_ready_answer_head_for_monitors() {
        let app = spawn_app().await;
        for path in ["/health", "/ready"] {
            let response = app.client.head(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
    }
}

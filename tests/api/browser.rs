//! The web page in a real headless Chromium, driven over WebDriver
//! (chromedriver + fantoccini) as a person would use it, against the real
//! server on a random port with a fresh SQLite file.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).
//! Without them the tests return at once and one line says they were
//! skipped; under `CI=true` they fail instead. `CHROMIUM` and `CHROMEDRIVER`
//! override the paths; `SCREENSHOT=path.png` saves a screenshot of the page
//! with a few users.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use user_service::config::DatabaseUrl;
use user_service::config::Settings;
use user_service::startup::Application;
use user_service::tls::TlsFiles;

use crate::skip;

/// How long the page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(10);

struct Page {
    client: Client,
    server: actix_web::dev::ServerHandle,
    driver: Child,
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    _dir: tempfile::TempDir,
}

fn tool(env: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.is_file().then_some(path)
}

/// Starts the server (with `token` if given) and a browser on its page, or
/// returns `None` after saying once why the browser tests are skipped.
async fn open_page(token: Option<&str>) -> Option<Page> {
    open_page_with(token, false).await
}

/// A self-signed certificate for `localhost` in `dir`: (cert, key, PEM).
fn self_signed(dir: &std::path::Path) -> (PathBuf, PathBuf, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &pem).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path, pem)
}

/// As [`open_page`]; with `tls`, the server speaks HTTPS with a self-signed
/// certificate that the browser is told to accept.
async fn open_page_with(token: Option<&str>, tls: bool) -> Option<Page> {
    static SAID: Once = Once::new();
    let chromium = tool("CHROMIUM", "/usr/bin/chromium");
    let chromedriver = tool("CHROMEDRIVER", "/usr/bin/chromedriver");
    let missing = chromium.is_none() || chromedriver.is_none();
    if skip::skip_unless_ci(
        &SAID,
        "the browser tests of the web page",
        missing,
        "chromium and chromedriver are not installed",
        "apt-get install chromium chromium-driver, or run .ci/run",
    ) {
        return None;
    }
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        return None;
    };

    let dir = tempfile::tempdir().unwrap();
    let certificate = tls.then(|| self_signed(dir.path()));
    let settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        workers: std::num::NonZeroUsize::new(2).unwrap(),
        api_tokens: token.map(|t| vec![t.to_owned()]).unwrap_or_default(),
        tls: certificate.as_ref().map(|(cert, key, _)| TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: None,
        }),
        ..Settings::new(DatabaseUrl::Sqlite(dir.path().join("users.db")))
    };

    let app = Application::build(settings).await.unwrap();
    let base = match tls {
        true => format!("https://localhost:{}", app.port()),
        false => format!("http://127.0.0.1:{}", app.port()),
    };
    let server = app.handle();
    tokio::spawn(app.run_until_stopped());

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = dir.path().join("profile");
    let capabilities = json!({
        "acceptInsecureCerts": tls,
        "goog:chromeOptions": {
            "binary": chromium,
            // As root in a container Chromium needs --no-sandbox; the
            // networking flags keep it from calling home on a closed network.
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1100,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }
    });
    let capabilities = match capabilities {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    let webdriver = format!("http://127.0.0.1:{port}");
    // fantoccini's HTTP client asks rustls for the process's default
    // provider, and this test binary builds rustls with two (the service's
    // `ring`, fantoccini's `aws-lc-rs`), so there is none until one is set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    let client = loop {
        match ClientBuilder::rustls()
            .expect("a TLS setup")
            .capabilities(capabilities.clone())
            .connect(&webdriver)
            .await
        {
            Ok(client) => break client,
            Err(e) if started.elapsed() < PATIENCE => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot start a browser session: {e}"),
        }
    };
    Some(Page {
        client,
        server,
        driver,
        base,
        http: match &certificate {
            None => reqwest::Client::builder().no_proxy().build().unwrap(),
            Some((_, _, pem)) => reqwest::Client::builder()
                .no_proxy()
                .use_rustls_tls()
                .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
                .resolve("localhost", ([127, 0, 0, 1], 0).into())
                .build()
                .unwrap(),
        },
        token: token.map(str::to_owned),
        _dir: dir,
    })
}

impl Page {
    async fn visit(&self) {
        self.client.goto(&format!("{}/", self.base)).await.unwrap();
    }

    /// Creates users through the API (not the page), newest last.
    async fn seed(&self, users: &[(&str, &str)]) {
        for (email, name) in users {
            let mut request = self
                .http
                .post(format!("{}/users", self.base))
                .json(&json!({"email": email, "name": name}));
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            assert_eq!(
                request.send().await.unwrap().status(),
                201,
                "seeding {email}"
            );
        }
    }

    async fn api_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Evaluates `script` (which returns a value) until `done` accepts it.
    async fn until(&self, what: &str, script: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let value = self.client.execute(script, vec![]).await.unwrap();
            if done(&value) {
                return value;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "waited {PATIENCE:?} for {what}; last saw {value}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the element's visible text is exactly `expected`.
    async fn until_text(&self, css: &str, expected: &str) {
        let script = format!(
            "const e = document.querySelector({css:?}); return e ? e.innerText.trim() : null;"
        );
        self.until(&format!("{css} to read {expected:?}"), &script, |v| {
            v.as_str() == Some(expected)
        })
        .await;
    }

    /// Waits until the element exists and is not hidden.
    async fn until_visible(&self, css: &str) {
        let script = format!(
            "const e = document.querySelector({css:?}); return !!e && !e.closest('[hidden]');"
        );
        self.until(&format!("{css} to show"), &script, |v| v == &json!(true))
            .await;
    }

    /// Waits until the list shows exactly these names, top to bottom.
    async fn expect_names(&self, expected: &[&str]) {
        self.until(
            &format!("the list to show {expected:?}"),
            "return [...document.querySelectorAll('#users .user .name')].map(e => e.textContent);",
            |v| v == &json!(expected),
        )
        .await;
    }

    /// Waits until the list shows `count` users.
    async fn expect_count(&self, count: usize) {
        self.until(
            &format!("{count} users in the list"),
            "return document.querySelectorAll('#users .user').length;",
            |v| v == &json!(count),
        )
        .await;
    }

    async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_creates_finds_edits_and_deletes_a_user() {
    let Some(page) = open_page(None).await else {
        return;
    };
    page.visit().await;
    page.until_text("#list-status", "No users yet. Add the first one above.")
        .await;

    // A validation error from the API appears next to the field.
    page.fill("#create-email", "not-an-email").await;
    page.fill("#create-name", "Ada Lovelace").await;
    page.click("#create-submit").await;
    page.until_text("#create-email-error", "Invalid email address")
        .await;

    page.fill("#create-email", "Ada@Example.com").await;
    page.click("#create-submit").await;
    page.expect_names(&["Ada Lovelace"]).await;
    page.until_text("#users .user .email", "ada@example.com")
        .await;

    // The same email again: the API's conflict message, on the email field.
    page.fill("#create-email", "ada@example.com").await;
    page.fill("#create-name", "Someone Else").await;
    page.click("#create-submit").await;
    page.until_text("#create-email-error", "Email already exists")
        .await;

    page.seed(&[("bob@example.com", "Bob")]).await;
    page.visit().await;
    page.expect_names(&["Bob", "Ada Lovelace"]).await;
    page.fill("#search-q", "ADA@example").await;
    page.expect_names(&["Ada Lovelace"]).await;
    page.click("#search-clear").await;
    page.expect_names(&["Bob", "Ada Lovelace"]).await;

    // Edit Ada's name in place.
    page.click("#users .user:nth-child(2) .edit").await;
    page.until_visible("#users .user:nth-child(2) .editor")
        .await;
    page.fill(
        "#users .user:nth-child(2) .editor input[name=name]",
        "Countess of Lovelace",
    )
    .await;
    page.click("#users .user:nth-child(2) .save").await;
    page.expect_names(&["Bob", "Countess of Lovelace"]).await;
    let listed: Vec<Value> = page
        .api_get("/users?email=ada@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["name"], "Countess of Lovelace");

    // An invalid edit shows the API's message and changes nothing.
    page.click("#users .user:nth-child(1) .edit").await;
    page.until_visible("#users .user:nth-child(1) .editor")
        .await;
    page.fill(
        "#users .user:nth-child(1) .editor input[name=email]",
        "bob at example",
    )
    .await;
    page.click("#users .user:nth-child(1) .save").await;
    page.until_text(
        "#users .user:nth-child(1) .edit-error",
        "Invalid email address",
    )
    .await;
    page.click("#users .user:nth-child(1) .cancel").await;

    // Delete Bob, confirming first.
    page.click("#users .user:nth-child(1) .delete").await;
    page.until_visible("#users .user:nth-child(1) .confirm")
        .await;
    page.until_text(
        "#users .user:nth-child(1) .confirm-text",
        "Delete bob@example.com? This cannot be undone.",
    )
    .await;
    page.click("#users .user:nth-child(1) .confirm-delete")
        .await;
    page.expect_names(&["Countess of Lovelace"]).await;
    let bob: Vec<Value> = page
        .api_get("/users?email=bob@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert!(bob.is_empty(), "Bob is deleted in the database too");
    page.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_after_someone_elses_change_is_refused_and_offers_a_reload() {
    let Some(page) = open_page(None).await else {
        return;
    };
    page.seed(&[("ada@example.com", "Ada")]).await;
    page.visit().await;
    page.expect_names(&["Ada"]).await;
    page.click("#users .user .edit").await;
    page.until_visible("#users .user .editor").await;

    // Someone else renames Ada while the editor is open.
    let ada: Vec<Value> = page
        .api_get("/users?email=ada@example.com")
        .await
        .json()
        .await
        .unwrap();
    let id = ada[0]["id"].as_str().unwrap();
    let changed = page
        .http
        .patch(format!("{}/users/{id}", page.base))
        .json(&json!({"name": "Countess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);

    page.fill("#users .user .editor input[name=name]", "Ada Lovelace")
        .await;
    page.click("#users .user .save").await;
    page.until_text(
        "#users .user .edit-error",
        "Someone else changed this user after you opened it; your edit was not saved. Reload this user",
    )
    .await;
    let stored: Value = page
        .api_get(&format!("/users/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["name"], "Countess", "the other change is kept");

    // Reload shows their change; saving now works.
    page.click("#users .user .reload-user").await;
    page.until_text(
        "#users .user .edit-error",
        "Reloaded: this is the user as it is now.",
    )
    .await;
    let shown = page
        .client
        .execute(
            "return document.querySelector('#users .user .editor input[name=name]').value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, json!("Countess"));
    page.fill("#users .user .editor input[name=name]", "Countess Ada")
        .await;
    page.click("#users .user .save").await;
    page.expect_names(&["Countess Ada"]).await;

    // A delete confirmed after someone else's change is refused too.
    page.click("#users .user .delete").await;
    page.until_visible("#users .user .confirm").await;
    let changed = page
        .http
        .patch(format!("{}/users/{id}", page.base))
        .json(&json!({"email": "countess@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    page.click("#users .user .confirm-delete").await;
    page.until_text(
        "#users .user .confirm-text",
        "Someone else changed this user after you asked to delete it; it was not deleted. Reload this user",
    )
    .await;
    assert_eq!(page.api_get(&format!("/users/{id}")).await.status(), 200);
    page.click("#users .user .reload-user").await;
    page.until_text(
        "#users .user .confirm-text",
        "Delete countess@example.com? This cannot be undone.",
    )
    .await;
    page.click("#users .user .confirm-delete").await;
    page.expect_count(0).await;
    page.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_pages_by_the_link_header_and_goes_back_to_the_first_page() {
    let Some(page) = open_page(None).await else {
        return;
    };
    let emails: Vec<String> = (0..45).map(|i| format!("user{i:02}@example.com")).collect();
    let users: Vec<(&str, &str)> = emails.iter().map(|e| (e.as_str(), "Paged User")).collect();
    page.seed(&users).await;
    page.visit().await;
    let first_email = "return document.querySelector('#users .user .email')?.textContent;";
    page.expect_count(20).await;
    page.until("the newest first", first_email, |v| {
        v == "user44@example.com"
    })
    .await;
    page.click("#next-page").await;
    page.until("page 2", first_email, |v| v == "user24@example.com")
        .await;
    page.click("#next-page").await;
    page.expect_count(5).await;
    page.until(
        "the oldest last",
        "return document.querySelector('#users .user:last-child .email').textContent;",
        |v| v == "user00@example.com",
    )
    .await;
    let next_hidden = "return document.querySelector('#next-page').hidden;";
    page.until("no next page at the end", next_hidden, |v| v == true)
        .await;
    page.click("#first-page").await;
    page.until("back on the first page", first_email, |v| {
        v == "user44@example.com"
    })
    .await;
    page.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_asked_for_and_kept_for_the_session() {
    let Some(page) = open_page(Some("let-me-in")).await else {
        return;
    };
    page.seed(&[("ada@example.com", "Ada")]).await;
    page.visit().await;
    page.until_text(
        "#token-help",
        "This service needs an API token. Enter it to continue; it is kept in this browser tab only.",
    )
    .await;
    page.fill("#token-input", "wrong").await;
    page.click("#token-form button[type=submit]").await;
    page.until_text(
        "#token-help",
        "The API token was not accepted. Enter a valid token.",
    )
    .await;
    page.fill("#token-input", "let-me-in").await;
    page.click("#token-form button[type=submit]").await;
    page.expect_names(&["Ada"]).await;
    // A reload keeps the token (sessionStorage).
    page.visit().await;
    page.expect_names(&["Ada"]).await;
    page.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_sized_window_needs_no_horizontal_scrolling() {
    let Some(page) = open_page(None).await else {
        return;
    };
    let long = format!("{}@example.com", "a".repeat(60));
    let name = "Maria Salomea Skłodowska-Curie, twice Nobel laureate (physics, chemistry)";
    page.seed(&[
        (long.as_str(), name),
        ("ada@example.com", "Ada Lovelace"),
        ("grace@example.com", "Grace Hopper"),
    ])
    .await;
    page.client.set_window_size(390, 844).await.unwrap();
    page.visit().await;
    page.expect_count(3).await;
    let overflow = page
        .client
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(0), "the page is wider than the window");
    if let Some(path) = std::env::var_os("SCREENSHOT_PHONE") {
        std::fs::write(path, page.client.screenshot().await.unwrap()).unwrap();
    }
    page.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_has_a_label_and_the_forms_work_from_the_keyboard() {
    let Some(page) = open_page(None).await else {
        return;
    };
    page.visit().await;
    page.until_text("#list-status", "No users yet. Add the first one above.")
        .await;
    let unlabelled = page
        .client
        .execute(
            "return [...document.querySelectorAll('input')].filter(i => i.labels.length === 0).map(i => i.id || i.name);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(unlabelled, json!([]));
    // Type and press Enter: no mouse.
    page.fill("#create-email", "keys@example.com").await;
    page.fill("#create-name", "Keyboard User\u{e007}").await; // U+E007: WebDriver's Enter
    page.expect_names(&["Keyboard User"]).await;
    if let Some(path) = std::env::var_os("SCREENSHOT") {
        page.seed(&[
            ("ada@example.com", "Ada Lovelace"),
            ("grace@example.com", "Grace Hopper"),
        ])
        .await;
        page.visit().await;
        page.expect_count(3).await;
        std::fs::write(path, page.client.screenshot().await.unwrap()).unwrap();
    }
    page.close().await;
}

/// The `GET /users` requests the server has answered.
async fn list_requests(page: &Page) -> f64 {
    let text = page.api_get("/metrics").await.text().await.unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("user_service_http_requests_total")
                && l.contains("route=\"/users\"")
                && l.contains("method=\"GET\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_searches_as_they_type_sorts_by_a_column_and_bookmarks_it() {
    let Some(page) = open_page(None).await else {
        return;
    };
    page.seed(&[
        ("ada@example.com", "Ada Lovelace"),
        ("grace@example.com", "Grace Hopper"),
        ("alan@example.com", "Alan Turing"),
        ("zoe@example.com", "zoë Müller"),
    ])
    .await;
    page.visit().await;
    page.expect_names(&["zoë Müller", "Alan Turing", "Grace Hopper", "Ada Lovelace"])
        .await;

    // Typing a whole word asks the server once, after the typing pauses.
    let before = list_requests(&page).await;
    page.fill("#search-q", "lovelace").await;
    page.expect_names(&["Ada Lovelace"]).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let asked = list_requests(&page).await - before;
    assert!(
        (1.0..=2.0).contains(&asked),
        "{asked} list requests for one typed word"
    );
    let search = "return location.search;";
    page.until("the search in the URL", search, |v| v == "?q=lovelace")
        .await;

    // One or two letters: the start of a word.
    page.fill("#search-q", "mü").await;
    page.expect_names(&["zoë Müller"]).await;
    page.fill("#search-q", "nobody").await;
    page.until_text("#list-status", "No user matches “nobody”.")
        .await;
    page.click("#search-clear").await;
    page.until("no search in the URL", search, |v| v == "")
        .await;

    // A column header sorts; again, it reverses; the header says which.
    page.click(".sort[data-key=name]").await;
    page.expect_names(&["Ada Lovelace", "Alan Turing", "Grace Hopper", "zoë Müller"])
        .await;
    page.click(".sort[data-key=name]").await;
    page.expect_names(&["zoë Müller", "Grace Hopper", "Alan Turing", "Ada Lovelace"])
        .await;
    let aria = "return document.querySelector('.sort[data-key=name]').parentElement.getAttribute('aria-sort');";
    page.until("name sorted descending", aria, |v| v == "descending")
        .await;

    // From the keyboard: the header is a button.
    let email = page
        .client
        .find(Locator::Css(".sort[data-key=email]"))
        .await
        .unwrap();
    email.send_keys("\u{e007}").await.unwrap(); // WebDriver's Enter
    page.expect_names(&["Ada Lovelace", "Alan Turing", "Grace Hopper", "zoë Müller"])
        .await;

    // A bookmark brings back the search and the order.
    page.client
        .goto(&format!("{}/?q=a&sort=-name", page.base))
        .await
        .unwrap();
    page.expect_names(&["Alan Turing", "Ada Lovelace"]).await;
    page.until(
        "the box shows the search",
        "return document.querySelector('#search-q').value;",
        |v| v == "a",
    )
    .await;
    page.until("name sorted descending", aria, |v| v == "descending")
        .await;
    page.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_service_is_gone_the_page_says_so_and_offers_a_retry() {
    let Some(page) = open_page(None).await else {
        return;
    };
    page.seed(&[("ada@example.com", "Ada")]).await;
    page.visit().await;
    page.expect_names(&["Ada"]).await;
    page.server.stop(true).await;
    page.fill("#search-q", "ada").await;
    page.until_text(
        "#notice",
        "The service cannot be reached. Check that it is running. Try again",
    )
    .await;
    page.close().await;
}

/// The page over HTTPS: served, scripted and talking to the API as over
/// plain HTTP (its requests are to its own origin).
#[tokio::test]
async fn the_page_works_over_https() {
    let Some(page) = open_page_with(None, true).await else {
        return;
    };
    assert!(page.base.starts_with("https://"));
    page.visit().await;
    page.until_text("#list-status", "No users yet. Add the first one above.")
        .await;
    page.fill("#create-email", "tls@example.com").await;
    page.fill("#create-name", "Over HTTPS").await;
    page.click("#create-submit").await;
    page.expect_names(&["Over HTTPS"]).await;
    page.seed(&[("second@example.com", "Second")]).await;
    page.visit().await;
    page.expect_names(&["Second", "Over HTTPS"]).await;
    page.close().await;
}

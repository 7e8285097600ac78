//! The web page at `/` and its assets under `/static/`, compiled into the
//! binary from `static/`. Served with an ETag (revalidated on every use, so
//! a new binary is picked up at once and an unchanged page costs a 304) and
//! a Content-Security-Policy that allows nothing but this origin.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use super::paths;
use crate::domain::Fnv;
use crate::error::ApiError;

/// Only same-origin scripts, styles and requests; no inline code, no
/// framing, no plugins.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../static/index.html"),
    },
    Asset {
        path: "/static/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/app.js"),
    },
    Asset {
        path: "/static/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/app.css"),
    },
];

/// `"<hash>"` of each asset's bytes, computed once.
fn etags() -> &'static [String; 3] {
    static ETAGS: OnceLock<[String; 3]> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS.each_ref().map(|asset| {
            let mut hash = Fnv::new();
            hash.write(asset.body);
            format!("\"{:016x}\"", hash.finish())
        })
    })
}

/// The web page.
#[utoipa::path(
    get,
    path = paths::INDEX,
    tag = "page",
    summary = "The web page",
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html; charset=utf-8",
            headers(("ETag" = String), ("Content-Security-Policy" = String))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag")
    )
)]
pub(super) fn index(request: &HttpRequest) -> Result<HttpResponse, ApiError> {
    asset(request)
}

/// A script or style sheet of the page.
#[utoipa::path(
    get,
    path = paths::STATIC,
    tag = "page",
    summary = "An asset of the web page",
    params(("file" = String, Path, description = "An asset of the page", example = "app.js")),
    responses(
        (status = 200, description = "The asset",
            content(
                (String = "text/javascript; charset=utf-8"),
                (String = "text/css; charset=utf-8")
            ),
            headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "No such asset", body = super::schema::ErrorSchema)
    )
)]
pub(super) fn static_asset(request: &HttpRequest) -> Result<HttpResponse, ApiError> {
    asset(request)
}

/// `GET`/`HEAD` of `/` or a file under `/static/`.
fn asset(request: &HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = request.path();
    let Some(index) = ASSETS.iter().position(|asset| asset.path == path) else {
        return Err(ApiError::RouteNotFound);
    };
    let asset = &ASSETS[index];
    let etag = &etags()[index];
    let matches = request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if asset.content_type.starts_with("text/html") {
        response.insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ));
    }
    if matches {
        return Ok(response.finish());
    }
    Ok(response.content_type(asset.content_type).body(asset.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_etag() {
        let tags = etags();
        assert_ne!(tags[0], tags[1]);
        assert_ne!(tags[1], tags[2]);
        assert!(tags.iter().all(|t| t.len() == 18 && t.starts_with('"')));
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere_and_has_no_inline_code() {
        let html = std::str::from_utf8(ASSETS[0].body).unwrap();
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script>") && !html.contains(" style="));
        assert!(!html.contains(" onclick="));
    }
}

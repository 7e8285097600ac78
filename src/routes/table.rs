//! The route table: every route of the API once, with what the rest of the
//! HTTP layer needs to know about it. The metrics' `route` labels, the
//! rate-limit exemptions, the token guard, the `Allow` header of a 405 and
//! the dispatch to handlers ([`super::dispatch`]) all read this table; a test
//! checks it against the OpenAPI document and the live server, and the
//! dispatch's exhaustive `match` on [`Route`] refuses a route without a
//! handler.
//!
//! A request is matched once, by the outermost middleware, and the
//! [`Matched`] route travels in the request's extensions. The matcher is a
//! prefix/suffix comparison, not a regex: actix's `{id}` regex took 4 % of
//! a GET by id's samples (BENCHMARKS.md, "What the profiles showed").

use std::ops::Range;

use actix_web::dev::Extensions;

use super::paths;

/// A route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Index,
    Static,
    OpenApi,
    Metrics,
    Health,
    Ready,
    Users,
    User,
}

/// One row of the table.
#[derive(Debug)]
pub struct RouteSpec {
    pub route: Route,
    /// The path as the OpenAPI document writes it; at most one `{param}`,
    /// which matches one non-empty path segment. Also the metrics label.
    pub template: &'static str,
    /// The methods answered, as the `Allow` header of a 405 lists them.
    pub allow: &'static str,
    /// Needs the API token when one is configured. Unmatched paths that
    /// start with a guarded route's first segment (`/users/a/b`) need it
    /// too, so a stranger cannot probe what exists below it.
    pub needs_token: bool,
    /// Counts against `--rate-limit`; probes of load balancers do not.
    pub rate_limited: bool,
}

/// Every route; a route's index here is its metrics slot.
pub const TABLE: [RouteSpec; 8] = [
    spec(Route::Users, paths::USERS, "GET, HEAD, POST", true, true),
    spec(
        Route::User,
        paths::USER,
        "GET, HEAD, PATCH, DELETE",
        true,
        true,
    ),
    spec(Route::Index, paths::INDEX, "GET, HEAD", false, true),
    spec(Route::Static, paths::STATIC, "GET, HEAD", false, true),
    spec(Route::OpenApi, paths::OPENAPI, "GET, HEAD", false, true),
    spec(Route::Metrics, paths::METRICS, "GET, HEAD", true, true),
    spec(Route::Health, paths::HEALTH, "GET, HEAD", false, false),
    spec(Route::Ready, paths::READY, "GET, HEAD", false, false),
];

const fn spec(
    route: Route,
    template: &'static str,
    allow: &'static str,
    needs_token: bool,
    rate_limited: bool,
) -> RouteSpec {
    RouteSpec {
        route,
        template,
        allow,
        needs_token,
        rate_limited,
    }
}

/// What the table made of a request's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// Index into [`TABLE`]; `None` for a path no route has.
    pub index: Option<usize>,
    /// Where the template's `{param}` is in the path.
    param: Range<usize>,
    /// Whether a token is needed (see [`RouteSpec::needs_token`]).
    pub needs_token: bool,
}

impl Matched {
    pub fn spec(&self) -> Option<&'static RouteSpec> {
        self.index.map(|index| &TABLE[index])
    }

    /// The `{param}` segment of `path` (the path this was matched from).
    pub fn param<'a>(&self, path: &'a str) -> &'a str {
        path.get(self.param.clone()).unwrap_or_default()
    }

    pub fn rate_limited(&self) -> bool {
        self.spec().is_none_or(|spec| spec.rate_limited)
    }
}

/// The route the outermost middleware matched for this request (it keeps
/// it in the extensions), or `path` matched now where it did not run.
pub fn matched(extensions: &Extensions, path: &str) -> Matched {
    extensions
        .get::<Matched>()
        .cloned()
        .unwrap_or_else(|| find(path))
}

/// The route of `path` (no query string).
pub fn find(path: &str) -> Matched {
    for (index, spec) in TABLE.iter().enumerate() {
        if let Some(param) = match_template(spec.template, path) {
            return Matched {
                index: Some(index),
                param,
                needs_token: spec.needs_token,
            };
        }
    }
    let first = first_segment(path);
    Matched {
        index: None,
        param: 0..0,
        needs_token: TABLE
            .iter()
            .any(|spec| spec.needs_token && first_segment(spec.template) == first),
    }
}

/// Where `template`'s `{param}` is in `path` (an empty range for a template
/// without one), or `None` when `path` does not have the template's shape.
fn match_template(template: &str, path: &str) -> Option<Range<usize>> {
    let Some((prefix, rest)) = template.split_once('{') else {
        return (template == path).then_some(0..0);
    };
    let suffix = rest.split_once('}').map_or("", |(_, suffix)| suffix);
    let tail = path.strip_prefix(prefix)?;
    let len = tail.find('/').unwrap_or(tail.len());
    (len > 0 && &tail[len..] == suffix).then_some(prefix.len()..prefix.len() + len)
}

fn first_segment(path: &str) -> &str {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.split_once('/').map_or(path, |(first, _)| first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route_of(path: &str) -> Option<Route> {
        find(path).spec().map(|spec| spec.route)
    }

    #[test]
    fn every_template_matches_a_concrete_path_of_its_own_shape_only() {
        for spec in &TABLE {
            let concrete = spec
                .template
                .replace("{id}", "x")
                .replace("{file}", "app.js");
            assert_eq!(route_of(&concrete), Some(spec.route), "{concrete}");
            assert_eq!(
                spec.template.matches('{').count(),
                spec.template.matches('}').count()
            );
            assert!(spec.template.matches('{').count() <= 1, "{}", spec.template);
        }
        let routes: Vec<Route> = TABLE.iter().map(|spec| spec.route).collect();
        for (i, route) in routes.iter().enumerate() {
            assert!(!routes[i + 1..].contains(route), "{route:?} twice");
        }
    }

    #[test]
    fn a_param_is_one_non_empty_segment() {
        let id = "0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10";
        let path = format!("/users/{id}");
        let matched = find(&path);
        assert_eq!(matched.spec().map(|s| s.route), Some(Route::User));
        assert_eq!(matched.param(&path), id);
        assert_eq!(route_of("/users"), Some(Route::Users));
        assert_eq!(route_of("/static/app.js"), Some(Route::Static));
        for unmatched in [
            "/users/",
            "/users/a/b",
            "/usersabc",
            "/health/x",
            "/wp-admin.php",
            "",
        ] {
            assert_eq!(route_of(unmatched), None, "{unmatched}");
        }
    }

    #[test]
    fn paths_below_a_guarded_route_need_the_token_and_others_do_not() {
        for guarded in [
            "/users",
            "/users/x",
            "/users/",
            "/users/a/b",
            "/metrics",
            "/metrics/x",
        ] {
            assert!(find(guarded).needs_token, "{guarded}");
        }
        for open in [
            "/",
            "/health",
            "/ready",
            "/openapi.json",
            "/static/app.js",
            "/usersabc",
            "/nope",
        ] {
            assert!(!find(open).needs_token, "{open}");
        }
    }

    #[test]
    fn only_the_probes_are_exempt_from_the_rate_limit() {
        assert!(!find("/health").rate_limited());
        assert!(!find("/ready").rate_limited());
        assert!(find("/users").rate_limited());
        assert!(find("/health/x").rate_limited());
    }
}

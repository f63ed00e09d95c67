//! What every response and every form of the web interface is guarded by.
//!
//! - **Headers on every response**: nothing is cached (`no-store`: Back after sign-out must not
//!   show the previous learner's page on a shared kiosk), a Content-Security-Policy that allows
//!   no script but the app's own file, no framing and no outside resources, `nosniff`, and no referrer sent to other sites
//!   (`same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with
//!   every form, which the origin check below must refuse).
//! - **Forms from this origin only**: a POST whose `Origin` (or, failing that, `Referer`) is not
//!   this server is refused — SameSite cookies alone do not stop a page on another port of the
//!   same host, which is "same site".
//! - **Form tokens**: every form carries a token bound to the session (or, before sign-in, to a
//!   short-lived cookie), so a form cannot be forged from anywhere, and a browser cannot be signed
//!   into an attacker's account.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The policy for pages: styles from our own stylesheet, our one script file (`/app.js`: Print,
/// the idle return and its warning) and the requests it makes to ourselves, images inline (QR
/// codes), forms to ourselves, nothing else — no inline script, so a name that escaped its
/// escaping still could not run.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'";

/// The policy for the printable certificate, which carries its own inline styles; its toolbar
/// uses the same script file and signs out with a form.
pub const CERTIFICATE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline' 'self'; \
script-src 'self'; connect-src 'self'; img-src data:; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'";

/// The cookie that carries the sign-in form's token before anyone has signed in.
pub const PRE_SESSION_COOKIE: &str = "cairn_form";

/// Add the security headers to every response (a handler may set its own policy first).
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(h, header::CACHE_CONTROL, "no-store");
    set(h, header::CONTENT_SECURITY_POLICY, PAGE_POLICY);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    response
}

/// Whether `origin` (scheme://host[:port]) names this server, as the request's `Host` does.
fn same_origin(origin: &str, host: &str) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    rest.is_some_and(|r| r.trim_end_matches('/').eq_ignore_ascii_case(host))
}

/// Refuse a state-changing request that comes from another origin.
pub async fn same_origin_posts(request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let h = request.headers();
        let host = h
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin = h.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let referer = h.get(header::REFERER).and_then(|v| v.to_str().ok());
        let from_here = match (origin, referer) {
            // "null" is what a sandboxed or privacy-stripped page sends: not us.
            (Some(o), _) => same_origin(o, host),
            (None, Some(r)) => {
                let origin_of_referer: String =
                    r.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
                same_origin(&origin_of_referer, host)
            }
            // Neither: an old client or a tool; the form token still has to match.
            (None, None) => true,
        };
        if !from_here {
            tracing::warn!(
                ?origin,
                ?referer,
                host,
                "refused a form posted from another origin"
            );
            return (
                StatusCode::FORBIDDEN,
                "This form was sent from another site.",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// A new random form token.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 24]>())
}

/// Compare tokens in constant time.
pub fn tokens_match(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    !a.is_empty() && a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)?
                .strip_prefix('=')
                .map(str::to_string)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_with_host_and_port() {
        assert!(same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(!same_origin("http://127.0.0.1:9999", "127.0.0.1:8080"));
        assert!(!same_origin("null", "127.0.0.1:8080"));
        assert!(!same_origin("http://evil.example", "127.0.0.1:8080"));
        assert!(tokens_match("abc", "abc") && !tokens_match("abc", "abd") && !tokens_match("", ""));
    }
}

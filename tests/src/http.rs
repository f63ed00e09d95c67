//! A minimal HTTP/1.1 client for attacking and probing the web interface: raw requests from a
//! chosen loopback source address (Linux routes all of 127.0.0.0/8 to `lo`), no cookie jar, no
//! redirects followed, so tests see exactly what the server answered.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// What the server answered.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `name=value` of every `Set-Cookie`, attributes dropped.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next().map(|c| c.trim().to_string()))
            .collect()
    }

    /// Where a redirect points.
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: Vec<(&'a str, String)>,
    pub body: Vec<u8>,
    /// The loopback source address to connect from (default 127.0.0.1).
    pub from: Option<Ipv4Addr>,
}

impl<'a> Request<'a> {
    pub fn get(path: &'a str) -> Self {
        Request {
            method: "GET",
            path,
            headers: Vec::new(),
            body: Vec::new(),
            from: None,
        }
    }

    /// A form POST (`application/x-www-form-urlencoded`) of `fields`.
    pub fn form(path: &'a str, fields: &[(&str, &str)]) -> Self {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        Request {
            method: "POST",
            path,
            headers: vec![(
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            )],
            body: body.into_bytes(),
            from: None,
        }
    }

    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn cookie(self, cookie: &str) -> Self {
        self.header("cookie", cookie.to_string())
    }

    pub fn from(mut self, ip: Ipv4Addr) -> Self {
        self.from = Some(ip);
        self
    }
}

/// Percent-encode a form value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Send a request to `server` (`host:port`) and read the whole answer (30 s limit).
pub fn send(server: &str, req: &Request<'_>) -> std::io::Result<Response> {
    let target: SocketAddr = server
        .parse()
        .map_err(|e| std::io::Error::other(format!("{server}: {e}")))?;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    if let Some(ip) = req.from {
        socket.bind(&SocketAddr::new(IpAddr::V4(ip), 0).into())?;
    }
    socket.connect_timeout(&target.into(), Duration::from_secs(10))?;
    let mut stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {server}\r\nconnection: close\r\ncontent-length: {}\r\n",
        req.method,
        req.path,
        req.body.len()
    );
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    // A server that refuses a large body may answer and close before reading it all: keep what
    // it said rather than the write error.
    let wrote = stream.write_all(&req.body);
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw);
    if raw.is_empty() {
        wrote?;
        read?;
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> std::io::Result<Response> {
    let bad = |what: &str| std::io::Error::other(format!("malformed response: {what}"));
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body).ok_or_else(|| bad("chunked body"))?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// The hidden `csrf` value of the first form on a page, if any.
pub fn csrf_field(page: &Response) -> Option<String> {
    let text = page.text();
    let at = text.find("name=\"csrf\"")?;
    let rest = &text[at..];
    let v = rest.find("value=\"")? + 7;
    let end = rest[v..].find('"')?;
    Some(rest[v..v + end].to_string())
}

/// The sign-in page as a browser holds it: its form token and cookies.
#[derive(Debug, Clone)]
pub struct SignInPage {
    pub token: Option<String>,
    pub cookies: String,
}

/// Fetch the sign-in page from `from`.
pub fn sign_in_page(web: &str, from: Ipv4Addr) -> SignInPage {
    let page = send(web, &Request::get("/signin").from(from)).expect("sign-in page");
    SignInPage {
        token: csrf_field(&page),
        cookies: page.cookies().join("; "),
    }
}

/// Post a sign-in form (`kind` is `learner` or `staff`) from a fetched page.
pub fn post_sign_in(
    web: &str,
    from: Ipv4Addr,
    page: &SignInPage,
    kind: &str,
    who: &str,
    secret: &str,
) -> Response {
    let mut fields: Vec<(&str, &str)> = if kind == "learner" {
        vec![("number", who), ("pin", secret)]
    } else {
        vec![("name", who), ("secret", secret)]
    };
    if let Some(t) = &page.token {
        fields.push(("csrf", t));
    }
    let path = format!("/signin/{kind}");
    let mut req = Request::form(&path, &fields)
        .from(from)
        .header("origin", format!("http://{web}"));
    if !page.cookies.is_empty() {
        req = req.cookie(&page.cookies);
    }
    send(web, &req).expect("sign-in answer")
}

/// Sign in as a browser would: fetch the page, then post its form.
pub fn sign_in(web: &str, from: Ipv4Addr, kind: &str, who: &str, secret: &str) -> Response {
    post_sign_in(web, from, &sign_in_page(web, from), kind, who, secret)
}

//! How nodes reach each other: mutually authenticated TLS over TCP.

pub mod tls;

//! Open Badges 3.0 credentials (placeholder; see issue 6).

//! Printable documents (placeholder until the docs helper lands).

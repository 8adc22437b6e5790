//! Load errors that name the file and line, shared by every data file the core reads
//! (policy profiles, calendars).

use std::fmt;

/// One problem in a data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: String,
    /// 1-based line number; 0 when the problem concerns the whole file.
    pub line: usize,
    pub message: String,
}

impl LoadError {
    pub fn new(file: &str, line: usize, message: impl Into<String>) -> Self {
        LoadError { file: file.to_owned(), line, message: message.into() }
    }

    pub fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> Self {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        LoadError::new(file, line, e.message().trim().to_owned())
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

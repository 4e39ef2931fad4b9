//! Errors in a model description or its weights, located by file, line and column.
//!
//! Every stage of loading collects the problems it finds into [`ModelErrors`] instead of stopping at
//! the first, so that a person fixing a model sees all of them at once. Each [`ModelError`] carries an
//! [`ErrorKind`] that callers can match on, the file it is about, and where it is known a [`Span`]
//! in the model description together with the text of that line, so that `Display` can underline it.

use std::fmt;
use std::path::{Path, PathBuf};

/// A region of the model description: 1-based line and column of its start, and byte offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub col: u32,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

/// What went wrong, grouped so that tools can react to a class of problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read.
    Io,
    /// The text is not well formed: a stray character, a missing `=` or `)`.
    Syntax,
    /// An operation name that nnc does not know.
    UnknownOp,
    /// An argument is missing, unknown, repeated, or has a value the op cannot take.
    BadArgument,
    /// Two layers (or two outputs) with the same name.
    DuplicateName,
    /// A reference to a layer that has not been defined above.
    UndefinedName,
    /// The network's inputs or outputs are missing or not as nnc requires.
    BadGraph,
    /// The channel counts of an op's inputs do not fit the op.
    ChannelMismatch,
    /// The spatial sizes of an op's inputs do not fit together at a given input size.
    ShapeMismatch,
    /// An input is too small for the network: some layer would have no output pixels.
    InputTooSmall,
    /// The weights file is not a valid safetensors file.
    WeightsFile,
    /// A tensor the description needs is not in the weights file.
    MissingWeight,
    /// The weights file holds a tensor that the description does not use.
    ExtraWeight,
    /// A tensor has a shape other than the layer needs.
    WeightShape,
    /// A tensor is stored in a dtype other than f32 or f16.
    WeightDtype,
}

/// One problem found in a model description or its weights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError {
    /// The class of problem.
    pub kind: ErrorKind,
    /// The file the problem is in (the description, or the weights file).
    pub file: PathBuf,
    /// Where in the model description, when the problem has a place there.
    pub span: Option<Span>,
    /// What is wrong, as one sentence without a trailing period.
    pub message: String,
    /// What was expected or how to fix it, when there is something useful to say.
    pub help: Option<String>,
    /// The text of the line `span` points into, to underline it when displayed.
    pub source_line: Option<String>,
}

impl ModelError {
    /// An error about a file as a whole (no place inside it).
    pub fn in_file(kind: ErrorKind, file: &Path, message: impl Into<String>) -> Self {
        ModelError {
            kind,
            file: file.to_path_buf(),
            span: None,
            message: message.into(),
            help: None,
            source_line: None,
        }
    }

    /// Adds a hint saying what was expected.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col`, or just `file` when the error has no place.
    pub fn location(&self) -> String {
        match self.span {
            Some(s) => format!("{}:{}:{}", self.file.display(), s.line, s.col),
            None => self.file.display().to_string(),
        }
    }
}

impl fmt::Display for ModelError {
    /// Renders the error the way rustc does: message, location, the line underlined, then the hint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        write!(f, "  --> {}", self.location())?;
        if let (Some(span), Some(line)) = (self.span, &self.source_line) {
            let number = span.line.to_string();
            let pad = " ".repeat(number.len());
            let col = span.col as usize;
            // Underline at least one character, and never past the end of the line.
            let width = line[..]
                .chars()
                .skip(col.saturating_sub(1))
                .take(span.end.saturating_sub(span.start).max(1))
                .count()
                .max(1);
            write!(f, "\n{pad} |\n{number} | {line}\n{pad} | ")?;
            write!(
                f,
                "{}{}",
                " ".repeat(col.saturating_sub(1)),
                "^".repeat(width)
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ModelError {}

/// All the problems found in one model, in the order of the places they are about.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ModelErrors {
    errors: Vec<ModelError>,
}

impl ModelErrors {
    /// Records one more problem.
    pub fn push(&mut self, error: ModelError) {
        self.errors.push(error);
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The problems, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, ModelError> {
        self.errors.iter()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Moves every problem of `other` into `self`.
    pub fn extend(&mut self, other: ModelErrors) {
        self.errors.extend(other.errors);
    }

    /// `Ok(value)` when nothing was recorded, otherwise the errors sorted by place.
    pub fn finish<T>(mut self, value: T) -> Result<T, ModelErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            self.errors
                .sort_by_key(|e| e.span.map(|s| s.start).unwrap_or(usize::MAX));
            Err(self)
        }
    }
}

impl From<ModelError> for ModelErrors {
    fn from(error: ModelError) -> Self {
        ModelErrors {
            errors: vec![error],
        }
    }
}

impl FromIterator<ModelError> for ModelErrors {
    fn from_iter<I: IntoIterator<Item = ModelError>>(iter: I) -> Self {
        ModelErrors {
            errors: iter.into_iter().collect(),
        }
    }
}

impl IntoIterator for ModelErrors {
    type Item = ModelError;
    type IntoIter = std::vec::IntoIter<ModelError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a> IntoIterator for &'a ModelErrors {
    type Item = &'a ModelError;
    type IntoIter = std::slice::Iter<'a, ModelError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for ModelErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.errors.len() > 1 {
            write!(f, "\n\n{} errors", self.errors.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ModelErrors {}

//! The text of a `.nnc` description, parsed into a syntax tree that keeps every token's [`Span`].
//!
//! The format is line oriented. `#` starts a comment. Each statement is one of
//!
//! ```text
//! NAME = OP(ARG, ARG, KEY=VALUE, ...)     # a layer; positional args name earlier layers
//! output NAME                             # a head, named after the layer it exposes
//! output HEAD = NAME                      # a head with a name of its own
//! ```
//!
//! A statement ends at the end of its line, except inside parentheses, where it may go on over
//! several lines. An unclosed parenthesis is caught at the next line that starts a new layer. Nothing here knows what the ops mean: that is [`crate::lower`]'s job.

use crate::error::{ErrorKind, ModelError, ModelErrors, Span};
use std::path::Path;

/// A name with the place it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub text: String,
    pub span: Span,
}

/// The value of a `key=value` argument.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Int(i64),
    /// Two whole numbers written `AxB` (a window's rows and columns: `k=1x3`).
    Pair(i64, i64),
    Float(f64),
    Word(String),
    Str(String),
}

/// One argument of a call: a positional reference to a layer, or `key=value`.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Positional(Ident),
    Keyword {
        key: Ident,
        value: Literal,
        value_span: Span,
    },
}

/// One statement of the description.
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    /// `name = op(args)`.
    Layer {
        name: Ident,
        op: Ident,
        args: Vec<Arg>,
    },
    /// `output head = value` or `output value`.
    Output { head: Ident, value: Ident },
}

/// The description as written: its statements in order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SyntaxTree {
    pub statements: Vec<Statement>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Pair(i64, i64),
    Float(f64),
    Str(String),
    Punct(char),
    Newline,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Int(i) => format!("`{i}`"),
            Tok::Pair(a, b) => format!("`{a}x{b}`"),
            Tok::Float(x) => format!("`{x}`"),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::Newline => "end of line".to_string(),
            Tok::Eof => "end of file".to_string(),
        }
    }
}

/// Turns text into tokens; newlines are tokens because they end statements.
struct Lexer<'a> {
    src: &'a str,
    file: &'a Path,
    pos: usize,
    line: u32,
    col: u32,
}

impl<'a> Lexer<'a> {
    fn span_from(&self, start: usize, line: u32, col: u32) -> Span {
        Span {
            line,
            col,
            start,
            end: self.pos,
        }
    }

    /// A syntax error about the text from `start` (at `line`:`col`) to here.
    fn syntax_error(
        &self,
        start: usize,
        line: u32,
        col: u32,
        message: impl Into<String>,
    ) -> ModelError {
        let span = self.span_from(start, line, col);
        error_at(self.src, self.file, ErrorKind::Syntax, span, message)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.src[self.pos..].chars().next()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn run(mut self, errors: &mut ModelErrors) -> Vec<(Tok, Span)> {
        let mut out = Vec::new();
        loop {
            let (start, line, col) = (self.pos, self.line, self.col);
            let Some(c) = self.bump() else {
                out.push((Tok::Eof, self.span_from(start, line, col)));
                return out;
            };
            let tok = match c {
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                    continue;
                }
                '\n' => Tok::Newline,
                c if c.is_whitespace() => continue,
                '(' | ')' | '[' | ']' | '=' | ',' | ':' => Tok::Punct(c),
                '"' => {
                    let mut text = String::new();
                    loop {
                        // A string ends at its closing quote; the end of the line or file before
                        // that is an error, and the newline is left to end the statement.
                        match self.peek() {
                            Some('"') => {
                                self.bump();
                                break Tok::Str(text);
                            }
                            Some('\n') | None => {
                                errors.push(self.syntax_error(
                                    start,
                                    line,
                                    col,
                                    "unterminated string",
                                ));
                                break Tok::Str(text);
                            }
                            Some(c) => {
                                self.bump();
                                text.push(c);
                            }
                        }
                    }
                }
                c if c.is_ascii_digit() || c == '-' || c == '+' => {
                    loop {
                        let text = &self.src[start..self.pos];
                        // A sign continues a number only as its exponent's (`1.5e-7`).
                        let exponent_sign = text.ends_with(['e', 'E'])
                            && text[..text.len() - 1]
                                .trim_start_matches(['-', '+'])
                                .starts_with(|c: char| c.is_ascii_digit());
                        match self.peek() {
                            Some(c) if c.is_ascii_alphanumeric() || c == '.' || c == '_' => {}
                            Some('-' | '+') if exponent_sign => {}
                            _ => break,
                        }
                        self.bump();
                    }
                    let text = &self.src[start..self.pos];
                    let pair = text.split_once('x').and_then(|(a, b)| {
                        let digits =
                            |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
                        (digits(a) && digits(b))
                            .then(|| Some((a.parse().ok()?, b.parse().ok()?)))?
                    });
                    if let Ok(i) = text.parse::<i64>() {
                        Tok::Int(i)
                    } else if let Some((a, b)) = pair {
                        Tok::Pair(a, b)
                    } else if let Ok(x) = text.parse::<f64>() {
                        Tok::Float(x)
                    } else {
                        errors.push(self.syntax_error(
                            start,
                            line,
                            col,
                            format!("`{text}` is not a number"),
                        ));
                        Tok::Int(0)
                    }
                }
                c if c.is_alphabetic() || c == '_' => {
                    while self
                        .peek()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                    {
                        self.bump();
                    }
                    Tok::Ident(self.src[start..self.pos].to_string())
                }
                other => {
                    errors.push(self.syntax_error(
                        start,
                        line,
                        col,
                        format!("unexpected character `{}`", other.escape_default()),
                    ));
                    continue;
                }
            };
            out.push((tok, self.span_from(start, line, col)));
        }
    }
}

/// Builds an error pointing at `span` in `src`, with the text of that line for display.
pub(crate) fn error_at(
    src: &str,
    file: &Path,
    kind: ErrorKind,
    span: Span,
    message: impl Into<String>,
) -> ModelError {
    let line = src
        .lines()
        .nth(span.line.saturating_sub(1) as usize)
        .map(str::to_string);
    ModelError {
        kind,
        file: file.to_path_buf(),
        span: Some(span),
        message: message.into(),
        help: None,
        source_line: line,
    }
}

struct Parser<'a> {
    src: &'a str,
    file: &'a Path,
    toks: Vec<(Tok, Span)>,
    pos: usize,
}

type Parsed<T> = Result<T, ModelError>;

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    fn span(&self) -> Span {
        self.toks[self.pos].1
    }

    fn next(&mut self) -> (Tok, Span) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> ModelError {
        let found = self.peek().describe();
        error_at(
            self.src,
            self.file,
            ErrorKind::Syntax,
            self.span(),
            format!("expected {expected}, found {found}"),
        )
    }

    fn ident(&mut self, what: &str) -> Parsed<Ident> {
        match self.peek().clone() {
            Tok::Ident(text) => {
                let span = self.next().1;
                Ok(Ident { text, span })
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn punct(&mut self, c: char) -> Parsed<()> {
        if *self.peek() == Tok::Punct(c) {
            self.next();
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{c}`")))
        }
    }

    fn end_of_statement(&mut self) -> Parsed<()> {
        match self.peek() {
            Tok::Newline => {
                self.next();
                Ok(())
            }
            Tok::Eof => Ok(()),
            _ => Err(self.unexpected("end of line")),
        }
    }

    /// Skips to the start of the next statement after an error.
    fn recover(&mut self) {
        while !matches!(self.peek(), Tok::Newline | Tok::Eof) {
            self.next();
        }
        if *self.peek() == Tok::Newline {
            self.next();
        }
    }

    fn statement(&mut self) -> Parsed<Statement> {
        let first = self.ident("a layer name or `output`")?;
        if first.text == "output" && matches!(self.peek(), Tok::Ident(_)) {
            let head = self.ident("a head name")?;
            let value = if *self.peek() == Tok::Punct('=') {
                self.next();
                self.ident("the name of the layer this head exposes")?
            } else {
                head.clone()
            };
            self.end_of_statement()?;
            return Ok(Statement::Output { head, value });
        }
        self.punct('=')?;
        let op = self.ident("an op name, like `conv`")?;
        let open = self.span();
        self.punct('(')?;
        let mut args = Vec::new();
        while {
            self.skip_newlines_in_call(open)?;
            *self.peek() != Tok::Punct(')')
        } {
            args.push(self.arg()?);
            self.skip_newlines_in_call(open)?;
            match self.peek() {
                Tok::Punct(',') => {
                    self.next();
                }
                Tok::Punct(')') => {}
                _ => return Err(self.unexpected("`,` or `)`")),
            }
        }
        self.punct(')')?;
        self.end_of_statement()?;
        Ok(Statement::Layer {
            name: first,
            op,
            args,
        })
    }

    /// Inside a call's parentheses newlines do not end the statement. A line that looks like the
    /// start of a new layer (`NAME = OP(`) means the call's `(` was never closed.
    fn skip_newlines_in_call(&mut self, open: Span) -> Parsed<()> {
        let mut skipped = false;
        while *self.peek() == Tok::Newline {
            self.next();
            skipped = true;
        }
        let starts_layer = matches!(
            self.toks
                .get(self.pos..self.pos + 4)
                .map(|t| [&t[0].0, &t[1].0, &t[2].0, &t[3].0]),
            Some([
                Tok::Ident(_),
                Tok::Punct('='),
                Tok::Ident(_),
                Tok::Punct('(')
            ])
        );
        let starts_output = matches!(
            self.toks.get(self.pos..self.pos + 2).map(|t| [&t[0].0, &t[1].0]),
            Some([Tok::Ident(kw), Tok::Ident(_)]) if kw == "output"
        );
        if skipped && (starts_layer || starts_output) || *self.peek() == Tok::Eof {
            // Step back onto the newline so that recovery resumes at this line.
            if skipped {
                self.pos -= 1;
            }
            return Err(error_at(
                self.src,
                self.file,
                ErrorKind::Syntax,
                open,
                "this `(` is never closed",
            )
            .with_help("add the missing `)` at the end of the call"));
        }
        Ok(())
    }

    fn arg(&mut self) -> Parsed<Arg> {
        let name = self.ident("a layer name or `key=value`")?;
        if *self.peek() != Tok::Punct('=') {
            return Ok(Arg::Positional(name));
        }
        self.next();
        let value = match self.peek().clone() {
            Tok::Int(i) => Literal::Int(i),
            Tok::Pair(a, b) => Literal::Pair(a, b),
            Tok::Float(x) => Literal::Float(x),
            Tok::Ident(w) => Literal::Word(w),
            Tok::Str(s) => Literal::Str(s),
            _ => return Err(self.unexpected(&format!("a value for `{}`", name.text))),
        };
        let value_span = self.next().1;
        Ok(Arg::Keyword {
            key: name,
            value,
            value_span,
        })
    }
}

/// Parses a whole description. Every syntax error is reported, one per statement at most.
pub fn parse(src: &str, file: &Path) -> Result<SyntaxTree, ModelErrors> {
    let mut errors = ModelErrors::default();
    let lexer = Lexer {
        src,
        file,
        pos: 0,
        line: 1,
        col: 1,
    };
    let toks = lexer.run(&mut errors);
    // A statement with a bad token already has its error; what the parser says next is noise.
    let bad_lines: Vec<u32> = errors
        .iter()
        .filter_map(|e| e.span.map(|s| s.line))
        .collect();
    let mut parser = Parser {
        src,
        file,
        toks,
        pos: 0,
    };
    let mut tree = SyntaxTree::default();
    loop {
        match parser.peek() {
            Tok::Eof => break,
            Tok::Newline => {
                parser.next();
            }
            _ => {
                let first_line = parser.span().line;
                match parser.statement() {
                    Ok(s) => tree.statements.push(s),
                    Err(e) => {
                        let last_line = e.span.map_or(first_line, |s| s.line.max(first_line));
                        if !bad_lines
                            .iter()
                            .any(|l| (first_line..=last_line).contains(l))
                        {
                            errors.push(e);
                        }
                        parser.recover();
                    }
                }
            }
        }
    }
    errors.finish(tree)
}

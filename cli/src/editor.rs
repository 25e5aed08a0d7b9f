//! [`EditorHelper`]: what the line editor knows of SQL — completion (from
//! [`crate::completion`]), syntax highlighting (keywords, strings, numbers,
//! comments, the bracket matching the one at the cursor), hints from
//! history, and multi-line input: Enter inserts a newline until the
//! statement ends with `;` (a backslash command ends at its line).

use std::borrow::Cow;
use std::sync::Arc;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use tarn::statement::is_complete;

use crate::completion::{NameCache, complete};
use crate::lexer::{TokenKind, is_keyword, tokenize};

const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[33m";
const COMMENT: &str = "\x1b[90m";
const BRACKET: &str = "\x1b[1;7m";
const HINT: &str = "\x1b[90m";
const RESET: &str = "\x1b[0m";

/// The shell's line-editor helper.
pub struct EditorHelper {
    names: Arc<NameCache>,
    hinter: HistoryHinter,
    color: bool,
}

impl EditorHelper {
    /// A helper completing from `names`; `color` switches highlighting.
    pub fn new(names: Arc<NameCache>, color: bool) -> Self {
        EditorHelper { names, hinter: HistoryHinter::new(), color }
    }
}

impl Helper for EditorHelper {}

impl Completer for EditorHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let names = self.names.names();
        let completion = complete(line, pos, &names, &self.names.default_schema());
        let pairs = completion
            .candidates
            .into_iter()
            .map(|c| Pair { display: c.display, replacement: c.replacement })
            .collect();
        Ok((completion.start, pairs))
    }
}

impl Hinter for EditorHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        self.hinter.hint(line, pos, ctx)
    }
}

impl Validator for EditorHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(match input_is_complete(ctx.input()) {
            true => ValidationResult::Valid(None),
            false => ValidationResult::Incomplete,
        })
    }
}

/// Whether Enter should run `input`: a backslash (or dot) command, blank
/// input, or SQL ending with `;` outside quotes and comments.
pub fn input_is_complete(input: &str) -> bool {
    let trimmed = input.trim_start();
    trimmed.is_empty() || trimmed.starts_with('\\') || trimmed.starts_with('.') || is_complete(input)
}

impl Highlighter for EditorHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        if !self.color {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight_sql(line, pos))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        match self.color {
            true => Cow::Owned(format!("{HINT}{hint}{RESET}")),
            false => Cow::Borrowed(hint),
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        // Redraw on every change and cursor move: colors and the matching
        // bracket follow the text.
        self.color
    }
}

/// `line` with ANSI colors: keywords, strings, numbers, comments, and the
/// bracket at (or just before) `pos` with its partner.
pub fn highlight_sql(line: &str, pos: usize) -> String {
    let trimmed = line.trim_start();
    if trimmed.starts_with('\\') || trimmed.starts_with('.') {
        return line.to_string();
    }
    let tokens = tokenize(line);
    let brackets = matching_brackets(line, pos);
    let mut out = String::with_capacity(line.len() * 2);
    for token in &tokens {
        let text = token.text(line);
        let color = match token.kind {
            TokenKind::Word if is_keyword(text) => Some(KEYWORD),
            TokenKind::String => Some(STRING),
            TokenKind::Number => Some(NUMBER),
            TokenKind::Comment => Some(COMMENT),
            TokenKind::Punct if brackets.contains(&token.range.start) => Some(BRACKET),
            _ => None,
        };
        match color {
            Some(color) => {
                out.push_str(color);
                out.push_str(text);
                out.push_str(RESET);
            }
            None => out.push_str(text),
        }
    }
    out
}

/// Byte positions of the bracket at the cursor (or just before it) and of
/// its partner, brackets inside strings and comments not counting.
fn matching_brackets(line: &str, pos: usize) -> Vec<usize> {
    let tokens = tokenize(line);
    let brackets: Vec<(usize, u8)> = tokens
        .iter()
        .filter(|t| t.kind == TokenKind::Punct)
        .filter_map(|t| {
            let b = line.as_bytes()[t.range.start];
            matches!(b, b'(' | b')' | b'[' | b']' | b'{' | b'}').then_some((t.range.start, b))
        })
        .collect();
    let at = brackets
        .iter()
        .position(|(p, _)| *p == pos)
        .or_else(|| brackets.iter().position(|(p, _)| pos > 0 && *p == pos - 1));
    let Some(index) = at else { return Vec::new() };
    let (position, bracket) = brackets[index];
    let (open, close, forward) = match bracket {
        b'(' => (b'(', b')', true),
        b'[' => (b'[', b']', true),
        b'{' => (b'{', b'}', true),
        b')' => (b'(', b')', false),
        b']' => (b'[', b']', false),
        _ => (b'{', b'}', false),
    };
    let mut depth = 0i32;
    let candidates: Box<dyn Iterator<Item = &(usize, u8)>> = match forward {
        true => Box::new(brackets[index..].iter()),
        false => Box::new(brackets[..=index].iter().rev()),
    };
    for (p, b) in candidates {
        if *b == open {
            depth += if forward { 1 } else { -1 };
        } else if *b == close {
            depth += if forward { -1 } else { 1 };
        }
        if depth == 0 {
            return vec![position, *p];
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_by_token() {
        let out = highlight_sql("select 'a', 42 -- c", 0);
        assert_eq!(out, format!("{KEYWORD}select{RESET} {STRING}'a'{RESET}, {NUMBER}42{RESET} {COMMENT}-- c{RESET}"));
    }

    #[test]
    fn brackets_match_outside_strings() {
        //          0123456789012345678
        let line = "f(a, ')', g(b))";
        assert_eq!(matching_brackets(line, 1), vec![1, 14]);
        assert_eq!(matching_brackets(line, 15), vec![14, 1]);
        assert_eq!(matching_brackets(line, 11), vec![11, 13]);
        assert!(matching_brackets(line, 3).is_empty());
    }

    #[test]
    fn completeness() {
        assert!(input_is_complete("select 1;"));
        assert!(!input_is_complete("select 1"));
        assert!(!input_is_complete("select ';"));
        assert!(input_is_complete("\\d"));
        assert!(input_is_complete(".mode csv"));
        assert!(input_is_complete("   "));
    }
}

//! A forgiving SQL lexer for the editor: it cuts any text — unfinished
//! statements, open quotes, half-typed comments — into [`Token`]s with their
//! byte ranges, for highlighting and for the completer's sense of context.
//! It never fails; the engine's parser is the judge of what is valid.

use std::ops::Range;
use std::sync::OnceLock;

use datafusion::sql::sqlparser::keywords::ALL_KEYWORDS;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An unquoted word: a keyword or an identifier.
    Word,
    /// A `"quoted identifier"` (possibly unterminated).
    QuotedIdent,
    /// A `'string'` literal (possibly unterminated), with an optional `E`
    /// prefix.
    String,
    /// A number: `42`, `3.5`, `1e9`.
    Number,
    /// `-- to the end of the line` or `/* a block */` (possibly unterminated).
    Comment,
    /// Spaces, tabs and newlines.
    Space,
    /// Any other character: operators, brackets, `,`, `;`, `.`.
    Punct,
}

/// One token of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it is, in bytes.
    pub range: Range<usize>,
    /// Whether a quote or comment is still open at the end of the text.
    pub unterminated: bool,
}

impl Token {
    /// The token's text in `source`.
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.range.clone()]
    }
}

/// Cut `text` into tokens, covering every byte.
pub fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let (kind, end, unterminated) = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                (TokenKind::Space, scan_while(bytes, i, |b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')), false)
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                (TokenKind::Comment, end, false)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(n) => (TokenKind::Comment, i + 2 + n + 2, false),
                None => (TokenKind::Comment, bytes.len(), true),
            },
            b'\'' => {
                let (end, open) = scan_quoted(bytes, i, b'\'');
                (TokenKind::String, end, open)
            }
            b'e' | b'E' if bytes.get(i + 1) == Some(&b'\'') => {
                let (end, open) = scan_quoted(bytes, i + 1, b'\'');
                (TokenKind::String, end, open)
            }
            b'"' => {
                let (end, open) = scan_quoted(bytes, i, b'"');
                (TokenKind::QuotedIdent, end, open)
            }
            b'0'..=b'9' => (TokenKind::Number, scan_number(bytes, i), false),
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                (TokenKind::Number, scan_number(bytes, i), false)
            }
            c if is_word_byte(c) => (TokenKind::Word, scan_while(bytes, i, is_word_byte), false),
            _ => {
                // One character, whole (it may be several bytes).
                let len = text[i..].chars().next().map_or(1, char::len_utf8);
                (TokenKind::Punct, i + len, false)
            }
        };
        tokens.push(Token { kind, range: start..end, unterminated });
        i = end;
    }
    tokens
}

/// Whether `word` is an SQL keyword (any case).
pub fn is_keyword(word: &str) -> bool {
    static KEYWORDS: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    let keywords = KEYWORDS.get_or_init(|| ALL_KEYWORDS.iter().copied().collect());
    word.len() <= 32 && keywords.contains(word.to_ascii_uppercase().as_str())
}

/// A qualified name as DataFusion reads it: `a."B c".d` → `["a", "B c",
/// "d"]`, unquoted parts lower-cased, `""` inside quotes one `"`; `None`
/// when a quote is left open.
pub fn split_qualified(name: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c if quoted => current.push(c),
            c => current.extend(c.to_lowercase()),
        }
    }
    parts.push(current);
    (!quoted).then_some(parts)
}

/// Bytes that may be part of an unquoted identifier (non-ASCII letters
/// included, as DataFusion allows them).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn scan_while(bytes: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while i < bytes.len() && keep(bytes[i]) {
        i += 1;
    }
    i
}

/// The end of a quoted token starting at `i` (a doubled quote is an escaped
/// one), and whether it is still open at the end of the text.
fn scan_quoted(bytes: &[u8], i: usize, quote: u8) -> (usize, bool) {
    let mut j = i + 1;
    while j < bytes.len() {
        if bytes[j] == quote {
            if bytes.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return (j + 1, false);
        }
        j += 1;
    }
    (bytes.len(), true)
}

fn scan_number(bytes: &[u8], i: usize) -> usize {
    let mut j = scan_while(bytes, i, |b| b.is_ascii_digit() || b == b'.');
    if j < bytes.len() && matches!(bytes[j], b'e' | b'E') {
        let mut k = j + 1;
        if k < bytes.len() && matches!(bytes[k], b'+' | b'-') {
            k += 1;
        }
        if k < bytes.len() && bytes[k].is_ascii_digit() {
            j = scan_while(bytes, k, |b| b.is_ascii_digit());
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, &str)> {
        tokenize(text).iter().filter(|t| t.kind != TokenKind::Space).map(|t| (t.kind, t.text(text))).collect()
    }

    #[test]
    fn tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("SELECT a, 'it''s' -- note\nFROM \"T x\" WHERE b > 1.5e3;"),
            vec![
                (Word, "SELECT"),
                (Word, "a"),
                (Punct, ","),
                (String, "'it''s'"),
                (Comment, "-- note"),
                (Word, "FROM"),
                (QuotedIdent, "\"T x\""),
                (Word, "WHERE"),
                (Word, "b"),
                (Punct, ">"),
                (Number, "1.5e3"),
                (Punct, ";"),
            ]
        );
    }

    #[test]
    fn open_quotes_and_comments_run_to_the_end() {
        let tokens = tokenize("select '/tmp/da");
        let last = tokens.last().cloned().unwrap_or_else(|| unreachable!());
        assert_eq!((last.kind, last.unterminated), (TokenKind::String, true));
        let tokens = tokenize("select /* open");
        assert!(tokens.last().is_some_and(|t| t.kind == TokenKind::Comment && t.unterminated));
    }

    #[test]
    fn every_byte_is_covered_even_with_unicode() {
        let text = "select 'é', ünïcode → x";
        let tokens = tokenize(text);
        let covered: usize = tokens.iter().map(|t| t.range.len()).sum();
        assert_eq!(covered, text.len());
    }

    #[test]
    fn keywords() {
        assert!(is_keyword("select"));
        assert!(is_keyword("FROM"));
        assert!(!is_keyword("lineitem"));
    }
}

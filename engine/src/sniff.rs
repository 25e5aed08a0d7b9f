//! CSV dialect detection: the delimiter and whether the first row is a
//! header, from a sample of the file's first bytes.

/// What the sniffer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CsvDialect {
    pub delimiter: u8,
    pub has_header: bool,
}

const CANDIDATES: [u8; 4] = [b',', b'\t', b'|', b';'];
const MAX_ROWS: usize = 100;

/// Sniff a sample. `declared` fixes the delimiter when the user gave one;
/// `complete` says the sample is the whole file (else its last line may be cut).
pub(crate) fn sniff_csv(sample: &str, declared: Option<u8>, quote: u8, complete: bool) -> CsvDialect {
    let mut lines: Vec<&str> = sample.lines().filter(|l| !l.trim().is_empty()).collect();
    if !complete && lines.len() > 1 {
        lines.pop();
    }
    lines.truncate(MAX_ROWS);
    let delimiter = declared.unwrap_or_else(|| best_delimiter(&lines, quote));
    let rows: Vec<Vec<String>> = lines.iter().map(|l| split_row(l, delimiter, quote)).collect();
    CsvDialect { delimiter, has_header: looks_like_header(&rows) }
}

/// The candidate that splits rows into the most consistent number (> 1) of fields.
fn best_delimiter(lines: &[&str], quote: u8) -> u8 {
    let mut best = (b',', 0usize, 0usize); // (delimiter, consistent rows, fields)
    for &d in &CANDIDATES {
        let counts: Vec<usize> = lines.iter().map(|l| split_row(l, d, quote).len()).collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first < 2 {
            continue;
        }
        let consistent = counts.iter().take_while(|&&c| c == first).count();
        if consistent > best.1 || (consistent == best.1 && first > best.2) {
            best = (d, consistent, first);
        }
    }
    best.0
}

/// Split one line into fields, honouring quotes (doubled quotes inside).
fn split_row(line: &str, delimiter: u8, quote: u8) -> Vec<String> {
    let (d, q) = (delimiter as char, quote as char);
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == q {
                if chars.peek() == Some(&q) {
                    cur.push(q);
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == q {
            in_quotes = true;
        } else if c == d {
            fields.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    fields.push(cur);
    fields
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Empty,
    Number,
    Bool,
    Date,
    Text,
}

fn kind(v: &str) -> Kind {
    let v = v.trim();
    if v.is_empty() {
        Kind::Empty
    } else if v.parse::<f64>().is_ok() {
        Kind::Number
    } else if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        Kind::Bool
    } else if is_date_like(v) {
        Kind::Date
    } else {
        Kind::Text
    }
}

fn is_date_like(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// A first row is a header when, in some column, it is text while the rest
/// of the column is typed (numbers, booleans, dates); when every column is
/// text, when its values are all non-empty, distinct and none recurs below.
fn looks_like_header(rows: &[Vec<String>]) -> bool {
    let Some((first, rest)) = rows.split_first() else {
        return true;
    };
    if rest.is_empty() {
        // A single line: a header with no rows is far more common than one unnamed row.
        return first.iter().all(|v| kind(v) == Kind::Text);
    }
    if first.iter().any(|v| kind(v) != Kind::Text) {
        return false;
    }
    let typed_column = (0..first.len()).any(|c| {
        let kinds: Vec<Kind> =
            rest.iter().filter_map(|r| r.get(c)).map(|v| kind(v)).filter(|k| *k != Kind::Empty).collect();
        !kinds.is_empty() && kinds.iter().all(|k| *k != Kind::Text)
    });
    if typed_column {
        return true;
    }
    let mut names: Vec<&String> = first.iter().collect();
    names.sort();
    names.dedup();
    let distinct = names.len() == first.len();
    let recurs = (0..first.len()).any(|c| rest.iter().any(|r| r.get(c) == first.get(c)));
    distinct && !recurs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_delimiters() {
        assert_eq!(sniff_csv("a;b;c\n1;2;3\n4;5;6\n", None, b'"', true).delimiter, b';');
        assert_eq!(sniff_csv("a\tb\n1\t2\n", None, b'"', true).delimiter, b'\t');
        assert_eq!(sniff_csv("a|b\n\"x|y\"|2\n", None, b'"', true).delimiter, b'|');
        assert_eq!(sniff_csv("a,b\n\"1;2\",3\n", None, b'"', true).delimiter, b',');
    }

    #[test]
    fn detects_headers() {
        assert!(sniff_csv("id,name\n1,ann\n2,bob\n", None, b'"', true).has_header);
        assert!(!sniff_csv("1,ann\n2,bob\n", None, b'"', true).has_header);
        assert!(sniff_csv("city,country\nParis,France\nRome,Italy\n", None, b'"', true).has_header);
        assert!(!sniff_csv("x,y\nx,z\n", None, b'"', true).has_header);
        assert!(sniff_csv("d,v\n2024-01-01,3\n", None, b'"', true).has_header);
    }
}

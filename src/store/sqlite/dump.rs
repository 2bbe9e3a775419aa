//! The original service's SQL dump (`sqlite3 DB .dump` of its `url`
//! table, its `latest.bak`), read as data and never run as SQL.
//!
//! A tokenizer that knows SQL's comments (`--`, `/* */`), quoted strings
//! (`''` inside), quoted identifiers (`"url"`, `[url]`, `` `url` ``),
//! numbers and words feeds a parser that accepts only what such a dump
//! holds: `PRAGMA foreign_keys=OFF`, `BEGIN TRANSACTION`, one
//! `CREATE TABLE url (...)` with the original's columns, one-row
//! `INSERT INTO url VALUES(...)` statements, and `COMMIT`. Each row comes
//! out as our own values, for the caller to write with bound parameters;
//! anything else is refused, naming the statement's number and line.
//!
//! The input is streamed: one statement at a time, each at most a given
//! number of bytes, so memory stays bounded whatever the dump's size.
//! This file depends on nothing but `std`, so the fuzz target (`fuzz/`)
//! builds it alone.

use std::fmt;
use std::io::BufRead;

/// A value of a row, as the dump wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

/// One row of the original's `url` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: Value,
    pub url: Value,
    pub count: Value,
}

/// Why a dump is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Its first statement is none that a dump starts with: the file is
    /// not an SQL dump at all.
    NotADump,
    /// Statement `n`, starting on line `line`, is not one the original's
    /// dump holds, for this reason.
    Statement { n: u64, line: u64, why: String },
    /// The dump ended too early or holds no `url` table.
    Incomplete(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotADump => f.write_str("neither a SQLite database nor an SQL dump of the original hit counter"),
            Refusal::Statement { n, line, why } => {
                write!(f, "the dump's statement {n} (line {line}) is refused: {why}")
            }
            Refusal::Incomplete(why) => write!(f, "the dump is incomplete: {why}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A bare word: a keyword or an unquoted name.
    Word(String),
    /// A quoted identifier.
    Ident(String),
    Str(String),
    Blob,
    Integer(i64),
    Real(f64),
    Punct(u8),
}

/// Bytes to tokens, counting the bytes of the statement being read.
struct Lexer<R> {
    input: R,
    line: u64,
    used: usize,
    max: usize,
}

/// What the lexer stops at; the parser adds which statement it was.
type Lexed<T> = Result<T, String>;

impl<R: BufRead> Lexer<R> {
    fn peek(&mut self) -> Lexed<Option<u8>> {
        loop {
            match self.input.fill_buf() {
                Ok(buf) => return Ok(buf.first().copied()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("read error: {e}")),
            }
        }
    }

    fn bump(&mut self) -> Lexed<Option<u8>> {
        let b = self.peek()?;
        if let Some(b) = b {
            self.input.consume(1);
            self.used += 1;
            if b == b'\n' {
                self.line += 1;
            }
            if self.used > self.max {
                return Err(format!("it is longer than {} bytes", self.max));
            }
        }
        Ok(b)
    }

    /// The next token, or `None` at the end of the input.
    fn token(&mut self) -> Lexed<Option<Token>> {
        loop {
            let Some(b) = self.bump()? else { return Ok(None) };
            let next = self.peek()?;
            let token = match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c => continue,
                b'-' if next == Some(b'-') => {
                    while !matches!(self.bump()?, None | Some(b'\n')) {}
                    continue;
                }
                b'/' if next == Some(b'*') => {
                    self.block_comment()?;
                    continue;
                }
                b'\'' => Token::Str(self.quoted(b'\'')?),
                b'"' | b'`' => Token::Ident(self.quoted(b)?),
                b'[' => Token::Ident(self.quoted(b']')?),
                b'x' | b'X' if next == Some(b'\'') => {
                    self.bump()?;
                    self.quoted(b'\'')?;
                    Token::Blob
                }
                b'0'..=b'9' => self.number(b)?,
                b'.' if next.is_some_and(|n| n.is_ascii_digit()) => self.number(b)?,
                b if is_word_byte(b) && !b.is_ascii_digit() => Token::Word(self.word(b)?),
                other => Token::Punct(other),
            };
            return Ok(Some(token));
        }
    }

    fn block_comment(&mut self) -> Lexed<()> {
        self.bump()?;
        let mut star = false;
        loop {
            match self.bump()? {
                None => return Err("a /* comment does not end".into()),
                Some(b'/') if star => return Ok(()),
                Some(b) => star = b == b'*',
            }
        }
    }

    /// The text up to the closing `close` (a doubled `close` stands for
    /// one, except in `[...]`).
    fn quoted(&mut self, close: u8) -> Lexed<String> {
        let mut text = Vec::new();
        loop {
            match self.bump()? {
                None => return Err("a quoted string or name does not end".into()),
                Some(b) if b == close => {
                    if close != b']' && self.peek()? == Some(close) {
                        self.bump()?;
                        text.push(close);
                    } else {
                        return Ok(String::from_utf8_lossy(&text).into_owned());
                    }
                }
                Some(b) => text.push(b),
            }
        }
    }

    fn word(&mut self, first: u8) -> Lexed<String> {
        let mut text = vec![first];
        while let Some(b) = self.peek()?.filter(|&b| is_word_byte(b)) {
            self.bump()?;
            text.push(b);
        }
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    fn number(&mut self, first: u8) -> Lexed<Token> {
        let mut text = vec![first];
        while let Some(b) = self.peek()? {
            let sign_after_exponent = matches!(b, b'+' | b'-') && matches!(text.last(), Some(b'e' | b'E'));
            if !(is_word_byte(b) || b == b'.' || sign_after_exponent) {
                break;
            }
            self.bump()?;
            text.push(b);
        }
        let text = String::from_utf8_lossy(&text);
        if let Ok(n) = text.parse::<i64>() {
            return Ok(Token::Integer(n));
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() && text.bytes().all(|b| b.is_ascii_digit() || b".eE+-".contains(&b)) => {
                Ok(Token::Real(f))
            }
            _ => Err(format!("{} is not a number", clip(&text))),
        }
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// At most 24 characters of `s`, for a message.
fn clip(s: &str) -> String {
    match s.char_indices().nth(24) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// Where each of the original's columns is in a row of the dump.
#[derive(Debug, Clone, Copy)]
struct Columns {
    id: usize,
    url: usize,
    count: usize,
}

/// Reads a dump statement by statement, giving its rows.
pub struct Dump<R> {
    lexer: Lexer<R>,
    /// The number of the statement read last.
    n: u64,
    /// The line it started on.
    line: u64,
    columns: Option<Columns>,
    committed: bool,
}

/// How deep `replace(...)` may nest in a value (the shell writes two).
const MAX_NESTING: usize = 4;

impl<R: BufRead> Dump<R> {
    /// A reader of the dump `input`, refusing any statement longer than
    /// `max_statement` bytes.
    pub fn new(input: R, max_statement: usize) -> Dump<R> {
        Dump {
            lexer: Lexer { input, line: 1, used: 0, max: max_statement },
            n: 0,
            line: 1,
            columns: None,
            committed: false,
        }
    }

    /// The number of the statement the last row came from.
    pub fn statement(&self) -> u64 {
        self.n
    }

    /// The line that statement started on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// A refusal of the current statement.
    fn refuse(&self, why: String) -> Refusal {
        Refusal::Statement { n: self.n, line: self.line, why }
    }

    /// The next row; `None` once the dump ended after its `COMMIT`.
    pub fn next_row(&mut self) -> Result<Option<Row>, Refusal> {
        loop {
            let Some(tokens) = self.read_statement()? else {
                return match (self.columns, self.committed) {
                    (None, _) if self.n == 0 => Err(Refusal::NotADump),
                    (None, _) => Err(Refusal::Incomplete("it creates no table url".into())),
                    (Some(_), false) => Err(Refusal::Incomplete("it ends before its COMMIT".into())),
                    (Some(_), true) => Ok(None),
                };
            };
            if self.committed {
                return Err(self.refuse("it follows the COMMIT".into()));
            }
            if let Some(row) = self.classify(&tokens)? {
                return Ok(Some(row));
            }
        }
    }

    /// The tokens of the next statement, without its `;` (empty
    /// statements are skipped); `None` at the end of the input.
    fn read_statement(&mut self) -> Result<Option<Vec<Token>>, Refusal> {
        self.n += 1;
        self.lexer.used = 0;
        self.line = self.lexer.line;
        let mut tokens = Vec::new();
        loop {
            let lexed =
                self.lexer.token().map_err(|why| if self.n == 1 { Refusal::NotADump } else { self.refuse(why) });
            match lexed? {
                None if tokens.is_empty() => {
                    self.n -= 1;
                    return Ok(None);
                }
                None if self.n == 1 => return Err(Refusal::NotADump),
                None => return Err(self.refuse("it does not end with ;".into())),
                Some(Token::Punct(b';')) if tokens.is_empty() => self.lexer.used = 0,
                Some(Token::Punct(b';')) => return Ok(Some(tokens)),
                Some(t) => {
                    if tokens.is_empty() {
                        self.line = self.lexer.line;
                    }
                    tokens.push(t);
                }
            }
        }
    }

    /// Checks one statement; a row for an `INSERT`.
    fn classify(&mut self, t: &[Token]) -> Result<Option<Row>, Refusal> {
        let words: Vec<String> = t.iter().take(2).map(upper).collect();
        match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["PRAGMA", ..] if t.len() == 4 && upper(&t[1]) == "FOREIGN_KEYS" && t[2] == Token::Punct(b'=') => {
                match upper(&t[3]).as_str() {
                    "OFF" | "0" | "FALSE" => Ok(None),
                    _ => Err(self.refuse("only PRAGMA foreign_keys=OFF is allowed".into())),
                }
            }
            ["BEGIN", "TRANSACTION"] if t.len() == 2 => Ok(None),
            ["COMMIT"] => {
                self.committed = true;
                Ok(None)
            }
            ["CREATE", "TABLE"] => {
                let columns = create_table(&t[2..]).map_err(|why| self.refuse(why))?;
                if self.columns.is_some() {
                    return Err(self.refuse("it creates the table url a second time".into()));
                }
                self.columns = Some(columns);
                Ok(None)
            }
            ["INSERT", "INTO"] => {
                let Some(columns) = self.columns else {
                    return Err(self.refuse("it inserts before the dump creates the table url".into()));
                };
                insert(&t[2..], columns).map(Some).map_err(|why| self.refuse(why))
            }
            _ if self.n <= 1 => Err(Refusal::NotADump),
            _ => Err(self.refuse(format!("{} is not a statement the original's dump holds", describe(t)))),
        }
    }
}

/// A word upper-cased; other tokens as a short description.
fn upper(t: &Token) -> String {
    match t {
        Token::Word(w) => w.to_ascii_uppercase(),
        Token::Integer(n) => n.to_string(),
        other => shown(other),
    }
}

/// The first tokens of a statement, for a message: never the whole of it.
fn describe(t: &[Token]) -> String {
    t.iter().take(3).map(shown).collect::<Vec<_>>().join(" ")
}

/// One token, short, for a message.
fn shown(t: &Token) -> String {
    match t {
        Token::Word(w) => clip(&w.to_ascii_uppercase()),
        Token::Ident(i) => format!("\"{}\"", clip(i)),
        Token::Str(_) => "'...'".into(),
        Token::Blob => "X'...'".into(),
        Token::Integer(n) => n.to_string(),
        Token::Real(f) => f.to_string(),
        Token::Punct(b) if b.is_ascii_graphic() => (*b as char).to_string(),
        Token::Punct(b) => format!("byte {b:#04x}"),
    }
}

/// Whether `t` names the table `url`, however it is quoted.
fn is_url_table(t: Option<&Token>) -> bool {
    matches!(t, Some(Token::Word(n) | Token::Ident(n)) if n.eq_ignore_ascii_case("url"))
}

fn name_of(t: Option<&Token>) -> String {
    match t {
        Some(Token::Word(n) | Token::Ident(n)) => clip(n),
        Some(other) => shown(other),
        None => "nothing".into(),
    }
}

/// `[IF NOT EXISTS] url ( columns )`: where `id`, `url` and `count` are.
fn create_table(t: &[Token]) -> Result<Columns, String> {
    let t = match t {
        [Token::Word(a), Token::Word(b), Token::Word(c), rest @ ..]
            if [a, b, c].iter().map(|w| w.to_ascii_uppercase()).eq(["IF", "NOT", "EXISTS"]) =>
        {
            rest
        }
        t => t,
    };
    if !is_url_table(t.first()) {
        return Err(format!("it creates table {}, and the original's dump creates only url", name_of(t.first())));
    }
    let body = match &t[1..] {
        [Token::Punct(b'('), body @ .., Token::Punct(b')')] => body,
        _ => return Err("CREATE TABLE url must be followed by its columns in parentheses, and nothing else".into()),
    };
    let mut names = Vec::new();
    let (mut depth, mut start) = (0usize, true);
    for token in body {
        match token {
            Token::Punct(b'(') => depth += 1,
            Token::Punct(b')') if depth == 0 => return Err("its parentheses do not match".into()),
            Token::Punct(b')') => depth -= 1,
            Token::Punct(b',') if depth == 0 => {
                start = true;
                continue;
            }
            Token::Word(w) if start && is_table_constraint(w) => {}
            Token::Word(n) | Token::Ident(n) if start => names.push(n.to_ascii_lowercase()),
            _ if start => return Err(format!("a column of url starts with {}", shown(token))),
            _ => {}
        }
        start = false;
    }
    let at = |want: &str| names.iter().position(|n| n == want);
    match (names.len(), at("id"), at("url"), at("count")) {
        (3, Some(id), Some(url), Some(count)) => Ok(Columns { id, url, count }),
        _ => Err(format!(
            "the table url has the columns ({}), not the original's id, url and count",
            clip(&names.join(", "))
        )),
    }
}

fn is_table_constraint(word: &str) -> bool {
    ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"].iter().any(|k| word.eq_ignore_ascii_case(k))
}

/// `url VALUES(v, v, v)`: one row.
fn insert(t: &[Token], columns: Columns) -> Result<Row, String> {
    if !is_url_table(t.first()) {
        return Err(format!("it inserts into {}, and the original's dump fills only url", name_of(t.first())));
    }
    if !matches!(t.get(1), Some(Token::Word(w)) if w.eq_ignore_ascii_case("VALUES")) {
        return Err("INSERT INTO url must be followed by VALUES(...)".into());
    }
    let mut at = 2;
    expect(t, &mut at, b'(')?;
    let mut values = Vec::new();
    loop {
        values.push(value(t, &mut at, 0)?);
        if values.len() > 3 {
            return Err("it has more than the original's three values".into());
        }
        match t.get(at) {
            Some(Token::Punct(b',')) => at += 1,
            Some(Token::Punct(b')')) if at + 1 == t.len() => break,
            _ => return Err("its values must be one row, VALUES(id, url, count)".into()),
        }
    }
    if values.len() != 3 {
        return Err(format!("it has {} values, and the table url has 3 columns", values.len()));
    }
    let mut take = |i: usize| std::mem::replace(&mut values[i], Value::Null);
    let (id, url, count) = (take(columns.id), take(columns.url), take(columns.count));
    Ok(Row { id, url, count })
}

fn expect(t: &[Token], at: &mut usize, punct: u8) -> Result<(), String> {
    if t.get(*at) != Some(&Token::Punct(punct)) {
        return Err(format!("{} expected after VALUES", punct as char));
    }
    *at += 1;
    Ok(())
}

/// One value: a number (with a sign), a string, NULL, or the shell's
/// `replace('...','\n',char(10))` for text with line breaks.
fn value(t: &[Token], at: &mut usize, depth: usize) -> Result<Value, String> {
    let token = t.get(*at).ok_or("a value is missing")?;
    *at += 1;
    let negative = match token {
        Token::Punct(b'-') => true,
        Token::Punct(b'+') => false,
        Token::Integer(n) => return Ok(Value::Integer(*n)),
        Token::Real(f) => return Ok(Value::Real(*f)),
        Token::Str(s) => return Ok(Value::Text(s.clone())),
        Token::Word(w) if w.eq_ignore_ascii_case("NULL") => return Ok(Value::Null),
        Token::Word(w) if w.eq_ignore_ascii_case("replace") && depth < MAX_NESTING => return replace(t, at, depth),
        Token::Blob => return Err("a value is a blob, which the original never stored".into()),
        other => return Err(format!("{} is not a value the original's dump writes", shown(other))),
    };
    match t.get(*at) {
        Some(Token::Integer(n)) => {
            *at += 1;
            Ok(if !negative {
                Value::Integer(*n)
            } else {
                n.checked_neg().map_or(Value::Real(-(*n as f64)), Value::Integer)
            })
        }
        Some(Token::Real(f)) => {
            *at += 1;
            Ok(Value::Real(if negative { -f } else { *f }))
        }
        _ => Err("a sign is not followed by a number".into()),
    }
}

/// `replace(TEXT, 'FROM', char(N))` after the word `replace`.
fn replace(t: &[Token], at: &mut usize, depth: usize) -> Result<Value, String> {
    let bad = || "replace(...) is only allowed as the shell writes it, replace('...','\\n',char(10))".to_string();
    expect(t, at, b'(').map_err(|_| bad())?;
    let Value::Text(text) = value(t, at, depth + 1)? else { return Err(bad()) };
    expect(t, at, b',').map_err(|_| bad())?;
    let Some(Token::Str(from)) = t.get(*at) else { return Err(bad()) };
    *at += 1;
    expect(t, at, b',').map_err(|_| bad())?;
    let to = match &t[(*at).min(t.len())..] {
        [Token::Word(c), Token::Punct(b'('), Token::Integer(n), Token::Punct(b')'), ..]
            if c.eq_ignore_ascii_case("char") =>
        {
            u32::try_from(*n).ok().and_then(char::from_u32).ok_or_else(bad)?
        }
        _ => return Err(bad()),
    };
    *at += 4;
    expect(t, at, b')').map_err(|_| bad())?;
    if from.is_empty() {
        return Ok(Value::Text(text));
    }
    Ok(Value::Text(text.replace(from.as_str(), &to.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(sql: &str) -> Result<Vec<Row>, Refusal> {
        let mut dump = Dump::new(sql.as_bytes(), 4096);
        let mut out = Vec::new();
        while let Some(row) = dump.next_row()? {
            out.push(row);
        }
        Ok(out)
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    const HEAD: &str = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n\
        CREATE TABLE url (id INTEGER NOT NULL, url VARCHAR(256), count INTEGER, PRIMARY KEY (id));\n";

    #[test]
    fn the_shells_dump_gives_its_rows() {
        let sql = format!(
            "{HEAD}INSERT INTO url VALUES(1,'a.com/x;y',5);\nINSERT INTO \"url\" VALUES(2,'it''s',-7);\n\
             insert into [URL] values(3,NULL,NULL); -- a comment; with ; and '\n\
             /* a block; comment */ INSERT INTO `url` VALUES(4,replace(replace('a\\r\\nb','\\r',char(13)),'\\n',char(10)),1.5e1);\nCOMMIT;\n"
        );
        let got = rows(&sql).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], Row { id: Value::Integer(1), url: text("a.com/x;y"), count: Value::Integer(5) });
        assert_eq!((got[1].url.clone(), got[1].count.clone()), (text("it's"), Value::Integer(-7)));
        assert_eq!((got[2].url.clone(), got[2].count.clone()), (Value::Null, Value::Null));
        assert_eq!((got[3].url.clone(), got[3].count.clone()), (text("a\r\nb"), Value::Real(15.0)));
    }

    #[test]
    fn columns_are_found_by_name() {
        let sql = "BEGIN TRANSACTION;\nCREATE TABLE IF NOT EXISTS \"url\" (count INT, \"url\" TEXT, [id] INTEGER PRIMARY KEY);\n\
                   INSERT INTO url VALUES(9,'b.com',2);\nCOMMIT;";
        assert_eq!(rows(sql).unwrap(), [Row { id: Value::Integer(2), url: text("b.com"), count: Value::Integer(9) }]);
    }

    fn refused(sql: &str) -> (u64, String) {
        match rows(sql) {
            Err(Refusal::Statement { n, why, .. }) => (n, why),
            other => panic!("{sql:?} gave {other:?}"),
        }
    }

    #[test]
    fn what_a_dump_does_not_hold_is_refused_with_its_number() {
        let hidden = format!(
            "{HEAD}INSERT INTO url VALUES(1,'a',5) -- '\n; ATTACH DATABASE '/tmp/x' AS p; CREATE TABLE p.k(x); -- '\nCOMMIT;"
        );
        let (n, why) = refused(&hidden);
        assert_eq!(n, 5, "{why}");
        assert!(why.contains("ATTACH DATABASE '...'"), "{why}");
        for (tail, says) in [
            ("CREATE TABLE pad AS WITH RECURSIVE c(x) AS (SELECT 1) SELECT x FROM c;", "creates table pad"),
            ("CREATE TRIGGER t AFTER INSERT ON url BEGIN SELECT 1; END;", "CREATE TRIGGER"),
            ("CREATE VIEW v AS SELECT 1;", "CREATE VIEW"),
            ("INSERT INTO url VALUES(1,'a',5), (2,'b',6);", "one row"),
            ("INSERT INTO url SELECT * FROM url;", "VALUES"),
            ("INSERT INTO url VALUES(1,'a',5,6);", "more than"),
            ("INSERT INTO url VALUES(1,'a');", "2 values"),
            ("INSERT INTO url VALUES(1,X'00',5);", "blob"),
            ("INSERT INTO url VALUES(1,lower('A'),5);", "LOWER"),
            ("INSERT INTO url VALUES(1,replace('a','b',(SELECT 1)),5);", "replace"),
            ("INSERT INTO main.url VALUES(1,'a',5);", "inserts into main"),
            ("PRAGMA writable_schema=ON;", "PRAGMA"),
            ("VACUUM INTO '/tmp/y';", "VACUUM"),
        ] {
            let (n, why) = refused(&format!("{HEAD}{tail}\nCOMMIT;"));
            assert_eq!(n, 4, "{tail}: {why}");
            assert!(why.contains(says), "{tail}: {why}");
        }
    }

    #[test]
    fn the_table_must_be_the_originals() {
        let (n, why) = refused("BEGIN TRANSACTION;\nCREATE TABLE url (id INTEGER, key TEXT);\nCOMMIT;");
        assert!(n == 2 && why.contains("(id, key)"), "{why}");
        let (_, why) = refused("BEGIN TRANSACTION;\nINSERT INTO url VALUES(1,'a',5);\nCOMMIT;");
        assert!(why.contains("before"), "{why}");
        let (n, why) = refused(&format!("{HEAD}COMMIT;\nINSERT INTO url VALUES(1,'a',5);"));
        assert!(n == 5 && why.contains("follows the COMMIT"), "{why}");
        assert!(matches!(rows(&format!("{HEAD}INSERT INTO url VALUES(1,'a',5);")), Err(Refusal::Incomplete(_))));
        assert!(matches!(rows("PRAGMA foreign_keys=OFF;\nCOMMIT;"), Err(Refusal::Incomplete(_))));
    }

    #[test]
    fn text_that_is_no_dump_is_named_so() {
        for sql in ["", "hello world\nthis is a letter;", "{\"json\": 1}", "ATTACH DATABASE 'x' AS y;", "'open"] {
            assert_eq!(rows(sql), Err(Refusal::NotADump), "{sql:?}");
        }
        assert!(Refusal::NotADump.to_string().contains("neither a SQLite database nor an SQL dump"));
    }

    #[test]
    fn a_long_statement_is_refused_without_being_echoed() {
        let sql = format!("{HEAD}INSERT INTO url VALUES(1,'{}',5);\nCOMMIT;", "a".repeat(10_000));
        let (n, why) = refused(&sql);
        assert!(n == 4 && why.contains("longer than 4096 bytes") && !why.contains("aaaa"), "{why}");
        let err = Refusal::Statement { n, line: 4, why }.to_string();
        assert!(err.len() < 120, "{err}");
    }

    /// xorshift64*: a fixed sequence, so a failure repeats.
    fn random(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let sample =
            format!("{HEAD}INSERT INTO url VALUES(1,replace('a\\nb','\\n',char(10)),-5);\n/* c */ COMMIT; -- x\n");
        let alphabet = b"'\"`[]();,-+*/.eEx0123456789 \n\tINSERTOurlVALUESNUcharep\x00\xff";
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for round in 0..3000 {
            let mut bytes = sample.as_bytes().to_vec();
            for _ in 0..1 + round % 8 {
                let r = random(&mut state) as usize;
                let at = r % (bytes.len() + 1);
                let b = alphabet[(r >> 20) % alphabet.len()];
                match (r >> 40) % 3 {
                    0 => bytes.insert(at, b),
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ if at < bytes.len() => bytes[at] = b,
                    _ => {}
                }
            }
            let mut dump = Dump::new(&bytes[..], 256);
            while let Ok(Some(_)) = dump.next_row() {}
        }
    }
}

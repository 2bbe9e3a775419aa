//! The value of an option: given on the command line, else from its
//! environment variables (which include the config file), else the table's
//! default; numbers and switches checked with one-line errors.

use super::options::{Kind, Opt, OPTIONS};

/// Reads the environment through a function so tests need not mutate it.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The options given on the command line, as text, in table order.
#[derive(Default)]
pub struct Given(Vec<(&'static Opt, String)>);

impl Given {
    /// Reads `opt`'s value (if it takes one) from the parser; the last one given wins.
    pub fn read(&mut self, opt: &'static Opt, parser: &mut lexopt::Parser) -> Result<(), String> {
        let value = match opt.kind {
            Kind::Switch => String::new(),
            Kind::Text(_) | Kind::Number(_) => parser
                .value()
                .map_err(|e| e.to_string())?
                .into_string()
                .map_err(|_| "option values must be UTF-8".to_string())?,
        };
        if let Kind::Number(_) = opt.kind {
            parse_number::<u64>(&value, &format!("--{}", opt.flag))?;
        }
        self.0.retain(|(o, _)| o.flag != opt.flag);
        self.0.push((opt, value));
        Ok(())
    }

    /// The given options in table order.
    pub fn options(&self) -> impl Iterator<Item = &'static Opt> + '_ {
        OPTIONS.iter().filter(|o| self.get(o.flag).is_some())
    }

    fn get(&self, flag: &str) -> Option<&str> {
        self.0.iter().find(|(o, _)| o.flag == flag).map(|(_, v)| v.as_str())
    }
}

fn parse_number<T: std::str::FromStr>(v: &str, source: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{source} needs a whole number >= 0, got {v:?}"))
}

/// Each option's value: its flag, else its first environment variable that
/// is set, else (for the `_or_default` readers) its table default.
pub struct Settings<'a> {
    pub given: Given,
    pub env: Env<'a>,
}

impl Settings<'_> {
    /// The value and where it came from (`--flag` or the variable's name).
    pub fn raw(&self, o: &Opt) -> Option<(String, String)> {
        if let Some(v) = self.given.get(o.flag) {
            return Some((v.to_string(), format!("--{}", o.flag)));
        }
        o.env.iter().find_map(|name| (self.env)(name).map(|v| (v, name.to_string())))
    }

    pub fn text(&self, o: &Opt) -> Option<String> {
        self.raw(o).map(|(v, _)| v)
    }

    pub fn text_or_default(&self, o: &Opt) -> String {
        self.text(o).unwrap_or_else(|| o.default.unwrap_or_default().to_string())
    }

    /// A whole number; a variable's value is trimmed, and a blank one is unset.
    pub fn number<T: std::str::FromStr>(&self, o: &Opt) -> Result<Option<T>, String> {
        match self.raw(o) {
            None => Ok(None),
            Some((v, source)) if source.starts_with("--") => parse_number(&v, &source).map(Some),
            Some((v, _)) if v.trim().is_empty() => Ok(None),
            Some((v, var)) => {
                v.trim().parse().map(Some).map_err(|_| format!("{var} needs a whole number >= 0, got {v:?}"))
            }
        }
    }

    pub fn number_or_default<T: std::str::FromStr>(&self, o: &Opt) -> Result<T, String> {
        match self.number(o)? {
            Some(n) => Ok(n),
            None => {
                let default = o.default.unwrap_or_else(|| panic!("--{} has no default", o.flag));
                Ok(default.parse().unwrap_or_else(|_| panic!("--{}: bad default {default:?}", o.flag)))
            }
        }
    }

    /// On when given as a flag, else when its variable is true (or 1, yes, on).
    pub fn switch(&self, o: &Opt) -> Result<bool, String> {
        let Some((v, var)) = self.raw(o) else { return Ok(false) };
        if var.starts_with("--") {
            return Ok(true);
        }
        match v.trim().to_ascii_lowercase().as_str() {
            "" | "false" | "0" | "no" | "off" => Ok(false),
            "true" | "1" | "yes" | "on" => Ok(true),
            v => Err(format!("{var} must be true or false, got {v:?}")),
        }
    }
}

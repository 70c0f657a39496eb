//! Turns raw import cells into the normalised strings HubSpot stores, one property type at a time.

use crate::crm::properties::{PropertyDef, PropertyType};
use crate::import::row_error::{ErrorType, RowError};
use std::fmt;

mod datetime;
mod number;
#[cfg(test)]
mod tests;

pub use datetime::{format_date, format_datetime, parse_date, parse_datetime};
pub use number::parse_number;

/// HubSpot's `dateFormat`: how to order day, month and year in dates that are not ISO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateFormat {
    #[default]
    MonthDayYear,
    DayMonthYear,
    YearMonthDay,
}

impl DateFormat {
    pub const ALL: [DateFormat; 3] = [
        DateFormat::MonthDayYear,
        DateFormat::DayMonthYear,
        DateFormat::YearMonthDay,
    ];

    /// Accepts the wire names case-insensitively, since clients hand-write them.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        DateFormat::ALL
            .into_iter()
            .find(|f| s.eq_ignore_ascii_case(f.as_str()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DateFormat::MonthDayYear => "MONTH_DAY_YEAR",
            DateFormat::DayMonthYear => "DAY_MONTH_YEAR",
            DateFormat::YearMonthDay => "YEAR_MONTH_DAY",
        }
    }
}

/// Why one cell could not be stored; becomes a [`RowError`] for that cell.
#[derive(Debug, Clone, PartialEq)]
pub struct CoerceError {
    pub error_type: ErrorType,
    pub message: String,
}

impl CoerceError {
    fn new(error_type: ErrorType, message: String) -> Self {
        CoerceError {
            error_type,
            message,
        }
    }
}

impl fmt::Display for CoerceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CoerceError {}

impl From<CoerceError> for RowError {
    fn from(e: CoerceError) -> Self {
        RowError::new(e.error_type, e.message)
    }
}

/// PROPS-GUIDE: string values hold at most 65,536 characters.
pub const MAX_VALUE_CHARS: usize = 65_536;

/// Coerces one raw cell for a property. `Ok(None)` means blank (after trim): the caller skips it,
/// because an import's blank cell never clears a stored value.
pub fn coerce_value(
    def: &PropertyDef,
    raw: &str,
    date_format: DateFormat,
) -> Result<Option<String>, CoerceError> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    // Counting characters only when the bytes could be too many: a value has at least as many.
    let chars = match v.len() > MAX_VALUE_CHARS {
        true => v.chars().count(),
        false => 0,
    };
    if chars > MAX_VALUE_CHARS {
        return Err(CoerceError::new(
            ErrorType::InvalidPropertyValueFormat,
            format!(
                "the value for property '{}' is {chars} characters long; the maximum is 65,536",
                def.name
            ),
        ));
    }
    let out = match def.property_type {
        PropertyType::String if def.name == "email" => normalize_email(v)?,
        PropertyType::String if def.name == "domain" => normalize_domain(v)?,
        PropertyType::String | PropertyType::PhoneNumber => v.to_string(),
        PropertyType::Number => parse_number(v)?,
        PropertyType::Date => format_date(&parse_date(v, date_format)?),
        PropertyType::DateTime => format_datetime(&parse_datetime(v, date_format)?),
        PropertyType::Bool => parse_bool(v)?.to_string(),
        PropertyType::Enumeration => match_enumeration(def, v)?,
    };
    Ok(Some(out))
}

/// The value as it may appear inside an error message: bounded, with control characters escaped,
/// so one hostile cell cannot bloat or garble the errors endpoint.
fn shown(raw: &str) -> String {
    const MAX: usize = 100;
    let mut out = String::new();
    for (i, c) in raw.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

// ---- emails and domains ---------------------------------------------------------------------

/// The normalised alternate key of `ot` (a contact's email, a company's domain); None for deals,
/// which have none.
pub fn normalize_key(ot: crate::crm::ObjectType, raw: &str) -> Option<Result<String, CoerceError>> {
    match ot {
        crate::crm::ObjectType::Contact => Some(normalize_email(raw)),
        crate::crm::ObjectType::Company => Some(normalize_domain(raw)),
        crate::crm::ObjectType::Deal => None,
    }
}

/// Trims and lower-cases an email address, rejecting anything that is not a plausible address.
/// ASCII lower-casing only: Unicode folding could turn look-alikes (e.g. the Kelvin sign) into ASCII.
pub fn normalize_email(raw: &str) -> Result<String, CoerceError> {
    let email = raw.trim().to_ascii_lowercase();
    let plausible = email.split_once('@').is_some_and(|(local, domain)| {
        const LOCAL_EXTRA: &str = "!#$%&'*+/=?^_`{|}~.-";
        !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || LOCAL_EXTRA.contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && is_hostname(domain)
    });
    if plausible {
        Ok(email)
    } else {
        Err(CoerceError::new(
            ErrorType::InvalidEmail,
            format!("'{}' is not a valid email address", shown(raw.trim())),
        ))
    }
}

/// Reduces a website or URL to its bare host, as HubSpot keeps only the domain for companies
/// (KB-FILE: `.edu/home` is trimmed to `.edu`).
pub fn normalize_domain(raw: &str) -> Result<String, CoerceError> {
    let lower = raw.trim().to_ascii_lowercase();
    let mut s = lower.as_str();
    if let Some((_, rest)) = s.split_once("://") {
        s = rest;
    } else if let Some(rest) = s.strip_prefix("//") {
        s = rest;
    }
    s = s.split(['/', '?', '#']).next().unwrap_or("");
    if let Some((_, host)) = s.rsplit_once('@') {
        s = host;
    }
    s = s.split(':').next().unwrap_or("");
    s = s.strip_suffix('.').unwrap_or(s);
    // "www.com" is itself a domain, so only drop "www." when a registrable name remains.
    if let Some(rest) = s.strip_prefix("www.") {
        if rest.contains('.') {
            s = rest;
        }
    }
    if is_hostname(s) {
        Ok(s.to_string())
    } else {
        Err(CoerceError::new(
            ErrorType::InvalidDomain,
            format!("'{}' is not a valid company domain name", shown(raw.trim())),
        ))
    }
}

/// Dotted ASCII host name whose top-level label is not numeric (so IP addresses are refused).
fn is_hostname(s: &str) -> bool {
    let labels_ok = s.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    let tld = s.rsplit('.').next().unwrap_or("");
    s.len() <= 253
        && s.contains('.')
        && labels_ok
        && tld.len() >= 2
        && tld.bytes().any(|b| b.is_ascii_alphabetic())
}

// ---- booleans, enumerations, phones ---------------------------------------------------------

/// Accepts the spellings spreadsheets and CRMs export (HubSpot's own plus Scandinavian `ja`/`nej`).
pub fn parse_bool(raw: &str) -> Result<bool, CoerceError> {
    let v = raw.trim();
    let lower = if v.len() <= 16 {
        v.to_ascii_lowercase()
    } else {
        String::new()
    };
    match lower.as_str() {
        "true" | "yes" | "y" | "1" | "ja" | "on" | "checked" => Ok(true),
        "false" | "no" | "n" | "0" | "nej" | "off" | "unchecked" => Ok(false),
        _ => Err(CoerceError::new(
            ErrorType::InvalidBoolean,
            format!(
                "'{}' is not a valid boolean; expected true/false, yes/no, 1/0, ja/nej, y/n, \
                 on/off or checked/unchecked",
                shown(v)
            ),
        )),
    }
}

/// Maps a cell to option values by value or label, case-insensitively. Multi-select (`checkbox`)
/// cells are `;`-separated and come back deduplicated in input order. A property without options
/// (e.g. `hubspot_owner_id`, resolved elsewhere) takes any text.
pub fn match_enumeration(def: &PropertyDef, raw: &str) -> Result<String, CoerceError> {
    let v = raw.trim();
    let empty = || {
        CoerceError::new(
            ErrorType::InvalidEnumerationOption,
            format!("an empty value is not an option of property '{}'", def.name),
        )
    };
    if def.options.is_empty() {
        return if v.is_empty() {
            Err(empty())
        } else {
            Ok(v.to_string())
        };
    }
    if def.field_type != "checkbox" {
        return match_option(def, v).map(str::to_string);
    }
    let mut out: Vec<&str> = Vec::new();
    for part in v.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let value = match_option(def, part)?;
        if !out.contains(&value) {
            out.push(value);
        }
    }
    if out.is_empty() {
        return Err(empty());
    }
    Ok(out.join(";"))
}

/// Equal ignoring case, as `to_lowercase` sees it; without allocating for ASCII text, which
/// is nearly every cell.
fn same_ignoring_case(a: &str, b: &str) -> bool {
    // Each value is compared with every option's value and label: most differ in length.
    if a.len() == b.len() && a.eq_ignore_ascii_case(b) {
        true
    } else if a.is_ascii() && b.is_ascii() {
        false
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

fn match_option<'a>(def: &'a PropertyDef, token: &str) -> Result<&'a str, CoerceError> {
    let mut found: Option<&str> = None;
    for o in &def.options {
        if !same_ignoring_case(&o.value, token) && !same_ignoring_case(&o.label, token) {
            continue;
        }
        match found {
            Some(f) if f != o.value => {
                return Err(CoerceError::new(
                    ErrorType::AmbiguousEnumerationOption,
                    format!(
                        "'{}' matches more than one option of property '{}' ('{f}' and '{}')",
                        shown(token),
                        def.name,
                        o.value
                    ),
                ))
            }
            _ => found = Some(o.value.as_str()),
        }
    }
    found.ok_or_else(|| {
        let mut expected: Vec<&str> = def
            .options
            .iter()
            .take(12)
            .map(|o| o.value.as_str())
            .collect();
        if def.options.len() > expected.len() {
            expected.push("…");
        }
        CoerceError::new(
            ErrorType::InvalidEnumerationOption,
            format!(
                "'{}' is not an option of property '{}'; expected one of: {}",
                shown(token),
                def.name,
                expected.join(", ")
            ),
        )
    })
}

/// E.164 form of a phone number for `hs_calculated_phone_number`, or `None` if it has none.
/// An explicit `+` wins over the North American guesses: `+46 8 123 4567` has ten digits but
/// stays Swedish.
pub fn e164(raw: &str) -> Option<String> {
    let b = raw.trim().as_bytes();
    // An extension ("x", "ext") ends the number.
    let cut = (0..b.len())
        .find(|&i| {
            b[i].eq_ignore_ascii_case(&b'x')
                || b.get(i..i + 3)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"ext"))
        })
        .unwrap_or(b.len());
    let main = &b[..cut];
    let plus = main.iter().find(|c| c.is_ascii_digit() || **c == b'+') == Some(&b'+');
    let mut out = String::with_capacity(18);
    out.push('+');
    let digits = main.iter().filter(|c| c.is_ascii_digit()).count();
    match digits {
        7..=15 if plus => {}
        _ if plus => return None,
        10 => out.push('1'),
        11 if main.iter().find(|c| c.is_ascii_digit()) == Some(&b'1') => {}
        _ => return None,
    }
    out.extend(
        main.iter()
            .filter(|c| c.is_ascii_digit())
            .map(|&c| char::from(c)),
    );
    Some(out)
}

//! Date and datetime parsing for imports, driven by the import's `dateFormat`.

use super::{is_digits, shown, CoerceError, DateFormat};
use crate::import::row_error::ErrorType;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// The stored form of a `datetime` value, e.g. `2027-01-15T00:00:00.000Z`. Written by hand for
/// four-digit years: chrono parses its format string again on every call, for every row, and
/// `format!` with padding was a twentieth of the parsing thread of an import with one date column.
pub fn format_datetime(dt: &DateTime<Utc>) -> String {
    use chrono::Timelike;
    // (chrono's own formatting for other years and for leap seconds)
    if !(0..=9999).contains(&dt.year()) || dt.nanosecond() >= 1_000_000_000 {
        return dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    }
    let mut s = format_date(&dt.date_naive());
    s.push('T');
    push_digits(&mut s, dt.hour(), 2);
    s.push(':');
    push_digits(&mut s, dt.minute(), 2);
    s.push(':');
    push_digits(&mut s, dt.second(), 2);
    s.push('.');
    push_digits(&mut s, dt.nanosecond() / 1_000_000, 3);
    s.push('Z');
    s
}

/// The stored form of a `date` value, e.g. `2027-01-15`.
pub fn format_date(d: &NaiveDate) -> String {
    if !(0..=9999).contains(&d.year()) {
        return d.format("%Y-%m-%d").to_string();
    }
    let mut s = String::with_capacity(24);
    push_digits(&mut s, d.year() as u32, 4);
    s.push('-');
    push_digits(&mut s, d.month(), 2);
    s.push('-');
    push_digits(&mut s, d.day(), 2);
    s
}

/// `n`'s last `width` decimal digits, zero-padded.
fn push_digits(s: &mut String, n: u32, width: u32) {
    for p in (0..width).rev() {
        s.push(char::from(b'0' + (n / 10u32.pow(p) % 10) as u8));
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_from(s: &str) -> Option<u32> {
    if is_digits(s) {
        return s
            .parse()
            .ok()
            .filter(|m| (1..=12).contains(m) && s.len() <= 2);
    }
    let l = s.to_ascii_lowercase();
    if l == "sept" {
        return Some(9);
    }
    let i = MONTHS
        .iter()
        .position(|m| *m == l || (l.len() == 3 && m.starts_with(l.as_str())))?;
    u32::try_from(i + 1).ok()
}

/// Two-digit years pivot like POSIX `strptime`: 00–68 are 20xx, 69–99 are 19xx.
fn ymd(year: &str, month: &str, day: &str) -> Option<NaiveDate> {
    if !is_digits(year) || !is_digits(day) || day.len() > 2 {
        return None;
    }
    let y: i32 = year.parse().ok()?;
    let y = match year.len() {
        4 if y >= 1 => y,
        2 if y <= 68 => 2000 + y,
        2 => 1900 + y,
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y, month_from(month)?, day.parse().ok()?)
}

/// Three parts joined by one repeated separator (`/`, `-` or `.`); mixed separators are refused.
fn split_date(s: &str) -> Option<[&str; 3]> {
    let sep = s.chars().find(|c| matches!(c, '/' | '-' | '.'))?;
    let mut it = s.split(sep);
    let parts = [it.next()?, it.next()?, it.next()?];
    let clean = parts
        .iter()
        .all(|p| !p.is_empty() && !p.contains(['/', '-', '.']));
    (it.next().is_none() && clean).then_some(parts)
}

fn date_only(s: &str, f: DateFormat) -> Option<NaiveDate> {
    let [a, b, c] = split_date(s)?;
    // ISO YYYY-MM-DD cannot be misread, so it wins whatever dateFormat says.
    if s.contains('-') && a.len() == 4 && is_digits(a) && is_digits(b) {
        return ymd(a, b, c);
    }
    match f {
        DateFormat::MonthDayYear => ymd(c, a, b),
        DateFormat::DayMonthYear => ymd(c, b, a),
        DateFormat::YearMonthDay => ymd(a, b, c),
    }
}

/// A purely numeric value of ten or more digits is epoch milliseconds (HubSpot's CSV convention).
fn epoch_millis(s: &str) -> Option<DateTime<Utc>> {
    if s.len() < 10 || !is_digits(s) {
        return None;
    }
    DateTime::from_timestamp_millis(s.parse().ok()?).filter(|d| d.year() <= 9999)
}

fn date_error(s: &str, f: DateFormat, what: &str) -> CoerceError {
    CoerceError::new(
        ErrorType::CouldNotParseDate,
        format!(
            "'{}' is not a valid {what} in {} format",
            shown(s),
            f.as_str()
        ),
    )
}

/// Parses a `date` value. Epoch milliseconds are accepted only at midnight UTC: truncating another
/// instant would silently pick a day that depends on the exporter's time zone.
pub fn parse_date(raw: &str, f: DateFormat) -> Result<NaiveDate, CoerceError> {
    let s = raw.trim();
    if let Some(dt) = epoch_millis(s) {
        if dt.time() == NaiveTime::MIN {
            return Ok(dt.date_naive());
        }
        return Err(CoerceError::new(
            ErrorType::CouldNotParseDate,
            format!(
                "'{}' is an epoch timestamp that is not at midnight UTC, so it is not a date",
                shown(s)
            ),
        ));
    }
    date_only(s, f).ok_or_else(|| date_error(s, f, "date"))
}

/// Parses a `datetime` value: a date, then optionally `hh:mm[:ss[.fff]]`, `AM`/`PM` and an offset
/// (`Z`, `UTC`, `GMT`, `+hh:mm`, `+hhmm`, `+hh`). No offset means UTC. Sub-millisecond digits are
/// truncated because the stored form has millisecond precision.
pub fn parse_datetime(raw: &str, f: DateFormat) -> Result<DateTime<Utc>, CoerceError> {
    let s = raw.trim();
    if let Some(dt) = epoch_millis(s) {
        return Ok(dt);
    }
    datetime_text(s, f).ok_or_else(|| date_error(s, f, "date-time"))
}

fn datetime_text(s: &str, f: DateFormat) -> Option<DateTime<Utc>> {
    // The time starts after an ISO date's 'T' or after the first space; month names contain 't'.
    let (date_part, rest) = match s.find(['T', 't']) {
        Some(i)
            if s.get(..i)
                .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit() || b == b'-')) =>
        {
            (s.get(..i)?, s.get(i + 1..)?)
        }
        _ => match s.find(char::is_whitespace) {
            Some(i) => (s.get(..i)?, s.get(i..)?),
            None => (s, ""),
        },
    };
    let date = date_only(date_part, f)?;
    let (time, offset) = time_and_offset(rest.trim().as_bytes())?;
    FixedOffset::east_opt(offset)?
        .from_local_datetime(&date.and_time(time))
        .single()
        .map(|d| d.with_timezone(&Utc))
        // An offset can push 9999-12-31 past the four-digit years the stored form allows.
        .filter(|d| (1..=9999).contains(&d.year()))
}

/// Byte cursor over the time part; only ASCII is meaningful there, so bytes avoid char-boundary traps.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }
    fn eat_word(&mut self, w: &str) -> bool {
        let hit = self
            .b
            .get(self.i..self.i + w.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(w.as_bytes()));
        self.i += if hit { w.len() } else { 0 };
        hit
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    fn digits(&mut self) -> &'a [u8] {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.b.get(start..self.i).unwrap_or_default()
    }
    /// Between `min` and `max` digits as a number.
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let d = self.digits();
        if d.len() < min || d.len() > max {
            return None;
        }
        Some(d.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
    }
}

fn time_and_offset(b: &[u8]) -> Option<(NaiveTime, i32)> {
    let mut c = Cursor { b, i: 0 };
    let mut time = NaiveTime::MIN;
    if c.peek().is_some_and(|d| d.is_ascii_digit()) {
        let hour = c.number(1, 2)?;
        if !c.eat(b':') {
            return None;
        }
        let minute = c.number(2, 2)?;
        let (mut second, mut milli) = (0, 0);
        if c.eat(b':') {
            second = c.number(2, 2)?;
            if c.eat(b'.') || c.eat(b',') {
                let frac = c.digits();
                if frac.is_empty() {
                    return None;
                }
                milli = (0..3).fold(0, |n, k| {
                    n * 10 + frac.get(k).map_or(0, |d| u32::from(d - b'0'))
                });
            }
        }
        c.skip_ws();
        let pm = if c.eat_word("am") {
            Some(false)
        } else if c.eat_word("pm") {
            Some(true)
        } else {
            None
        };
        let hour = match pm {
            Some(_) if !(1..=12).contains(&hour) => return None,
            Some(pm) => hour % 12 + if pm { 12 } else { 0 },
            None => hour,
        };
        time = NaiveTime::from_hms_milli_opt(hour, minute, second, milli)?;
    }
    c.skip_ws();
    let offset = if c.eat(b'Z') || c.eat(b'z') || c.eat_word("utc") || c.eat_word("gmt") {
        0
    } else if c.peek() == Some(b'+') || c.peek() == Some(b'-') {
        let sign = if c.eat(b'-') {
            -1
        } else {
            c.eat(b'+');
            1
        };
        let digits = c.digits();
        let (h, m) = match digits.len() {
            2 if c.eat(b':') => (num(digits)?, c.number(2, 2)?),
            2 => (num(digits)?, 0),
            4 => (num(digits.get(..2)?)?, num(digits.get(2..)?)?),
            _ => return None,
        };
        if h > 23 || m > 59 {
            return None;
        }
        sign * i32::try_from(h * 3600 + m * 60).ok()?
    } else {
        0
    };
    c.skip_ws();
    (c.i == b.len()).then_some((time, offset))
}

fn num(d: &[u8]) -> Option<u32> {
    std::str::from_utf8(d).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::coerce::tests::format_rows;

    #[test]
    fn dates() {
        let table = "
            MDY 10/28/2023 => 2023-10-28
            MDY 10-28-23 => 2023-10-28
            MDY 10.28.2023 => 2023-10-28
            MDY Oct/28/2023 => 2023-10-28
            MDY OCTOBER-28-2023 => 2023-10-28
            MDY october.28.23 => 2023-10-28
            MDY Sept/1/2023 => 2023-09-01
            MDY 1/2/2023 => 2023-01-02
            DMY 1/2/2023 => 2023-02-01
            DMY 28/10/2023 => 2023-10-28
            DMY 28-Oct-2023 => 2023-10-28
            DMY 28.OCT.23 => 2023-10-28
            YMD 2023.OCT.28 => 2023-10-28
            YMD 2023/10/28 => 2023-10-28
            YMD 23-10-28 => 2023-10-28
            YMD 2023.October.28 => 2023-10-28
            MDY 2023-10-28 => 2023-10-28
            DMY 2023-10-28 => 2023-10-28
            YMD 2023-10-28 => 2023-10-28
            MDY 01/02/68 => 2068-01-02
            MDY 01/02/69 => 1969-01-02
            MDY 01/02/00 => 2000-01-02
            MDY 01/02/99 => 1999-01-02
            MDY 2024-02-29 => 2024-02-29
            MDY 1698451200000 => 2023-10-28
        ";
        for (f, raw, want) in format_rows(table) {
            let got = parse_date(raw, f).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(got.to_string(), want, "{raw} {f:?}");
        }
        assert_eq!(
            parse_date(" 28/10/23 ", DateFormat::DayMonthYear)
                .unwrap()
                .to_string(),
            "2023-10-28"
        );
    }

    #[test]
    fn impossible_or_malformed_dates_fail() {
        let e = parse_date("31/02/2027", DateFormat::DayMonthYear).unwrap_err();
        assert_eq!(e.error_type, ErrorType::CouldNotParseDate);
        assert_eq!(
            e.message,
            "'31/02/2027' is not a valid date in DAY_MONTH_YEAR format"
        );
        assert_eq!(e.to_string(), e.message);
        let table = "
            MDY 02/30/2024
            DMY 2023-02-29
            MDY 28/10/2023
            MDY 10/28-2023
            MDY 10/28/202
            MDY 13/01/2023
            MDY Octo/28/2023
            MDY 10/28
            MDY 10/28/2023/1
            MDY 10//2023
            YMD 0000-01-01
            MDY 2023-10-28T00:00:00Z
            MDY 1698451200001
            MDY ١٠/٢٨/٢٠٢٣
        ";
        for (f, raw, _) in format_rows(table) {
            let e = parse_date(raw, f).unwrap_err();
            assert_eq!(e.error_type, ErrorType::CouldNotParseDate, "{raw}");
        }
        assert!(parse_date("", DateFormat::MonthDayYear).is_err());
        let e = parse_date("1698451200001", DateFormat::MonthDayYear).unwrap_err();
        assert!(e.message.contains("not at midnight UTC"), "{}", e.message);
    }

    #[test]
    fn datetimes() {
        let table = "
            MDY 2023-10-28T14:30:00Z => 2023-10-28T14:30:00.000Z
            DMY 2023-10-28T14:30:00.123456+02:00 => 2023-10-28T12:30:00.123Z
            MDY 2023-10-28t14:30:00.5z => 2023-10-28T14:30:00.500Z
            MDY 2023-10-28T14:30:00 => 2023-10-28T14:30:00.000Z
            MDY 2023-10-28 14:30 UTC => 2023-10-28T14:30:00.000Z
            DMY 28/10/2020 14:30 => 2020-10-28T14:30:00.000Z
            MDY 02-28-26 7:00AM +01:00 => 2026-02-28T06:00:00.000Z
            MDY 02-28-26 7:00 pm => 2026-02-28T19:00:00.000Z
            MDY 02-28-26 12:00AM => 2026-02-28T00:00:00.000Z
            MDY 02-28-26 12:30PM => 2026-02-28T12:30:00.000Z
            MDY 10/28/2023 14:30:15 -05:00 => 2023-10-28T19:30:15.000Z
            MDY 10/28/2023 14:30 +0530 => 2023-10-28T09:00:00.000Z
            MDY 01/01/2024 00:30 +01 => 2023-12-31T23:30:00.000Z
            YMD 2023.OCT.28 09:15 => 2023-10-28T09:15:00.000Z
            MDY Oct-28-2023 09:15 => 2023-10-28T09:15:00.000Z
            DMY 2027-01-15 => 2027-01-15T00:00:00.000Z
            MDY 1700000000000 => 2023-11-14T22:13:20.000Z
            MDY 1700000000123 => 2023-11-14T22:13:20.123Z
            MDY 1000000000 => 1970-01-12T13:46:40.000Z
        ";
        for (f, raw, want) in format_rows(table) {
            let got = parse_datetime(raw, f).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(format_datetime(&got), want, "{raw} {f:?}");
        }
    }

    #[test]
    fn bad_datetimes_fail() {
        let table = "
            MDY 2023-10-28 25:00
            MDY 2023-10-28 14:3
            MDY 2023-10-28 14
            MDY 2023-10-28 14:30 +24:00
            MDY 2023-10-28 14:30 +1:00
            MDY 2023-10-28 14:30 banana
            MDY 2023-10-28 13:00PM
            MDY 2023-10-28 0:30AM
            MDY 2023-10-28 14:30:61
            MDY 2023-10-28 14:30:00.
            MDY 14:30
            MDY 123456789
            MDY 99999999999999999999999
            MDY 31/02/2027 10:00
            DMY 02-28-26 7:00AM
        ";
        for (f, raw, _) in format_rows(table) {
            let e = parse_datetime(raw, f).unwrap_err();
            assert_eq!(e.error_type, ErrorType::CouldNotParseDate, "{raw}");
        }
        let e = parse_datetime("31/02/2027 10:00", DateFormat::DayMonthYear).unwrap_err();
        assert_eq!(
            e.message,
            "'31/02/2027 10:00' is not a valid date-time in DAY_MONTH_YEAR format"
        );
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn stored_forms_match_chronos_formatting() {
        let cases = [
            (1, 1, 1, 0, 0, 0, 0),
            (2027, 1, 15, 9, 5, 7, 123_456_789),
            (9999, 12, 31, 23, 59, 59, 999_999_999),
            (10_000, 1, 1, 0, 0, 0, 1_000_000),
            (-5, 3, 4, 1, 2, 3, 0),
        ];
        for (y, mo, d, h, mi, s, ns) in cases {
            let date = NaiveDate::from_ymd_opt(y, mo, d).unwrap();
            assert_eq!(format_date(&date), date.format("%Y-%m-%d").to_string());
            let dt = date.and_hms_nano_opt(h, mi, s, ns).unwrap().and_utc();
            assert_eq!(
                format_datetime(&dt),
                dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            );
        }
    }
}

//! Number parsing for imports: thousands/decimal separators, currency, sign, canonical output.

use super::{shown, CoerceError};
use crate::import::row_error::ErrorType;

enum NumberError {
    Invalid,
    Ambiguous(char),
}

const CURRENCY_SYMBOLS: [char; 5] = ['$', '€', '£', '¥', '₹'];
const CURRENCY_CODES: [&str; 12] = [
    "USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "INR", "CNY",
];

fn strip_currency_prefix(s: &str) -> &str {
    if let Some(rest) = s.strip_prefix(CURRENCY_SYMBOLS) {
        return rest.trim_start();
    }
    match s.get(..3) {
        Some(code) if CURRENCY_CODES.iter().any(|c| c.eq_ignore_ascii_case(code)) => {
            s.get(3..).unwrap_or("").trim_start()
        }
        _ => s,
    }
}

fn strip_currency_suffix(s: &str) -> &str {
    if let Some(rest) = s.strip_suffix(CURRENCY_SYMBOLS) {
        return rest.trim_end();
    }
    let cut = s.len().saturating_sub(3);
    match (s.get(..cut), s.get(cut..)) {
        (Some(rest), Some(code)) if CURRENCY_CODES.iter().any(|c| c.eq_ignore_ascii_case(code)) => {
            rest.trim_end()
        }
        _ => s,
    }
}

/// Parses a number into canonical plain decimal (`1.234,50` → `1234.5`, `(12)` → `-12`).
///
/// Separators: `.` and `,` may each be thousands or decimal; spaces (also non-breaking) and
/// apostrophes are thousands only. With both `.` and `,` the last one is the decimal point. A lone
/// `.` or `,` followed by exactly three digits after a 1–3 digit integer (`1,234`) could be either,
/// so it is refused as ambiguous rather than guessed. Thousands groups must have three digits.
///
/// Percentages keep the number as typed: `25%` → `25`, matching how HubSpot stores what was typed
/// for percentage-formatted number properties. Currency symbols and ISO codes around the number
/// are dropped. Digits are handled as text, so arbitrarily long values keep every digit.
pub fn parse_number(raw: &str) -> Result<String, CoerceError> {
    let s = raw.trim();
    canonical_number(s).map_err(|e| {
        let message = match e {
            NumberError::Ambiguous(sep) => format!(
                "'{}' is an ambiguous number: '{sep}' could separate thousands or decimals; \
                 write it without thousands separators",
                shown(s)
            ),
            NumberError::Invalid => format!(
                "'{}' is not a valid number; expected digits with at most one decimal separator, \
                 e.g. 1234.5 or 1.234,5",
                shown(s)
            ),
        };
        CoerceError::new(ErrorType::CouldNotParseNumber, message)
    })
}

fn canonical_number(s: &str) -> Result<String, NumberError> {
    use NumberError::Invalid;
    let (mut neg, mut s) = match s.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        Some(inner) => (true, inner.trim()),
        None => (false, s),
    };
    s = strip_currency_prefix(s);
    if let Some(rest) = s.strip_prefix(['-', '+', '−']) {
        if neg {
            return Err(Invalid);
        }
        neg = !s.starts_with('+');
        s = strip_currency_prefix(rest.trim_start());
    }
    if let Some(rest) = s.strip_suffix('%') {
        s = rest.trim_end();
    }
    s = strip_currency_suffix(s);

    let (mut groups, mut seps) = (Vec::new(), Vec::new());
    let mut start = 0;
    for (i, ch) in s.char_indices() {
        let kind = match ch {
            '0'..='9' => continue,
            '.' | ',' => ch,
            '\'' | '’' => '\'',
            c if c.is_whitespace() => ' ',
            _ => return Err(Invalid),
        };
        groups.push(s.get(start..i).ok_or(Invalid)?);
        seps.push(kind);
        start = i + ch.len_utf8();
    }
    groups.push(s.get(start..).ok_or(Invalid)?);

    let is_point = |c: &char| matches!(c, '.' | ',');
    let leading_decimal = seps.len() == 1 && is_point(&seps[0]);
    let all_present = groups
        .iter()
        .enumerate()
        .all(|(k, g)| !g.is_empty() || (k == 0 && leading_decimal));
    if !all_present {
        return Err(Invalid);
    }
    let last_point = seps.iter().rposition(is_point);
    let dec = match last_point {
        None => None,
        Some(d) => {
            let c = seps[d];
            let same = seps.iter().filter(|&&x| x == c).count();
            let other_point = seps.iter().any(|x| is_point(x) && *x != c);
            let has_space = seps.iter().any(|x| !is_point(x));
            if other_point && same > 1 {
                return Err(Invalid);
            } else if other_point {
                // With both kinds the last is the decimal point (`1.234,5`, `1,234.5`).
                Some(d)
            } else if same > 1 {
                // Repeated, it can only separate thousands (`1,234,567`).
                None
            } else if has_space {
                // Spaces already separate thousands, so a lone point is decimal (`1 234,5`).
                Some(d)
            } else {
                let (int, frac) = (groups[0], groups[1]);
                let could_be_thousands =
                    frac.len() == 3 && (1..=3).contains(&int.len()) && !int.starts_with('0');
                if could_be_thousands {
                    return Err(NumberError::Ambiguous(c));
                }
                Some(0)
            }
        }
    };
    if dec.is_some_and(|d| d + 1 != seps.len()) {
        return Err(Invalid);
    }
    let n_int = dec.map_or(groups.len(), |d| d + 1);
    if n_int > 1 {
        let thousands = &seps[..n_int - 1];
        let first = groups[0];
        let grouped = thousands.iter().all(|&x| x == thousands[0])
            && (1..=3).contains(&first.len())
            && !first.starts_with('0')
            && groups[1..n_int].iter().all(|g| g.len() == 3);
        if !grouped {
            return Err(Invalid);
        }
    }
    let int: String = groups[..n_int].concat();
    let int = int.trim_start_matches('0');
    let frac = dec.map_or("", |d| groups[d + 1]).trim_end_matches('0');
    let mut out = String::with_capacity(int.len() + frac.len() + 3);
    if neg && !(int.is_empty() && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::coerce::tests::rows;

    #[test]
    fn numbers() {
        let table = "
            123.45 => 123.45
            4100.50 => 4100.5
            900 => 900
            -0 => 0
            0.0 => 0
            -0.00 => 0
            .25 => 0.25
            007 => 7
            +3 => 3
            1.5 => 1.5
            1,5 => 1.5
            12,50 => 12.5
            0,125 => 0.125
            0.125 => 0.125
            1234.567 => 1234.567
            123456789012345678901234567890.000000000000000000001 => 123456789012345678901234567890.000000000000000000001
            1.234,50 => 1234.5
            1 234,5 => 1234.5
            1\u{a0}234,5 => 1234.5
            1\u{202f}234,5 => 1234.5
            1 234 => 1234
            1,234.50 => 1234.5
            12,500.00 => 12500
            1,234,567 => 1234567
            1.234.567 => 1234567
            1.234.567,89 => 1234567.89
            1'234.5 => 1234.5
            $1,234.50 => 1234.5
            €5 => 5
            £ 12 => 12
            ¥1000 => 1000
            1.234,50 € => 1234.5
            1.234,50€ => 1234.5
            100 EUR => 100
            USD 99.99 => 99.99
            eur12 => 12
            25% => 25
            12.5 % => 12.5
            -5 => -5
            (1,234.50) => -1234.5
            -$1,234.50 => -1234.5
            $-12 => -12
            ($12) => -12
            \u{2212}7 => -7
            -25% => -25
        ";
        for (raw, want) in rows(table) {
            assert_eq!(parse_number(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn ambiguous_and_invalid_numbers_fail() {
        for (raw, _) in rows("1,234\n 1.234\n -1.234\n $999,999\n (1.000)") {
            let e = parse_number(raw).unwrap_err();
            assert_eq!(e.error_type, ErrorType::CouldNotParseNumber, "{raw}");
            assert!(e.message.contains("ambiguous"), "{raw}: {}", e.message);
        }
        let table = "
            abc
            1e5
            --5
            (-5)
            1..5
            5.
            1,23,456
            12 34
            1,234.567.8
            1.2.3,4
            1,234 567
            1 234.5 6
            0,123,456
            $
            %
            1.234,5.6
            12-34
            ½
            (5
            5)
            1,234,56
        ";
        for (raw, _) in rows(table).chain([("", "")]) {
            let e = parse_number(raw).unwrap_err();
            assert_eq!(e.error_type, ErrorType::CouldNotParseNumber, "{raw}");
            assert!(
                e.message
                    .starts_with(&format!("'{raw}' is not a valid number")),
                "{raw}"
            );
        }
    }
}

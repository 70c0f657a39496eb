use super::*;
use crate::crm::properties::{default_property, PropertyOption};
use crate::crm::ObjectType;

fn def(name: &str, ty: PropertyType, field_type: &str, opts: &[(&str, &str)]) -> PropertyDef {
    PropertyDef {
        name: name.into(),
        label: name.into(),
        property_type: ty,
        field_type: field_type.into(),
        group_name: "test".into(),
        description: String::new(),
        options: (0..)
            .zip(opts)
            .map(|(i, &(value, label))| PropertyOption {
                label: label.into(),
                value: value.into(),
                display_order: i,
                hidden: false,
            })
            .collect(),
        has_unique_value: false,
        read_only_value: false,
        hubspot_defined: false,
        display_order: 0,
    }
}

fn prop(ot: ObjectType, name: &str) -> &'static PropertyDef {
    default_property(ot, name).unwrap()
}

/// Table rows, one per line: `input => expected`, or just `input` for failure tables.
/// Tables keep dozens of cases readable without one rustfmt-expanded tuple per case.
pub(super) fn rows(table: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    let lines = table.lines().map(str::trim).filter(|l| !l.is_empty());
    lines.map(|l| l.split_once(" => ").unwrap_or((l, "")))
}

/// Rows whose input starts with the date format: `DMY 28/10/2023 => 2023-10-28`.
pub(super) fn format_rows(
    table: &'static str,
) -> impl Iterator<Item = (DateFormat, &'static str, &'static str)> {
    rows(table).map(|(lhs, want)| {
        let (f, raw) = lhs.split_once(' ').unwrap();
        let f = match f {
            "MDY" => DateFormat::MonthDayYear,
            "DMY" => DateFormat::DayMonthYear,
            "YMD" => DateFormat::YearMonthDay,
            _ => panic!("bad format in table: {f}"),
        };
        (f, raw, want)
    })
}

#[test]
fn date_format_names() {
    for f in DateFormat::ALL {
        assert_eq!(DateFormat::parse(f.as_str()), Some(f));
    }
    assert_eq!(
        DateFormat::parse(" day_month_year "),
        Some(DateFormat::DayMonthYear)
    );
    assert_eq!(DateFormat::parse("DMY"), None);
    assert_eq!(DateFormat::default(), DateFormat::MonthDayYear);
}

#[test]
fn booleans() {
    for raw in [
        "true", "TRUE", " Yes ", "y", "1", "ja", "JA", "on", "Checked",
    ] {
        assert_eq!(parse_bool(raw), Ok(true), "{raw}");
    }
    for raw in [
        "false",
        "False",
        "no",
        "N",
        "0",
        "nej",
        "Nej",
        "OFF",
        "unchecked",
    ] {
        assert_eq!(parse_bool(raw), Ok(false), "{raw}");
    }
    for raw in ["2", "maybe", "", "yes please", "t", "checkedchecked!!!"] {
        let e = parse_bool(raw).unwrap_err();
        assert_eq!(e.error_type, ErrorType::InvalidBoolean);
        assert_eq!(e.error_type.as_str(), "FAILED_VALIDATION");
    }
}

#[test]
fn enumerations_single_select() {
    let stage = prop(ObjectType::Deal, "dealstage");
    for raw in ["closedwon", "Closed Won", "CLOSED WON", " closedwon "] {
        assert_eq!(
            match_enumeration(stage, raw).as_deref(),
            Ok("closedwon"),
            "{raw}"
        );
    }
    let got = match_enumeration(stage, "Decision Maker Bought-In");
    assert_eq!(got.as_deref(), Ok("decisionmakerboughtin"));
    let life = prop(ObjectType::Contact, "lifecyclestage");
    let got = match_enumeration(life, "Marketing Qualified Lead");
    assert_eq!(got.as_deref(), Ok("marketingqualifiedlead"));
    let e = match_enumeration(stage, "won").unwrap_err();
    assert_eq!(e.error_type, ErrorType::InvalidEnumerationOption);
    assert!(
        e.message.contains("expected one of: appointmentscheduled"),
        "{}",
        e.message
    );
    let e = match_enumeration(stage, "closedwon;closedlost").unwrap_err();
    assert_eq!(e.error_type, ErrorType::InvalidEnumerationOption);
    let owner = prop(ObjectType::Contact, "hubspot_owner_id");
    assert_eq!(match_enumeration(owner, " 12345 ").as_deref(), Ok("12345"));
    assert_eq!(
        match_enumeration(owner, "Jane Doe").as_deref(),
        Ok("Jane Doe")
    );
    assert!(match_enumeration(owner, " ").is_err());
}

#[test]
fn enumerations_ambiguous_and_multi_select() {
    let opts = [("a", "B"), ("b", "Bee"), ("c", "c")];
    let tricky = def("tricky", PropertyType::Enumeration, "select", &opts);
    let e = match_enumeration(&tricky, "b").unwrap_err();
    assert_eq!(e.error_type, ErrorType::AmbiguousEnumerationOption);
    let want = "'b' matches more than one option of property 'tricky' ('a' and 'b')";
    assert_eq!(e.message, want);
    assert_eq!(match_enumeration(&tricky, "C").as_deref(), Ok("c"));
    assert_eq!(match_enumeration(&tricky, "bee").as_deref(), Ok("b"));

    let colors = [("red", "Red"), ("green", "Green"), ("blue", "Blue")];
    let multi = def("colors", PropertyType::Enumeration, "checkbox", &colors);
    let got = match_enumeration(&multi, "Red;green; ;BLUE;red");
    assert_eq!(got.as_deref(), Ok("red;green;blue"));
    assert_eq!(match_enumeration(&multi, ";red").as_deref(), Ok("red"));
    assert_eq!(match_enumeration(&multi, "Green").as_deref(), Ok("green"));
    let e = match_enumeration(&multi, "red;purple").unwrap_err();
    assert_eq!(e.error_type, ErrorType::InvalidEnumerationOption);
    assert!(e
        .message
        .starts_with("'purple' is not an option of property 'colors'"));
    assert!(match_enumeration(&multi, ";;").is_err());
}

#[test]
fn emails() {
    let got = normalize_email(" Ann.Lee@Example.COM ");
    assert_eq!(got.as_deref(), Ok("ann.lee@example.com"));
    let got = normalize_email("a+tag@sub.example.co.uk");
    assert_eq!(got.as_deref(), Ok("a+tag@sub.example.co.uk"));
    let table = "
        not-an-email
        a@b
        a@@b.com
        a@b@c.com
        @b.com
        a b@c.com
        a@b.c
        a@-b.com
        a..b@c.com
        .a@c.com
        a@b..com
        ünï@x.com
        a@192.168.1.1
        \u{212a}@x.com
    ";
    for (raw, _) in rows(table).chain([("", "")]) {
        let e = normalize_email(raw).unwrap_err();
        assert_eq!(e.error_type, ErrorType::InvalidEmail, "{raw}");
    }
    let e = normalize_email("nope").unwrap_err();
    assert_eq!(e.message, "'nope' is not a valid email address");
}

#[test]
fn domains() {
    let table = "
        https://www.Example.com/path?q=1 => example.com
        example.com. => example.com
        http://example.com:8080 => example.com
        www.com => www.com
        Sub.Example.co.uk => sub.example.co.uk
        foo.edu/home => foo.edu
        //cdn.example.com => cdn.example.com
        example.com#about => example.com
    ";
    for (raw, want) in rows(table) {
        assert_eq!(normalize_domain(raw).as_deref(), Ok(want), "{raw}");
    }
    for (raw, _) in
        rows("localhost\n exa mple.com\n ex_ample.com\n http://\n münchen.de\n 1.2.3.4\n -a.com")
    {
        let e = normalize_domain(raw).unwrap_err();
        assert_eq!(e.error_type, ErrorType::InvalidDomain, "{raw}");
    }
    assert!(normalize_domain("").is_err());
}

#[test]
fn phones_to_e164() {
    let table = "
        (555) 123-4567 => +15551234567
        1-555-123-4567 => +15551234567
        +44 20 7946 0958 => +442079460958
        +1 555 123 4567 ext 89 => +15551234567
        555-123-4567 x12 => +15551234567
        +1 555 123 4567 EXT 89 => +15551234567
        555.123.4567X12 => +15551234567
        555 123 4567ext9 => +15551234567
        +46 8 123 4567 => +4681234567
        (+46) 8 123 456 => +468123456
    ";
    for (raw, want) in rows(table) {
        assert_eq!(e164(raw).as_deref(), Some(want), "{raw}");
    }
    for (raw, _) in rows("12345\n +123\n +1234567890123456\n 25-555-123-4567\n abc\n 555-1234") {
        assert_eq!(e164(raw), None, "{raw}");
    }
    assert_eq!(e164(""), None);
}

#[test]
fn coerce_value_dispatch() {
    use DateFormat::{DayMonthYear as DMY, MonthDayYear as MDY};
    use ObjectType::{Company, Contact, Deal};
    let c = |ot, name, raw, f| coerce_value(prop(ot, name), raw, f);
    let some = |s: &str| Ok(Some(s.to_string()));
    for name in [
        "amount",
        "closedate",
        "dealstage",
        "dealname",
        "hubspot_owner_id",
    ] {
        assert_eq!(c(Deal, name, "  \t ", MDY), Ok(None), "{name}");
    }
    assert_eq!(c(Contact, "email", "", MDY), Ok(None));
    assert_eq!(c(Contact, "email", " Ann@X.io ", MDY), some("ann@x.io"));
    assert_eq!(c(Company, "domain", "https://www.x.io/", MDY), some("x.io"));
    assert_eq!(
        c(Company, "website", " https://www.x.io/ ", MDY),
        some("https://www.x.io/")
    );
    assert_eq!(
        c(Contact, "phone", "  +1 (555) 123-4567 ", MDY),
        some("+1 (555) 123-4567")
    );
    assert_eq!(c(Deal, "amount", "$1,234.50", MDY), some("1234.5"));
    assert_eq!(
        c(Contact, "date_of_birth", "28/10/1990", DMY),
        some("1990-10-28")
    );
    let closed = c(Deal, "closedate", "10/28/2023 2:30 PM", MDY);
    assert_eq!(closed, some("2023-10-28T14:30:00.000Z"));
    assert_eq!(c(Contact, "hs_marketable_status", "Yes", MDY), some("true"));
    assert_eq!(c(Deal, "dealstage", "Closed Won", MDY), some("closedwon"));
    let fax = def("fax", PropertyType::PhoneNumber, "phonenumber", &[]);
    assert_eq!(coerce_value(&fax, " 555 ", MDY), some("555"));

    let e = c(Contact, "email", "nope", MDY).unwrap_err();
    let row: RowError = e.clone().into();
    assert_eq!(
        (row.error_type, row.message),
        (ErrorType::InvalidEmail, e.message)
    );
    let e = c(Deal, "amount", "1,234", MDY).unwrap_err();
    assert_eq!(e.error_type, ErrorType::CouldNotParseNumber);
    let at_limit = "x".repeat(MAX_VALUE_CHARS);
    assert_eq!(
        c(Contact, "firstname", &at_limit, MDY),
        Ok(Some(at_limit.clone()))
    );
    let e = c(Contact, "firstname", &format!("{at_limit}é"), MDY).unwrap_err();
    assert_eq!(e.error_type, ErrorType::InvalidPropertyValueFormat);
    assert!(e.message.contains("65537 characters"), "{}", e.message);
}

#[test]
fn error_messages_stay_short_and_printable() {
    let long = format!("\u{0}{}", "9".repeat(5000));
    let e = parse_date(&long, DateFormat::MonthDayYear).unwrap_err();
    assert!(e.message.len() < 300 && e.message.contains("\\u{0}") && e.message.contains('…'));
}

/// Deterministic fuzz: odd strings must never panic, and accepted values must be stable.
#[test]
fn no_panics_on_generated_input() {
    let pieces: Vec<&str> =
        "0 1 9 12 2023 - / . , : + T Z AM pm ( ) $ € % @ ; e x ext Oct é − ' www. :// EUR a ß"
            .split(' ')
            .chain([" ", "\u{a0}", "\u{202f}", "\u{0}", "\t", "\u{1F600}"])
            .collect();
    let defs: Vec<PropertyDef> = vec![
        def("s", PropertyType::String, "text", &[]),
        def("email", PropertyType::String, "text", &[]),
        def("domain", PropertyType::String, "text", &[]),
        def("n", PropertyType::Number, "number", &[]),
        def("d", PropertyType::Date, "date", &[]),
        def("dt", PropertyType::DateTime, "date", &[]),
        def("b", PropertyType::Bool, "booleancheckbox", &[]),
        def("p", PropertyType::PhoneNumber, "phonenumber", &[]),
        def(
            "m",
            PropertyType::Enumeration,
            "checkbox",
            &[("a", "T"), ("t", "é")],
        ),
        prop(ObjectType::Deal, "dealstage").clone(),
    ];
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        usize::try_from(seed >> 33).unwrap_or(0)
    };
    let mut inputs = vec!["9".repeat(70_000), "é".repeat(70_000)];
    for _ in 0..400 {
        let len = next() % 12;
        inputs.push((0..len).map(|_| pieces[next() % pieces.len()]).collect());
    }
    let mut accepted = 0;
    for raw in &inputs {
        for f in DateFormat::ALL {
            if let Ok(d) = parse_date(raw, f) {
                assert_eq!(parse_date(&d.to_string(), f), Ok(d), "{raw:?}");
            }
            if let Ok(t) = parse_datetime(raw, f) {
                assert_eq!(parse_datetime(&format_datetime(&t), f), Ok(t), "{raw:?}");
            }
            for d in &defs {
                accepted += usize::from(matches!(coerce_value(d, raw, f), Ok(Some(_))));
            }
        }
        if let Ok(n) = parse_number(raw) {
            let digits = n.strip_prefix('-').unwrap_or(&n);
            assert!(
                digits.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "{raw:?} -> {n}"
            );
            let trailing_zero = digits.contains('.') && digits.ends_with('0');
            assert!(!digits.ends_with('.') && !trailing_zero, "{raw:?} -> {n}");
            assert!(n != "-0" && !digits.starts_with('.'), "{raw:?} -> {n}");
        }
        let _ = (parse_bool(raw), e164(raw));
        if let Ok(e) = normalize_email(raw) {
            assert_eq!(normalize_email(&e).as_ref(), Ok(&e));
        }
        if let Ok(d) = normalize_domain(raw) {
            assert_eq!(normalize_domain(&d).as_ref(), Ok(&d));
        }
    }
    // The generator must reach the accepting paths too, not only the error ones.
    assert!(accepted > 500, "only {accepted} accepted");
}

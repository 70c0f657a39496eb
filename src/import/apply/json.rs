//! A record's properties as stored: one JSON object of string values, keys in order. Written by
//! hand because every imported row is written out once (serde_json's writer was an eighth of the
//! parsing thread) and read back by every re-import.

use super::Properties;

/// The record's properties as stored.
pub fn to_json(p: &Properties) -> String {
    write_object(p.iter().map(|(k, v)| (k.as_str(), v.as_str())), p.len())
}

/// `to_json` of `p` with `extra`'s entries added (replacing any of the same name), without
/// inserting them into the map. `extra` is sorted by key.
pub fn to_json_with(p: &Properties, extra: &[(&str, &str)]) -> String {
    debug_assert!(extra.windows(2).all(|w| w[0].0 < w[1].0));
    let n = p.len() + extra.len();
    let mut own = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).peekable();
    let mut extra = extra.iter().copied().peekable();
    let merged = std::iter::from_fn(|| match (own.peek(), extra.peek()) {
        (Some(o), Some(e)) if o.0 < e.0 => own.next(),
        (Some(o), Some(e)) if o.0 == e.0 => {
            own.next();
            extra.next()
        }
        (_, Some(_)) => extra.next(),
        (Some(_), None) => own.next(),
        (None, None) => None,
    });
    write_object(merged, n)
}

fn write_object<'a>(entries: impl Iterator<Item = (&'a str, &'a str)>, n: usize) -> String {
    let mut out = String::with_capacity(16 + n * 28);
    out.push('{');
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(&mut out, k);
        out.push(':');
        push_str(&mut out, v);
    }
    out.push('}');
    out
}

/// Appends `s` as a JSON string, escaped the way serde_json escapes it.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut clean = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !NEEDS_ESCAPE[b as usize] {
            continue;
        }
        out.push_str(&s[clean..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
        }
        clean = i + 1;
    }
    out.push_str(&s[clean..]);
    out.push('"');
}

/// The bytes JSON strings escape: quote, backslash and control characters.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// A record's stored properties (`to_json`'s output). Collected in order and built in one go:
/// the document is written sorted, and inserting entries one by one (a tree descent of string
/// comparisons each, which is what deserialising into the map does) was a tenth of a
/// re-import's writing thread.
pub fn from_json(json: &str) -> Result<Properties, serde_json::Error> {
    match plain_entries(json) {
        Some(entries) => Ok(entries.into_iter().collect()),
        None => Ok(serde_entries(json)?.into_iter().collect()),
    }
}

/// The entries of a document as `to_json` writes one when no string needs escaping (nearly every
/// record): `{"k":"v",…}`, nothing else. A re-import reads every record it updates, and a general
/// JSON parser was a fifth of its writing thread; anything else (escapes, spaces, other values)
/// is None, left to serde_json.
fn plain_entries(json: &str) -> Option<Vec<(String, String)>> {
    let b = json.as_bytes();
    let mut out = Vec::with_capacity(16);
    let mut i = 1;
    match (b.first(), b.get(1)) {
        (Some(b'{'), Some(b'}')) => return (b.len() == 2).then_some(out),
        (Some(b'{'), _) => {}
        _ => return None,
    }
    loop {
        let key = plain_string(json, &mut i)?;
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        let value = plain_string(json, &mut i)?;
        out.push((key.to_string(), value.to_string()));
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') if i + 1 == b.len() => return Some(out),
            _ => return None,
        }
    }
}

/// The string starting at `*i` if it holds no escape or control character, moving `*i` past it.
fn plain_string<'a>(json: &'a str, i: &mut usize) -> Option<&'a str> {
    let b = json.as_bytes();
    if b.get(*i) != Some(&b'"') {
        return None;
    }
    let start = *i + 1;
    let len = b[start..].iter().position(|&c| NEEDS_ESCAPE[c as usize])?;
    let end = start + len;
    if b[end] != b'"' {
        return None;
    }
    *i = end + 1;
    Some(&json[start..end])
}

fn serde_entries(json: &str) -> Result<Vec<(String, String)>, serde_json::Error> {
    struct Entries;
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of string values")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
            while let Some(entry) = map.next_entry()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(json);
    let entries = serde::Deserializer::deserialize_map(&mut de, Entries)?;
    de.end()?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map(entries: &[(&str, &str)]) -> Properties {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn escapes_like_serde_json() {
        let p = map(&[
            ("a", "plain"),
            ("b", "quote \" backslash \\ slash /"),
            ("c", "tab\tnl\ncr\rbs\u{8}ff\u{c}nul\u{0}us\u{1f}del\u{7f}"),
            ("d", "ünïcödé — 東京 😀"),
            ("e", "exactly8"),
            ("f", "0123456\""),
            ("g", ""),
        ]);
        assert_eq!(to_json(&p), serde_json::to_string(&p).unwrap());
    }

    #[test]
    fn extra_entries_merge_in_order_and_win() {
        let p = map(&[
            ("email", "a@b.c"),
            ("hs_object_source", "API"),
            ("zip", "1"),
        ]);
        let json = to_json_with(
            &p,
            &[("hs_object_source", "IMPORT"), ("hs_object_source_id", "7")],
        );
        let mut want = p.clone();
        want.insert("hs_object_source".into(), "IMPORT".into());
        want.insert("hs_object_source_id".into(), "7".into());
        assert_eq!(json, serde_json::to_string(&want).unwrap());
        assert_eq!(
            to_json_with(&Properties::new(), &[("a", "1")]),
            r#"{"a":"1"}"#
        );
    }

    #[test]
    fn reads_plain_documents_as_serde_json_does() {
        for doc in [
            r#"{}"#,
            r#"{"a":"1"}"#,
            r#"{"a":"1","b":"x y","a":"2"}"#,
            r#"{"a":"\u00e9\"q"}"#,
            r#"{ "a": "1" }"#,
            r#"{"a":1}"#,
            r#"{"a":"1",}"#,
            r#"{"a":"1"}x"#,
            r#"{"a":"1""#,
            r#"{"a""1"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{""#,
            r#"{"#,
            r#""#,
            r#"[]"#,
        ] {
            assert_eq!(
                from_json(doc).ok(),
                serde_entries(doc).ok().map(|e| e.into_iter().collect()),
                "{doc}"
            );
        }
    }

    #[test]
    fn what_to_json_writes_without_escapes_skips_serde_json() {
        let clean = map(&[("city", "Zürich"), ("email", "a@b.c"), ("note", "")]);
        assert_eq!(
            plain_entries(&to_json(&clean)),
            Some(clean.clone().into_iter().collect())
        );
        assert_eq!(plain_entries("{}"), Some(vec![]));
        // An escape, or anything but the written form, is left to serde_json.
        for doc in [r#"{"a":"x\"y"}"#, r#"{ "a":"1"}"#, r#"{"a":1}"#] {
            assert_eq!(plain_entries(doc), None, "{doc}");
        }
        assert_eq!(from_json(r#"{"a":"x\"y"}"#).unwrap(), map(&[("a", "x\"y")]));
        assert_eq!(from_json(r#"{ "a":"1"}"#).unwrap(), map(&[("a", "1")]));
        assert!(from_json(r#"{"a":1}"#).is_err());
    }

    proptest! {
        #[test]
        fn any_text_reads_as_serde_json_reads_it(doc in r#"[{}":,a-c\\ \t"]{0,24}"#) {
            prop_assert_eq!(
                from_json(&doc).ok(),
                serde_entries(&doc).ok().map(|e| e.into_iter().collect())
            );
        }

        #[test]
        fn any_map_round_trips_as_serde_json_writes_it(
            p in prop::collection::btree_map(".{0,12}", "(.|[\"\\\\\u{0}-\u{1f}]){0,40}", 0..6)
        ) {
            let json = to_json(&p);
            prop_assert_eq!(&json, &serde_json::to_string(&p).unwrap());
            prop_assert_eq!(from_json(&json).unwrap(), p);
        }
    }
}

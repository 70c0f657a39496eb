//! A record's properties as stored: one JSON object of string values, keys in order. Written by
//! hand because every imported row is written out once (serde_json's writer was an eighth of the
//! parsing thread) and read back by every re-import.
//!
//! What follows from the record's columns or other properties is not stored (a narrower row is
//! what a database's bulk write pays for; these were two fifths of a stored contact's JSON):
//! - the alternate key's property (`email`, `domain`) when it equals the key column, put back by
//!   `from_stored`;
//! - the provenance of records an import created (`hs_object_source`, `hs_object_source_id`)
//!   and a contact's `hs_calculated_phone_number`, added by `add_derived` for display: the engine
//!   never needs them.

use super::{Name, Properties};
use crate::crm::ObjectType;
use crate::import::coerce::e164;
use crate::import::mapping::ADDITIONAL_EMAILS;

/// The record's properties as stored, given its key.
pub fn to_stored(ot: ObjectType, p: &Properties, key: Option<&str>) -> String {
    let in_key = ot
        .alternate_key()
        .filter(|k| p.get(k).map(String::as_str) == key);
    let entries = p
        .iter()
        .filter(|(k, _)| Some(k.as_str()) != in_key)
        .map(|(k, v)| (k.as_str(), v.as_str()));
    write_object(entries, p.len())
}

/// A record's properties from what `to_stored` wrote and its key: the key's property is put back.
pub fn from_stored(
    ot: ObjectType,
    json: &str,
    key: Option<&str>,
) -> Result<Properties, serde_json::Error> {
    from_stored_named(ot, json, key, &[])
}

/// `from_stored`, sharing each name that is one of `names` (sorted): an import reads its
/// records with the names its drafts have, so that reading one allocates none of them again (a
/// ninth of a re-import's writing thread) and merging compares them by address.
pub fn from_stored_named(
    ot: ObjectType,
    json: &str,
    key: Option<&str>,
    names: &[Name],
) -> Result<Properties, serde_json::Error> {
    let mut p = from_json(json, names)?;
    if let (Some(name), Some(key)) = (ot.alternate_key(), key) {
        let name = match names.binary_search_by(|n| n.as_str().cmp(name)) {
            Ok(i) => names[i].clone(),
            Err(_) => Name::from(name),
        };
        p.get_or_insert_with(name, || key.to_string());
    }
    Ok(p)
}

/// Adds the read-only properties that follow from the record: the import that created it, and a
/// contact's phone in E.164 form.
pub fn add_derived(ot: ObjectType, p: &mut Properties, created_by_import: Option<i64>) {
    if let Some(id) = created_by_import {
        p.insert("hs_object_source", "IMPORT".into());
        p.insert("hs_object_source_id", id.to_string());
    }
    if ot == ObjectType::Contact {
        if let Some(n) = p.get("phone").and_then(|v| e164(v)) {
            p.insert("hs_calculated_phone_number", n);
        }
    }
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
    // Nearly every value needs no escape: eight bytes are checked at a time, where a table lookup
    // per byte was a tenth of the parsing thread.
    let plain = first_needing_escape(bytes).unwrap_or(bytes.len());
    let mut clean = 0;
    for (i, &b) in bytes.iter().enumerate().skip(plain) {
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

/// Where the first byte JSON strings escape is (the closing quote of a plain string), eight
/// bytes at a time.
fn first_needing_escape(b: &[u8]) -> Option<usize> {
    let mut chunks = b.chunks_exact(8);
    for (n, c) in chunks.by_ref().enumerate() {
        let found = escapes(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        if found != 0 {
            // The lowest flag is exact (a borrow only ever flags bytes above it).
            return Some(n * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let done = b.len() - chunks.remainder().len();
    chunks
        .remainder()
        .iter()
        .position(|&c| NEEDS_ESCAPE[c as usize])
        .map(|p| done + p)
}

/// The high bit of each byte of `x` that is one JSON strings escape (`NEEDS_ESCAPE`): a quote, a
/// backslash or a control character, and perhaps of bytes above the lowest such one. Nonzero
/// exactly when one is: a byte of 0x80 or above is never taken for one.
fn escapes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    control | zero_byte(x ^ (ONES * u64::from(b'"'))) | zero_byte(x ^ (ONES * u64::from(b'\\')))
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

/// A JSON object of string values, as `write_object` writes one. Collected in order and built in
/// one go: the document is written sorted, and inserting entries one by one (a tree descent of
/// string comparisons each, which is what deserialising into the map does) was a tenth of a
/// re-import's writing thread.
fn from_json(json: &str, names: &[Name]) -> Result<Properties, serde_json::Error> {
    match plain_entries(json, names) {
        Some(entries) => Ok(entries.into_iter().collect()),
        None => Ok(serde_entries(json)?.into_iter().collect()),
    }
}

/// The entries of a document as `write_object` writes one when no string needs escaping (nearly
/// every record): `{"k":"v",…}`, nothing else. A re-import reads every record it updates, and a
/// general JSON parser was a fifth of its writing thread; anything else (escapes, spaces, other
/// values) is None, left to serde_json.
fn plain_entries(json: &str, names: &[Name]) -> Option<Vec<(Name, String)>> {
    let mut out = Vec::with_capacity(16);
    // The document's names are sorted, as `names` are: one walk over both finds each.
    let mut names = names.iter().peekable();
    for entry in Plain::new(json)? {
        let (key, value) = entry?;
        while names.next_if(|n| n.as_str() < key).is_some() {}
        let name = match names.peek() {
            Some(n) if n.as_str() == key => (*n).clone(),
            _ => Name::from(key),
        };
        out.push((name, value.to_string()));
    }
    Some(out)
}

/// Whether merging a draft's `properties` into the record stored as `json` with `key` would
/// change nothing, each of its values being the one stored; read without building the record's
/// properties, which a re-import of unchanged rows then never needs (parsing them and merging
/// were a fifth of its writing thread). False, to be merged the usual way, when the document is
/// not plain (`plain_entries`), stores the alternate key's property apart from the key, or holds
/// secondary emails (which planning reads).
pub fn changes_nothing(
    ot: ObjectType,
    json: &str,
    key: Option<&str>,
    properties: &Properties,
) -> bool {
    let alternate = ot.alternate_key();
    if let Some(v) = alternate.and_then(|k| properties.get(k)) {
        if Some(v.as_str()) != key {
            return false;
        }
    }
    let Some(entries) = Plain::new(json) else {
        return false;
    };
    let mut wanted = properties
        .iter()
        .filter(|(k, _)| Some(k.as_str()) != alternate)
        .peekable();
    for entry in entries {
        let Some((k, v)) = entry else {
            return false;
        };
        if k == ADDITIONAL_EMAILS || Some(k) == alternate {
            return false;
        }
        let Some((name, value)) = wanted.peek() else {
            continue;
        };
        match name.as_str().cmp(k) {
            // Both are sorted: a draft's name before the stored one is a property not stored.
            std::cmp::Ordering::Less => return false,
            std::cmp::Ordering::Equal if value.as_str() != v => return false,
            std::cmp::Ordering::Equal => {
                wanted.next();
            }
            std::cmp::Ordering::Greater => {}
        }
    }
    wanted.peek().is_none()
}

/// The entries of a plain document (`plain_entries`) in order; an entry is None where the
/// document turns out not to be plain, and the walk ends there.
struct Plain<'a> {
    json: &'a str,
    /// Where the next entry starts; None once the document ended or turned out not plain.
    at: Option<usize>,
}

impl<'a> Plain<'a> {
    /// None when `json` is not an object.
    fn new(json: &'a str) -> Option<Plain<'a>> {
        let b = json.as_bytes();
        let at = match (b.first(), b.get(1)) {
            (Some(b'{'), Some(b'}')) if b.len() == 2 => None,
            (Some(b'{'), Some(b'}')) => return None,
            (Some(b'{'), _) => Some(1),
            _ => return None,
        };
        Some(Plain { json, at })
    }

    fn entry(&self, i: &mut usize) -> Option<(&'a str, &'a str)> {
        let b = self.json.as_bytes();
        let key = plain_string(self.json, i)?;
        if b.get(*i) != Some(&b':') {
            return None;
        }
        *i += 1;
        let value = plain_string(self.json, i)?;
        Some((key, value))
    }
}

impl<'a> Iterator for Plain<'a> {
    type Item = Option<(&'a str, &'a str)>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut i = self.at.take()?;
        let Some(entry) = self.entry(&mut i) else {
            return Some(None);
        };
        let b = self.json.as_bytes();
        match b.get(i) {
            Some(b',') => self.at = Some(i + 1),
            Some(b'}') if i + 1 == b.len() => {}
            _ => return Some(None),
        }
        Some(Some(entry))
    }
}

/// The string starting at `*i` if it holds no escape or control character, moving `*i` past it.
fn plain_string<'a>(json: &'a str, i: &mut usize) -> Option<&'a str> {
    let b = json.as_bytes();
    if b.get(*i) != Some(&b'"') {
        return None;
    }
    let start = *i + 1;
    let end = start + first_needing_escape(&b[start..])?;
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

    fn to_json(p: &Properties) -> String {
        write_object(p.iter().map(|(k, v)| (k.as_str(), v.as_str())), p.len())
    }

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
    fn the_key_column_is_not_stored_twice_and_comes_back() {
        let p = map(&[("email", "a@b.c"), ("firstname", "Al"), ("zip", "1")]);
        let stored = to_stored(ObjectType::Contact, &p, Some("a@b.c"));
        assert_eq!(stored, r#"{"firstname":"Al","zip":"1"}"#);
        assert_eq!(
            from_stored(ObjectType::Contact, &stored, Some("a@b.c")).unwrap(),
            p
        );
        // A property that differs from the key, or an object without one, is stored as it is.
        let other = to_stored(ObjectType::Contact, &p, Some("x@b.c"));
        assert_eq!(other, to_json(&p));
        assert_eq!(
            from_stored(ObjectType::Contact, &other, Some("x@b.c")).unwrap(),
            p
        );
        let deal = map(&[("dealname", "D"), ("email", "a@b.c")]);
        assert_eq!(to_stored(ObjectType::Deal, &deal, None), to_json(&deal));
        let domain = map(&[("domain", "b.c"), ("name", "B")]);
        let stored = to_stored(ObjectType::Company, &domain, Some("b.c"));
        assert_eq!(stored, r#"{"name":"B"}"#);
        assert_eq!(
            from_stored(ObjectType::Company, &stored, Some("b.c")).unwrap(),
            domain
        );
    }

    #[test]
    fn derived_properties_are_added_for_display() {
        let mut p = map(&[("phone", "(555) 123-4567")]);
        add_derived(ObjectType::Contact, &mut p, Some(42));
        assert_eq!(p["hs_object_source"], "IMPORT");
        assert_eq!(p["hs_object_source_id"], "42");
        assert_eq!(p["hs_calculated_phone_number"], "+15551234567");
        let mut company = p.clone();
        company.remove("hs_calculated_phone_number");
        add_derived(ObjectType::Company, &mut company, None);
        assert!(!company.contains_key("hs_calculated_phone_number"));
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
                from_json(doc, &[]).ok(),
                serde_entries(doc).ok().map(|e| e.into_iter().collect()),
                "{doc}"
            );
        }
    }

    #[test]
    fn what_to_json_writes_without_escapes_skips_serde_json() {
        let clean = map(&[("city", "Zürich"), ("email", "a@b.c"), ("note", "")]);
        assert_eq!(
            plain_entries(&to_json(&clean), &[]),
            Some(clean.clone().into_iter().collect())
        );
        assert_eq!(plain_entries("{}", &[]), Some(vec![]));
        // An escape, or anything but the written form, is left to serde_json.
        for doc in [r#"{"a":"x\"y"}"#, r#"{ "a":"1"}"#, r#"{"a":1}"#] {
            assert_eq!(plain_entries(doc, &[]), None, "{doc}");
        }
        assert_eq!(
            from_json(r#"{"a":"x\"y"}"#, &[]).unwrap(),
            map(&[("a", "x\"y")])
        );
        assert_eq!(from_json(r#"{ "a":"1"}"#, &[]).unwrap(), map(&[("a", "1")]));
        assert!(from_json(r#"{"a":1}"#, &[]).is_err());
    }

    #[test]
    fn names_a_record_shares_with_the_drafts_are_not_allocated_again() {
        let names: Vec<Name> = ["city", "email", "firstname"].map(Name::from).to_vec();
        let stored = r#"{"city":"Oslo","firstname":"Al","zip":"1"}"#;
        let p = from_stored_named(ObjectType::Contact, stored, Some("a@b.c"), &names).unwrap();
        assert_eq!(
            p,
            from_stored(ObjectType::Contact, stored, Some("a@b.c")).unwrap()
        );
        let same = |a: &Name, b: &Name| std::ptr::eq(a.as_str().as_ptr(), b.as_str().as_ptr());
        let read: Vec<&Name> = p.keys().collect();
        assert!(same(read[0], &names[0]) && same(read[1], &names[1]) && same(read[2], &names[2]));
        assert_eq!(read[3], "zip");
    }

    proptest! {
        #[test]
        fn the_first_byte_to_escape_is_found_wherever_it_is(s in "[a-z\"\\\\\u{0}-\u{1f}é]{0,40}") {
            let b = s.as_bytes();
            prop_assert_eq!(
                first_needing_escape(b),
                b.iter().position(|&c| NEEDS_ESCAPE[c as usize])
            );
        }

        #[test]
        fn eight_bytes_need_an_escape_exactly_when_one_of_them_does(x in any::<u64>(), at in 0usize..8, b in any::<u8>()) {
            let mut bytes = x.to_le_bytes();
            bytes[at] = b;
            let one_does = bytes.iter().any(|&b| NEEDS_ESCAPE[b as usize]);
            prop_assert_eq!(escapes(u64::from_le_bytes(bytes)) != 0, one_does);
        }

        #[test]
        fn any_text_reads_as_serde_json_reads_it(doc in r#"[{}":,a-c\\ \t"]{0,24}"#) {
            prop_assert_eq!(
                from_json(&doc, &[]).ok(),
                serde_entries(&doc).ok().map(|e| e.into_iter().collect())
            );
        }

        #[test]
        fn any_map_round_trips_as_serde_json_writes_it(
            p in prop::collection::btree_map(".{0,12}", "(.|[\"\\\\\u{0}-\u{1f}]){0,40}", 0..6)
        ) {
            let json = to_json(&p.clone().into_iter().collect());
            prop_assert_eq!(&json, &serde_json::to_string(&p).unwrap());
            prop_assert_eq!(from_json(&json, &[]).unwrap(), p.into_iter().collect());
        }
    }
}

//! A record's property values: `Properties`, a name → value map kept sorted by name in one
//! vector, under names shared with the file's mapping (`Name`). Every row of a file names the
//! same few properties: as a `BTreeMap` of owned strings, each row was a tree node and a name
//! allocated, compared, moved and freed per value, a third of an import's parsing thread.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// A property's internal name. Cloning one shares it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(Arc<str>);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether both are the same name; a shared one is recognised without reading it.
    fn same(&self, other: &str) -> bool {
        std::ptr::eq(self.0.as_ptr(), other.as_ptr()) && self.0.len() == other.len()
            || *self.0 == *other
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(Arc::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(Arc::from(s))
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Name {
        Name(Arc::from(s.as_str()))
    }
}

impl From<&Name> for Name {
    fn from(n: &Name) -> Name {
        n.clone()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.same(other)
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.same(other)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Property values by name, sorted by name; at most one value per name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties(Vec<(Name, String)>);

impl Properties {
    pub fn new() -> Properties {
        Properties(Vec::new())
    }

    pub fn with_capacity(n: usize) -> Properties {
        Properties(Vec::with_capacity(n))
    }

    /// Where `name` is, or would go.
    fn find(&self, name: &str) -> Result<usize, usize> {
        // Values are usually added in name order: the last place first.
        match self.0.last() {
            None => Err(0),
            Some((last, _)) if last.as_str() < name => Err(self.0.len()),
            _ => self.0.binary_search_by(|(n, _)| n.as_str().cmp(name)),
        }
    }

    pub fn get(&self, name: &str) -> Option<&String> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name` to `value`, returning the value it replaces.
    pub fn insert(&mut self, name: impl Into<Name> + AsRef<str>, value: String) -> Option<String> {
        match self.find(name.as_ref()) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (name.into(), value));
                None
            }
        }
    }

    /// The value of `name`, set to `value()` first if it has none.
    pub fn get_or_insert_with(
        &mut self,
        name: impl Into<Name> + AsRef<str>,
        value: impl FnOnce() -> String,
    ) -> &mut String {
        let i = match self.find(name.as_ref()) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (name.into(), value()));
                i
            }
        };
        &mut self.0[i].1
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// In name order.
    pub fn iter(&self) -> impl Iterator<Item = (&Name, &String)> {
        self.into_iter()
    }

    /// In name order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Name, &mut String)> {
        self.0.iter_mut().map(|(n, v)| (&*n, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Name> {
        self.0.iter().map(|(n, _)| n)
    }
}

/// Later entries win, as inserting them one by one would.
impl<N: Into<Name>> FromIterator<(N, String)> for Properties {
    fn from_iter<I: IntoIterator<Item = (N, String)>>(entries: I) -> Properties {
        let mut v: Vec<(Name, String)> = entries.into_iter().map(|(n, s)| (n.into(), s)).collect();
        if !v.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable: among equal names the last stays last, and is the one kept.
            v.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(Name, String)> = Vec::with_capacity(v.len());
            for e in v {
                match out.last_mut() {
                    Some(last) if last.0 == e.0 => *last = e,
                    _ => out.push(e),
                }
            }
            v = out;
        }
        Properties(v)
    }
}

impl IntoIterator for Properties {
    type Item = (Name, String);
    type IntoIter = std::vec::IntoIter<(Name, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

type Entry<'a> = (&'a Name, &'a String);

impl<'a> IntoIterator for &'a Properties {
    type Item = Entry<'a>;
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (Name, String)>, fn(&(Name, String)) -> Entry>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

impl std::ops::Index<&str> for Properties {
    type Output = String;
    fn index(&self, name: &str) -> &String {
        self.get(name)
            .unwrap_or_else(|| panic!("no property {name:?}"))
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (n, v) in self.iter() {
            map.serialize_entry(n.as_str(), v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_shared_name_is_the_same_name_as_its_text() {
        let n = Name::from("firstname");
        assert_eq!(n, *"firstname");
        assert_eq!(n, "firstname");
        assert_ne!(n, "lastname");
        assert_eq!(n.clone(), n);
        assert_eq!(n.to_string(), "firstname");
    }

    #[test]
    fn reads_and_writes_like_a_map() {
        let mut p = Properties::new();
        assert_eq!(p.insert("b", "2".into()), None);
        assert_eq!(p.insert("a", "1".into()), None);
        assert_eq!(p.insert("c", "3".into()), None);
        assert_eq!(p.insert("b", "two".into()), Some("2".into()));
        assert_eq!(p["b"], "two");
        assert_eq!(p.get("z"), None);
        assert!(p.contains_key("a") && !p.contains_key("ab"));
        assert_eq!(p.get_or_insert_with("a", || "x".into()), "1");
        assert_eq!(p.get_or_insert_with("d", || "4".into()), "4");
        assert_eq!(p.remove("c"), Some("3".into()));
        assert_eq!(p.remove("c"), None);
        let names: Vec<&str> = p.keys().map(Name::as_str).collect();
        assert_eq!(names, ["a", "b", "d"]);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"a":"1","b":"two","d":"4"}"#
        );
        assert_eq!(format!("{p:?}"), r#"{"a": "1", "b": "two", "d": "4"}"#);
    }

    proptest! {
        #[test]
        fn behaves_as_a_btreemap(ops in prop::collection::vec((0u8..3, "[a-e]{1,2}", "[0-9]{0,2}"), 0..40)) {
            let (mut p, mut m) = (Properties::new(), BTreeMap::new());
            for (op, k, v) in &ops {
                match op {
                    0 => prop_assert_eq!(p.insert(k.as_str(), v.clone()), m.insert(k.clone(), v.clone())),
                    1 => prop_assert_eq!(p.remove(k), m.remove(k)),
                    _ => prop_assert_eq!(p.get(k), m.get(k)),
                }
            }
            let entries: Vec<(String, String)> = p.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            prop_assert_eq!(&entries, &m.clone().into_iter().collect::<Vec<_>>());
            // Collecting keeps the last value of each name, as inserting in turn does.
            let collected: Properties = ops.iter().map(|(_, k, v)| (k.as_str(), v.clone())).collect();
            let inserted: BTreeMap<String, String> = ops.iter().map(|(_, k, v)| (k.clone(), v.clone())).collect();
            let got: Vec<(String, String)> = collected.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            prop_assert_eq!(got, inserted.into_iter().collect::<Vec<_>>());
        }
    }
}

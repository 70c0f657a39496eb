//! Shared CRM vocabulary: object types and the ids that travel between layers.

pub mod associations;
pub mod properties;

use serde::{Deserialize, Serialize};
use std::fmt;

/// The CRM objects hubport stores. HubSpot names them by objectTypeId ("0-1"), by plural API name
/// ("contacts") in URLs, by singular name ("contact") in imports, and by legacy upper-case name
/// ("CONTACT") in old import requests and row errors; all of them resolve here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectType {
    Contact,
    Company,
    Deal,
}

impl ObjectType {
    pub const ALL: [ObjectType; 3] = [ObjectType::Contact, ObjectType::Company, ObjectType::Deal];

    /// HubSpot's objectTypeId ("0-1", "0-2", "0-3").
    pub fn type_id(self) -> &'static str {
        match self {
            ObjectType::Contact => "0-1",
            ObjectType::Company => "0-2",
            ObjectType::Deal => "0-3",
        }
    }

    /// Plural API name used in `/crm/v3/objects/{name}` and in association maps.
    pub fn plural(self) -> &'static str {
        match self {
            ObjectType::Contact => "contacts",
            ObjectType::Company => "companies",
            ObjectType::Deal => "deals",
        }
    }

    /// Singular lower-case name ("contact"), used in association type names.
    pub fn singular(self) -> &'static str {
        match self {
            ObjectType::Contact => "contact",
            ObjectType::Company => "company",
            ObjectType::Deal => "deal",
        }
    }

    /// Legacy upper-case name used by `columnObjectType` and `PublicImportError.objectType`.
    pub fn legacy_name(self) -> &'static str {
        match self {
            ObjectType::Contact => "CONTACT",
            ObjectType::Company => "COMPANY",
            ObjectType::Deal => "DEAL",
        }
    }

    /// The unique property (besides `hs_object_id`) that identifies a record, if the object has one.
    pub fn alternate_key(self) -> Option<&'static str> {
        match self {
            ObjectType::Contact => Some("email"),
            ObjectType::Company => Some("domain"),
            ObjectType::Deal => None,
        }
    }

    /// Database table holding records of this type.
    pub fn table(self) -> &'static str {
        self.plural()
    }

    /// Resolves any of HubSpot's spellings, case-insensitively.
    pub fn parse(s: &str) -> Option<ObjectType> {
        let s = s.trim();
        ObjectType::ALL.into_iter().find(|t| {
            s == t.type_id()
                || s.eq_ignore_ascii_case(t.plural())
                || s.eq_ignore_ascii_case(t.singular())
        })
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_resolves() {
        for s in ["0-1", "contacts", "contact", "CONTACT", " Contact "] {
            assert_eq!(ObjectType::parse(s), Some(ObjectType::Contact), "{s}");
        }
        assert_eq!(ObjectType::parse("COMPANY"), Some(ObjectType::Company));
        assert_eq!(ObjectType::parse("0-3"), Some(ObjectType::Deal));
        assert_eq!(ObjectType::parse("0-5"), None);
        assert_eq!(ObjectType::parse("tickets"), None);
    }
}

/// A HubSpot account ("portal"). Every stored row belongs to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortalId(pub i64);

/// An import's id; a string on the wire, digits in paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportId(pub i64);

impl ObjectType {
    /// Properties a read returns when the client names none (what HubSpot returns).
    pub fn default_read_properties(self) -> &'static [&'static str] {
        match self {
            ObjectType::Contact => &[
                "createdate",
                "email",
                "firstname",
                "hs_object_id",
                "lastmodifieddate",
                "lastname",
            ],
            ObjectType::Company => &[
                "createdate",
                "domain",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name",
            ],
            ObjectType::Deal => &[
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ],
        }
    }

    /// The read-only property holding the last modification time.
    pub fn modified_property(self) -> &'static str {
        match self {
            ObjectType::Contact => "lastmodifieddate",
            _ => "hs_lastmodifieddate",
        }
    }
}

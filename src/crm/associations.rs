//! HubSpot-defined association types between contacts, companies and deals: each id, its
//! direction, its name in the objects API and its inverse.

use super::ObjectType::{self, Company, Contact, Deal};

/// (type id, from, to, name, inverse type id). 1–6 are HubSpot's default (primary) types;
/// 279/280 and 341/342 the unlabeled ones its import guide uses.
const TYPES: [(i32, ObjectType, ObjectType, &str, i32); 10] = [
    (1, Contact, Company, "contact_to_company", 2),
    (2, Company, Contact, "company_to_contact", 1),
    (3, Deal, Contact, "deal_to_contact", 4),
    (4, Contact, Deal, "contact_to_deal", 3),
    (5, Deal, Company, "deal_to_company", 6),
    (6, Company, Deal, "company_to_deal", 5),
    (279, Contact, Company, "contact_to_company_unlabeled", 280),
    (280, Company, Contact, "company_to_contact_unlabeled", 279),
    (341, Deal, Company, "deal_to_company_unlabeled", 342),
    (342, Company, Deal, "company_to_deal_unlabeled", 341),
];

/// The type a link from `from` to `to` gets when the request names none.
pub fn default_type(from: ObjectType, to: ObjectType) -> Option<i32> {
    TYPES.iter().find(|t| t.1 == from && t.2 == to).map(|t| t.0)
}

/// The object type a type id points at, seen from `from` (None if the id does not start there).
pub fn target(from: ObjectType, type_id: i32) -> Option<ObjectType> {
    TYPES
        .iter()
        .find(|t| t.0 == type_id && t.1 == from)
        .map(|t| t.2)
}

pub fn inverse(type_id: i32) -> Option<i32> {
    TYPES.iter().find(|t| t.0 == type_id).map(|t| t.4)
}

pub fn name(type_id: i32) -> Option<&'static str> {
    TYPES.iter().find(|t| t.0 == type_id).map(|t| t.3)
}

/// `type_id` if it really goes from `from` to `to`, else the default for that pair.
pub fn resolve(from: ObjectType, to: ObjectType, type_id: Option<i32>) -> Option<i32> {
    type_id
        .filter(|&id| target(from, id) == Some(to))
        .or_else(|| default_type(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_consistent_inverse() {
        for (id, from, to, _, inv) in TYPES {
            assert_eq!(inverse(inv), Some(id));
            assert_eq!(target(to, inv), Some(from));
        }
        assert_eq!(resolve(Company, Contact, Some(280)), Some(280));
        assert_eq!(
            resolve(Company, Contact, Some(1)),
            Some(2),
            "a type of the wrong direction falls back"
        );
        assert_eq!(target(Contact, 1), Some(Company));
        assert_eq!(default_type(Contact, Contact), None);
    }
}

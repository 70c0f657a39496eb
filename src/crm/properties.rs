//! HubSpot's default property catalogue for contacts, companies and deals.

use crate::crm::ObjectType;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// A property's `type` as the Properties API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PropertyType {
    String,
    Number,
    Date,
    #[serde(rename = "datetime")]
    DateTime,
    Enumeration,
    Bool,
    #[serde(rename = "phone_number")]
    PhoneNumber,
}

impl PropertyType {
    pub const ALL: [PropertyType; 7] = [
        PropertyType::String,
        PropertyType::Number,
        PropertyType::Date,
        PropertyType::DateTime,
        PropertyType::Enumeration,
        PropertyType::Bool,
        PropertyType::PhoneNumber,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PropertyType::String => "string",
            PropertyType::Number => "number",
            PropertyType::Date => "date",
            PropertyType::DateTime => "datetime",
            PropertyType::Enumeration => "enumeration",
            PropertyType::Bool => "bool",
            PropertyType::PhoneNumber => "phone_number",
        }
    }

    /// Exact wire name only: `type` is a closed enum in the spec, so near-misses are client bugs.
    pub fn parse(s: &str) -> Option<PropertyType> {
        PropertyType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One choice of an enumeration (HubSpot's `Option`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyOption {
    pub label: String,
    pub value: String,
    pub display_order: i32,
    pub hidden: bool,
}

/// A property definition; the subset of HubSpot's `Property` that hubport needs to import and serve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyDef {
    pub name: String,
    pub label: String,
    pub property_type: PropertyType,
    pub field_type: String,
    pub group_name: String,
    pub description: String,
    pub options: Vec<PropertyOption>,
    pub has_unique_value: bool,
    pub read_only_value: bool,
    pub hubspot_defined: bool,
    pub display_order: i32,
}

/// The default properties of an object type, in display order.
pub fn default_properties(object_type: ObjectType) -> &'static [PropertyDef] {
    match object_type {
        ObjectType::Contact => &CONTACTS,
        ObjectType::Company => &COMPANIES,
        ObjectType::Deal => &DEALS,
    }
}

/// One default property by internal name.
pub fn default_property(object_type: ObjectType, name: &str) -> Option<&'static PropertyDef> {
    default_properties(object_type)
        .iter()
        .find(|p| p.name == name)
}

// ---- catalogue data -------------------------------------------------------------------------

const RO: u8 = 1;
const UNIQUE: u8 = 2;

type Opts = &'static [(&'static str, &'static str)];

/// name, label, type, fieldType, description, flags (RO | UNIQUE), options as (value, label).
type Row = (
    &'static str,
    &'static str,
    PropertyType,
    &'static str,
    &'static str,
    u8,
    Opts,
);

fn build(group: &str, rows: &[Row]) -> Vec<PropertyDef> {
    rows.iter()
        .zip(0..)
        .map(
            |(&(name, label, ty, field, desc, flags, opts), order)| PropertyDef {
                name: name.into(),
                label: label.into(),
                property_type: ty,
                field_type: field.into(),
                group_name: group.into(),
                description: desc.into(),
                options: opts
                    .iter()
                    .zip(0..)
                    .map(|(&(value, label), display_order)| PropertyOption {
                        label: label.into(),
                        value: value.into(),
                        display_order,
                        hidden: false,
                    })
                    .collect(),
                has_unique_value: flags & UNIQUE != 0,
                read_only_value: flags & RO != 0,
                hubspot_defined: true,
                display_order: order,
            },
        )
        .collect()
}

use PropertyType::{Bool, Date, DateTime, Enumeration, Number, String as Str};

const NONE: Opts = &[];

const LIFECYCLE: Opts = &[
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
];

const LEAD_STATUS: Opts = &[
    ("NEW", "New"),
    ("OPEN", "Open"),
    ("IN_PROGRESS", "In Progress"),
    ("OPEN_DEAL", "Open Deal"),
    ("UNQUALIFIED", "Unqualified"),
    ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
    ("CONNECTED", "Connected"),
    ("BAD_TIMING", "Bad Timing"),
];

const MARKETABLE: Opts = &[
    ("true", "Marketing contact"),
    ("false", "Non-marketing contact"),
];

const INDUSTRY: Opts = &[
    ("ACCOUNTING", "Accounting"),
    ("AIRLINES_AVIATION", "Airlines/Aviation"),
    ("BANKING", "Banking"),
    ("BIOTECHNOLOGY", "Biotechnology"),
    ("COMPUTER_HARDWARE", "Computer Hardware"),
    ("COMPUTER_SOFTWARE", "Computer Software"),
    ("CONSTRUCTION", "Construction"),
    ("CONSUMER_GOODS", "Consumer Goods"),
    ("EDUCATION_MANAGEMENT", "Education Management"),
    ("FINANCIAL_SERVICES", "Financial Services"),
    ("HOSPITAL_HEALTH_CARE", "Hospital & Health Care"),
    (
        "INFORMATION_TECHNOLOGY_AND_SERVICES",
        "Information Technology and Services",
    ),
    ("INSURANCE", "Insurance"),
    ("INTERNET", "Internet"),
    ("MARKETING_AND_ADVERTISING", "Marketing and Advertising"),
    ("REAL_ESTATE", "Real Estate"),
    ("RETAIL", "Retail"),
    ("TELECOMMUNICATIONS", "Telecommunications"),
];

const COMPANY_TYPE: Opts = &[
    ("PROSPECT", "Prospect"),
    ("PARTNER", "Partner"),
    ("RESELLER", "Reseller"),
    ("VENDOR", "Vendor"),
    ("OTHER", "Other"),
];

const PIPELINE: Opts = &[("default", "Sales Pipeline")];

const DEAL_STAGE: Opts = &[
    ("appointmentscheduled", "Appointment Scheduled"),
    ("qualifiedtobuy", "Qualified To Buy"),
    ("presentationscheduled", "Presentation Scheduled"),
    ("decisionmakerboughtin", "Decision Maker Bought-In"),
    ("contractsent", "Contract Sent"),
    ("closedwon", "Closed Won"),
    ("closedlost", "Closed Lost"),
];

const DEAL_TYPE: Opts = &[
    ("newbusiness", "New Business"),
    ("existingbusiness", "Existing Business"),
];

const PRIORITY: Opts = &[("low", "Low"), ("medium", "Medium"), ("high", "High")];

// Read-only bookkeeping shared by every object; `modified` differs by object (HubSpot history).
#[rustfmt::skip]
fn system_rows(modified: &'static str) -> [Row; 5] {
    [
        ("createdate", "Create Date", DateTime, "date", "The date the record was created", RO, NONE),
        (modified, "Last Modified Date", DateTime, "date", "Most recent timestamp of any property update", RO, NONE),
        ("hs_object_id", "Record ID", Number, "number", "The unique ID for this record", RO | UNIQUE, NONE),
        ("hs_object_source", "Record source", Str, "text", "How this record was created", RO, NONE),
        ("hs_object_source_id", "Record source ID", Str, "text", "Identifier of the source that created this record", RO, NONE),
    ]
}

#[rustfmt::skip]
static CONTACTS: LazyLock<Vec<PropertyDef>> = LazyLock::new(|| {
    let mut rows: Vec<Row> = vec![
        ("email", "Email", Str, "text", "A contact's email address", 0, NONE),
        ("firstname", "First Name", Str, "text", "A contact's first name", 0, NONE),
        ("lastname", "Last Name", Str, "text", "A contact's last name", 0, NONE),
        ("phone", "Phone Number", Str, "phonenumber", "A contact's primary phone number", 0, NONE),
        ("mobilephone", "Mobile Phone Number", Str, "phonenumber", "A contact's mobile phone number", 0, NONE),
        ("company", "Company Name", Str, "text", "Name of the contact's company, as text", 0, NONE),
        ("website", "Website URL", Str, "text", "The contact's company website", 0, NONE),
        ("jobtitle", "Job Title", Str, "text", "A contact's job title", 0, NONE),
        ("address", "Street Address", Str, "text", "A contact's street address", 0, NONE),
        ("city", "City", Str, "text", "A contact's city of residence", 0, NONE),
        ("state", "State/Region", Str, "text", "The contact's state of residence", 0, NONE),
        ("zip", "Postal Code", Str, "text", "The contact's zip code", 0, NONE),
        ("country", "Country/Region", Str, "text", "The contact's country/region of residence", 0, NONE),
        ("lifecyclestage", "Lifecycle Stage", Enumeration, "radio", "The qualification of contacts to sales readiness", 0, LIFECYCLE),
        ("hs_lead_status", "Lead Status", Enumeration, "radio", "The contact's sales, prospecting or outreach status", 0, LEAD_STATUS),
        ("hubspot_owner_id", "Contact owner", Enumeration, "select", "The owner of a contact", 0, NONE),
        ("date_of_birth", "Date of birth", Date, "date", "The contact's date of birth", 0, NONE),
        ("hs_marketable_status", "Marketing contact status", Bool, "booleancheckbox", "Whether the contact is a marketing contact", 0, MARKETABLE),
        ("hs_additional_emails", "Additional email addresses", Str, "text", "A set of additional email addresses for a contact", 0, NONE),
        ("hs_calculated_phone_number", "Calculated Phone Number", Str, "text", "E.164 form of the contact's phone number", RO, NONE),
    ];
    rows.extend(system_rows("lastmodifieddate"));
    build("contactinformation", &rows)
});

#[rustfmt::skip]
static COMPANIES: LazyLock<Vec<PropertyDef>> = LazyLock::new(|| {
    let mut rows: Vec<Row> = vec![
        ("name", "Company name", Str, "text", "The name of the company or organization", 0, NONE),
        ("domain", "Company Domain Name", Str, "text", "The domain name of the company or organization", 0, NONE),
        ("website", "Website URL", Str, "text", "The main website of the company or organization", 0, NONE),
        ("phone", "Phone Number", Str, "phonenumber", "A company's primary phone number", 0, NONE),
        ("industry", "Industry", Enumeration, "select", "The type of business the company performs", 0, INDUSTRY),
        ("type", "Type", Enumeration, "select", "The type of business relationship with the company", 0, COMPANY_TYPE),
        ("city", "City", Str, "text", "City where the company is located", 0, NONE),
        ("state", "State/Region", Str, "text", "State or region where the company is located", 0, NONE),
        ("zip", "Postal Code", Str, "text", "Postal or zip code of the company", 0, NONE),
        ("country", "Country/Region", Str, "text", "Country or region where the company is located", 0, NONE),
        ("description", "Description", Str, "textarea", "A short statement about the company's mission and goals", 0, NONE),
        ("numberofemployees", "Number of Employees", Number, "number", "The total number of employees who work for the company", 0, NONE),
        ("annualrevenue", "Annual Revenue", Number, "number", "The actual or estimated annual revenue of the company", 0, NONE),
        ("lifecyclestage", "Lifecycle Stage", Enumeration, "radio", "The qualification of companies to sales readiness", 0, LIFECYCLE),
        ("hubspot_owner_id", "Company owner", Enumeration, "select", "The owner of the company", 0, NONE),
        ("founded_year", "Year Founded", Str, "text", "Year the company was created", 0, NONE),
    ];
    rows.extend(system_rows("hs_lastmodifieddate"));
    build("companyinformation", &rows)
});

#[rustfmt::skip]
static DEALS: LazyLock<Vec<PropertyDef>> = LazyLock::new(|| {
    let mut rows: Vec<Row> = vec![
        ("dealname", "Deal Name", Str, "text", "The name given to this deal", 0, NONE),
        ("amount", "Amount", Number, "number", "The total amount of the deal", 0, NONE),
        ("pipeline", "Pipeline", Enumeration, "select", "The pipeline the deal is in", 0, PIPELINE),
        ("dealstage", "Deal Stage", Enumeration, "radio", "The stage of the deal in its pipeline", 0, DEAL_STAGE),
        ("closedate", "Close Date", DateTime, "date", "Date the deal was closed, or is expected to close", 0, NONE),
        ("dealtype", "Deal Type", Enumeration, "radio", "The type of deal", 0, DEAL_TYPE),
        ("hubspot_owner_id", "Deal owner", Enumeration, "select", "The owner of the deal", 0, NONE),
        ("description", "Deal Description", Str, "textarea", "Description of the deal", 0, NONE),
        ("hs_priority", "Priority", Enumeration, "radio", "The priority of the deal", 0, PRIORITY),
    ];
    rows.extend(system_rows("hs_lastmodifieddate"));
    build("dealinformation", &rows)
});

/// Position of a default lifecycle stage; imports never move a record to an earlier one.
/// `other` and custom stages have no position and are always accepted.
pub fn lifecycle_rank(stage: &str) -> Option<usize> {
    [
        "subscriber",
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
        "evangelist",
    ]
    .iter()
    .position(|s| *s == stage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use ObjectType::{Company, Contact, Deal};

    fn get(ot: ObjectType, name: &str) -> &'static PropertyDef {
        default_property(ot, name).unwrap_or_else(|| panic!("{ot:?} lacks {name}"))
    }

    #[test]
    fn key_properties_exist_with_expected_types() {
        let expect = [
            (Contact, "email", Str),
            (Contact, "lastmodifieddate", DateTime),
            (Contact, "date_of_birth", Date),
            (Contact, "hs_marketable_status", Bool),
            (Company, "domain", Str),
            (Company, "annualrevenue", Number),
            (Company, "hs_lastmodifieddate", DateTime),
            (Deal, "dealname", Str),
            (Deal, "closedate", DateTime),
            (Deal, "dealstage", Enumeration),
        ];
        for (ot, name, ty) in expect {
            assert_eq!(get(ot, name).property_type, ty, "{name}");
        }
        for ot in ObjectType::ALL {
            let id = get(ot, "hs_object_id");
            assert!(id.has_unique_value && id.read_only_value && id.hubspot_defined);
            assert!(get(ot, "createdate").read_only_value);
            if let Some(key) = ot.alternate_key() {
                assert!(!get(ot, key).read_only_value);
            }
        }
        assert!(default_property(Deal, "email").is_none());
        assert!(!get(Contact, "hs_additional_emails").read_only_value);
        assert_eq!(get(Contact, "phone").field_type, "phonenumber");
    }

    #[test]
    fn names_unique_and_groups_consistent() {
        let groups = [
            "contactinformation",
            "companyinformation",
            "dealinformation",
        ];
        for (ot, group) in ObjectType::ALL.into_iter().zip(groups) {
            let props = default_properties(ot);
            let names: HashSet<_> = props.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names.len(), props.len(), "{ot:?} has duplicate names");
            assert!(props.iter().all(|p| p.group_name == group));
        }
    }

    #[test]
    fn enumeration_options_are_present_and_unambiguous() {
        let stage = get(Deal, "dealstage");
        assert_eq!(stage.options.len(), 7);
        assert_eq!(stage.options[3].label, "Decision Maker Bought-In");
        let pipe = &get(Deal, "pipeline").options[0];
        assert_eq!(
            (pipe.value.as_str(), pipe.label.as_str()),
            ("default", "Sales Pipeline")
        );
        assert!(get(Company, "industry").options.len() >= 15);
        for p in ObjectType::ALL.into_iter().flat_map(default_properties) {
            if p.property_type == Enumeration && p.name != "hubspot_owner_id" {
                assert!(!p.options.is_empty(), "{}", p.name);
            }
            // No option's value or label may equal another option's, or imports would report
            // AMBIGUOUS_ENUMERATION_OPTION for ordinary input.
            for (i, a) in p.options.iter().enumerate() {
                for b in &p.options[i + 1..] {
                    for (x, y) in [
                        (&a.value, &b.value),
                        (&a.value, &b.label),
                        (&a.label, &b.value),
                        (&a.label, &b.label),
                    ] {
                        assert!(!x.eq_ignore_ascii_case(y), "{}: {x} vs {y}", p.name);
                    }
                }
            }
        }
    }

    #[test]
    fn property_type_wire_names_round_trip() {
        for t in PropertyType::ALL {
            assert_eq!(PropertyType::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        assert_eq!(PropertyType::parse("datetimes"), None);
        let opt = &get(Deal, "hs_priority").options[0];
        let json = serde_json::to_value(opt).unwrap();
        assert_eq!(json["displayOrder"], 0);
        assert_eq!(
            serde_json::from_value::<PropertyOption>(json).ok().as_ref(),
            Some(opt)
        );
    }
}

//! Query strings the way HubSpot's clients send them: repeated keys or comma lists for arrays,
//! `true`/`True` for booleans, numeric cursors.

use crate::error::{ApiError, ErrorDetail};

pub struct Params(Vec<(String, String)>);

fn invalid(param: &str, message: String) -> ApiError {
    ApiError::Validation {
        message: message.clone(),
        errors: vec![ErrorDetail::new(message).in_(param)],
    }
}

impl Params {
    pub fn parse(query: &str) -> Result<Params, ApiError> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .map(Params)
            .map_err(|e| ApiError::validation(format!("Malformed query string: {e}")))
    }

    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value for `key`, repeated keys and comma lists merged, order kept, duplicates dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, v) in self.0.iter().filter(|(k, _)| k == key) {
            for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if !out.iter().any(|o| o == item) {
                    out.push(item.to_string());
                }
            }
        }
        out
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(invalid(
                key,
                format!("{key} must be true or false, not '{v}'"),
            )),
        }
    }

    /// Page size: `default` when absent, else 1..=max.
    pub fn limit(&self, default: i64, max: i64) -> Result<i64, ApiError> {
        match self.get("limit") {
            None | Some("") => Ok(default),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(invalid(
                    "limit",
                    format!("limit must be a whole number from 1 to {max}, not '{v}'"),
                )),
            },
        }
    }

    /// A paging cursor (`after`/`before`): the id a previous page ended at.
    pub fn cursor(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n >= 0 => Ok(Some(n)),
                _ => Err(invalid(
                    key,
                    format!("{key} must be a paging cursor from paging.next.{key}, not '{v}'"),
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_booleans_and_limits() {
        let p = Params::parse("properties=email&properties=firstname,lastname&properties=email&x=True&y=false&limit=100").unwrap();
        assert_eq!(p.list("properties"), ["email", "firstname", "lastname"]);
        assert_eq!(p.bool("x").unwrap(), Some(true));
        assert_eq!(p.bool("y").unwrap(), Some(false));
        assert_eq!(p.bool("z").unwrap(), None);
        assert_eq!(p.limit(10, 100).unwrap(), 100);
        for bad in [
            "limit=0",
            "limit=-1",
            "limit=101",
            "limit=99999999999999999999",
            "limit=ten",
        ] {
            assert!(Params::parse(bad).unwrap().limit(10, 100).is_err(), "{bad}");
        }
        assert!(Params::parse("after=abc").unwrap().cursor("after").is_err());
        assert_eq!(
            Params::parse("after=42").unwrap().cursor("after").unwrap(),
            Some(42)
        );
        assert!(Params::parse("x=maybe").unwrap().bool("x").is_err());
    }
}

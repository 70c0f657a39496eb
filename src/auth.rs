//! Bearer tokens: HS256 JWTs naming an API key, its portal and scopes. The signature proves the
//! token was minted here; the key row (looked up on every request) lets an operator revoke it.

use crate::config::Config;
use crate::crm::PortalId;
use crate::db::keys::{self, ApiKey};
use crate::db::{settings, Db, DbError};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Every scope hubport checks; a token created without `--scopes` gets all of them.
pub const ALL_SCOPES: &[&str] = &[
    "crm.import",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.schemas.deals.read",
    "crm.schemas.deals.write",
];

const SECRET_SETTING: &str = "jwt_secret";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The API key id.
    sub: String,
    portal: i64,
    scopes: Vec<String>,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
}

/// Who is calling: resolved from a valid token whose key is live.
#[derive(Debug, Clone)]
pub struct Principal {
    pub portal: PortalId,
    pub key_id: i64,
    pub scopes: Vec<String>,
    pub limits: keys::RateOverrides,
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("the token's key was revoked or does not exist")]
    UnknownKey,
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Tokens {
    pub fn from_secret(secret: &[u8]) -> Tokens {
        let mut validation = Validation::new(Algorithm::HS256);
        // Tokens are long-lived like HubSpot private-app tokens; `exp` is honoured when present.
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// `HUBPORT_JWT_SECRET`, or the secret generated once and kept in the database so that every
    /// node (and `hubport token create`) signs and verifies alike.
    pub fn load(db: &Db, config: &Config) -> Result<Tokens, DbError> {
        if let Some(s) = config.jwt_secret.as_deref().filter(|s| !s.is_empty()) {
            return Ok(Tokens::from_secret(s.as_bytes()));
        }
        let secret = db.write(|c| {
            settings::get_or_init(c, SECRET_SETTING, || {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).expect("the OS random source is available");
                bytes.iter().map(|b| format!("{b:02x}")).collect()
            })
        })?;
        Ok(Tokens::from_secret(secret.as_bytes()))
    }

    pub fn mint(&self, key: &ApiKey) -> String {
        let claims = Claims {
            sub: key.id.to_string(),
            portal: key.portal_id,
            scopes: key.scope_list(),
            iat: chrono::Utc::now().timestamp(),
            exp: None,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding cannot fail")
    }

    /// Checks the signature, then that the key is live and still belongs to the token's portal.
    /// The key's stored scopes are authoritative.
    pub fn authenticate(&self, db: &Db, token: &str) -> Result<Principal, AuthError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        let key_id: i64 = data
            .claims
            .sub
            .parse()
            .map_err(|_| AuthError::InvalidToken("bad subject".into()))?;
        let mut conn = db.conn()?;
        let key = keys::find(&mut conn, key_id)?.ok_or(AuthError::UnknownKey)?;
        if key.revoked_at.is_some() || key.portal_id != data.claims.portal {
            return Err(AuthError::UnknownKey);
        }
        Ok(Principal {
            portal: PortalId(key.portal_id),
            key_id: key.id,
            scopes: key.scope_list(),
            limits: keys::RateOverrides {
                per_10s: key.rate_per_10s.and_then(|n| u32::try_from(n).ok()),
                per_day: key.rate_per_day.and_then(|n| u32::try_from(n).ok()),
            },
        })
    }
}

/// Parses `--scopes a,b`; unknown scopes are refused so a typo cannot mint a useless token.
pub fn parse_scopes(list: Option<&str>) -> Result<Vec<String>, String> {
    let Some(list) = list else {
        return Ok(ALL_SCOPES.iter().map(|s| s.to_string()).collect());
    };
    let mut out = Vec::new();
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !ALL_SCOPES.contains(&s) {
            return Err(format!(
                "unknown scope '{s}'; known scopes: {}",
                ALL_SCOPES.join(", ")
            ));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_another_secret_or_tampered_are_refused() {
        let a = Tokens::from_secret(b"one");
        let b = Tokens::from_secret(b"two");
        let key = ApiKey {
            id: 7,
            portal_id: 1,
            name: "k".into(),
            scopes: "crm.import".into(),
            created_at: chrono::Utc::now().naive_utc(),
            revoked_at: None,
            rate_per_10s: None,
            rate_per_day: None,
        };
        let t = a.mint(&key);
        assert!(decode::<Claims>(&t, &a.decoding, &a.validation).is_ok());
        assert!(decode::<Claims>(&t, &b.decoding, &b.validation).is_err());
        // alg=none with the same claims
        let parts: Vec<&str> = t.split('.').collect();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
        assert!(decode::<Claims>(&none, &a.decoding, &a.validation).is_err());
    }

    #[test]
    fn scopes_default_to_all_and_typos_are_refused() {
        assert_eq!(parse_scopes(None).unwrap().len(), ALL_SCOPES.len());
        assert_eq!(
            parse_scopes(Some("crm.import, crm.import")).unwrap(),
            ["crm.import"]
        );
        assert!(parse_scopes(Some("crm.imports")).is_err());
    }
}

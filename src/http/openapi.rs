//! The OpenAPI document, generated from the handlers and wire types. Committed as
//! `openapi/hubport.json` (a test fails when they drift), served at `/openapi.json`, browsable
//! at `/docs` with Swagger UI assets served by hubport itself (no CDN).

use super::model::{
    ActionResponse, CollectionResponsePublicImportErrorForwardPaging,
    CollectionResponsePublicImportResponseForwardPaging,
    CollectionResponseSimplePublicObjectWithAssociationsForwardPaging, PublicImportError,
    PublicImportResponse, SimplePublicObjectWithAssociations,
};
use crate::error::{ErrorBody, ErrorDetail};
use utoipa::openapi::security::{AuthorizationCode, Flow, OAuth2, Scopes, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hubport",
        description = "HubSpot-compatible CRM imports API. Paths, parameters and schemas follow HubSpot's published specs.",
        license(name = "Apache-2.0"),
    ),
    paths(
        super::imports::create,
        super::imports::list,
        super::imports::get,
        super::imports::cancel,
        super::imports::errors,
        super::objects::list,
        super::objects::get,
        super::objects::associations_v4,
        super::properties::list,
        super::properties::get,
        super::properties::create,
        super::health,
        super::ready,
    ),
    components(schemas(
        PublicImportResponse,
        PublicImportError,
        ActionResponse,
        CollectionResponsePublicImportResponseForwardPaging,
        CollectionResponsePublicImportErrorForwardPaging,
        CollectionResponseSimplePublicObjectWithAssociationsForwardPaging,
        SimplePublicObjectWithAssociations,
        ErrorBody,
        ErrorDetail,
        super::properties::Property,
        super::properties::PropertyCreate,
        super::properties::CollectionResponsePropertyNoPaging,
    )),
    modifiers(&BearerTokens),
    tags(
        (name = "Imports", description = "Start, follow, cancel imports and read their row errors"),
        (name = "Objects", description = "Read the records imports wrote"),
        (name = "Properties", description = "The property catalogue and custom properties"),
        (name = "Operations", description = "Health"),
    )
)]
pub struct ApiDoc;

/// HubSpot's clients send `Authorization: Bearer <token>`, which its specs call `oauth2`.
struct BearerTokens;

impl Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scopes = Scopes::from_iter(
            crate::auth::ALL_SCOPES
                .iter()
                .map(|s| (s.to_string(), format!("{s} (hubport token scope)"))),
        );
        let flow = Flow::AuthorizationCode(AuthorizationCode::new(
            "https://app.hubspot.com/oauth/authorize",
            "https://api.hubapi.com/oauth/v1/token",
            scopes,
        ));
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("oauth2", SecurityScheme::OAuth2(OAuth2::new([flow])));
    }
}

/// The document as committed in `openapi/hubport.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

pub fn document_json() -> String {
    document()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
        + "\n"
}

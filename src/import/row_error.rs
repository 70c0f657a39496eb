//! Per-row import failures. These are data stored with the import and served by
//! `GET /crm/v3/imports/{id}/errors`, never HTTP errors.

use crate::crm::ObjectType;

/// The subset of HubSpot's `PublicImportError.errorType` enum that hubport emits.
/// `as_str` gives the wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    AmbiguousEnumerationOption,
    CouldNotParseDate,
    CouldNotParseNumber,
    CouldNotParseRow,
    CreateOnlyImport,
    DuplicateAlternateId,
    DuplicateUniquePropertyValue,
    IncorrectNumberOfColumns,
    InvalidBoolean,
    InvalidDomain,
    InvalidEmail,
    InvalidEnumerationOption,
    InvalidObjectId,
    InvalidPropertyValueFormat,
    InvalidFileType,
    InvalidRecordId,
    InvalidSpreadsheet,
    MissingRequiredProperty,
    NoObjectIdFromAssociationIdentifier,
    PropertyDefinitionNotFound,
    RowDataTooLarge,
    SecondaryEmailWriteFailure,
    UnknownAssociationRecordId,
    UnknownError,
    UpdateOnlyImport,
}

impl ErrorType {
    /// The wire name, e.g. `INVALID_EMAIL`.
    pub fn as_str(self) -> &'static str {
        use ErrorType::*;
        match self {
            AmbiguousEnumerationOption => "AMBIGUOUS_ENUMERATION_OPTION",
            CouldNotParseDate => "COULD_NOT_PARSE_DATE",
            CouldNotParseNumber => "COULD_NOT_PARSE_NUMBER",
            CouldNotParseRow => "COULD_NOT_PARSE_ROW",
            CreateOnlyImport => "CREATE_ONLY_IMPORT",
            DuplicateAlternateId => "DUPLICATE_ALTERNATE_ID",
            DuplicateUniquePropertyValue => "DUPLICATE_UNIQUE_PROPERTY_VALUE",
            IncorrectNumberOfColumns => "INCORRECT_NUMBER_OF_COLUMNS",
            // HubSpot's enum has no boolean-specific type; FAILED_VALIDATION is its closest.
            InvalidBoolean => "FAILED_VALIDATION",
            InvalidDomain => "INVALID_DOMAIN",
            InvalidEmail => "INVALID_EMAIL",
            InvalidEnumerationOption => "INVALID_ENUMERATION_OPTION",
            InvalidObjectId => "INVALID_OBJECT_ID",
            InvalidPropertyValueFormat => "INVALID_PROPERTY_VALUE_FORMAT",
            InvalidFileType => "INVALID_FILE_TYPE",
            InvalidRecordId => "INVALID_RECORD_ID",
            InvalidSpreadsheet => "INVALID_SPREADSHEET",
            MissingRequiredProperty => "MISSING_REQUIRED_PROPERTY",
            NoObjectIdFromAssociationIdentifier => "NO_OBJECT_ID_FROM_ASSOCIATION_IDENTIFIER",
            PropertyDefinitionNotFound => "PROPERTY_DEFINITION_NOT_FOUND",
            RowDataTooLarge => "ROW_DATA_TOO_LARGE",
            SecondaryEmailWriteFailure => "SECONDARY_EMAIL_WRITE_FAILURE",
            UnknownAssociationRecordId => "UNKNOWN_ASSOCIATION_RECORD_ID",
            UnknownError => "UNKNOWN_ERROR",
            UpdateOnlyImport => "UPDATE_ONLY_IMPORT",
        }
    }
}

/// One failure on one row (or on one cell of it). A row may carry several.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub error_type: ErrorType,
    pub message: String,
    pub object_type: Option<ObjectType>,
    /// Zero-based column index in the file, when the error belongs to one cell.
    pub column: Option<usize>,
    pub invalid_value: Option<String>,
}

impl RowError {
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> Self {
        RowError {
            error_type,
            message: message.into(),
            object_type: None,
            column: None,
            invalid_value: None,
        }
    }

    pub fn object(mut self, object_type: ObjectType) -> Self {
        self.object_type = Some(object_type);
        self
    }

    pub fn cell(mut self, column: usize, value: &str) -> Self {
        self.column = Some(column);
        self.invalid_value = Some(value.to_string());
        self
    }
}

//! Input types and input checks shared by several resolver modules: file
//! uploads, the payment filter (searches and exports) and search texts.

use async_graphql::{Context, InputObject, Upload};

use super::enums::DocumentCategory;
use super::scalars::Date;
use crate::{
    casework::MAX_SHORT,
    documents::{self, NewFile},
    error::{ApiError, ApiResult},
    payments::search::PaymentFilterInput,
};

/// One file of an upload.
#[derive(InputObject)]
pub struct DocumentUploadInput {
    /// The file (a part of the multipart request).
    pub file: Upload,
    /// Its category; may be left out when `sameCategoryForAll` is given.
    pub category: Option<DocumentCategory>,
}

/// Reads the uploads of a request, each with its category: its own, or
/// `same` ("same category for all"; a file with a different one of its own
/// is `BAD_USER_INPUT`). `prefix` is the argument name, for error fields.
pub fn new_files(
    ctx: &Context<'_>,
    prefix: &str,
    inputs: Vec<DocumentUploadInput>,
    same: Option<DocumentCategory>,
) -> ApiResult<Vec<NewFile>> {
    if inputs.len() > documents::MAX_FILES_PER_REQUEST {
        return Err(ApiError::bad_input(
            prefix,
            format!(
                "At most {} files can be uploaded at once.",
                documents::MAX_FILES_PER_REQUEST
            ),
        ));
    }
    inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            let category = match (input.category, same) {
                (Some(own), Some(same)) if own != same => {
                    return Err(ApiError::bad_input(
                        format!("{prefix}.{i}.category"),
                        "This file's category differs from the category chosen for all files.",
                    ));
                }
                (Some(c), _) | (None, Some(c)) => c,
                (None, None) => {
                    return Err(ApiError::bad_input(
                        format!("{prefix}.{i}.category"),
                        "Choose a category for this file, or one for all files.",
                    ));
                }
            };
            let streamed = ctx
                .data_opt::<documents::stream::StreamedUploads>()
                .and_then(|s| s.0.get(&input.file.0).cloned());
            let upload = input.file.value(ctx).map_err(|_| {
                ApiError::bad_input(
                    format!("{prefix}.{i}.file"),
                    "The file is missing from the request.",
                )
            })?;
            Ok(NewFile {
                field: format!("{prefix}.{i}.file"),
                upload,
                streamed,
                category: category.into(),
            })
        })
        .collect()
}

/// Payment search filter; every part is optional and all given parts must match.
#[derive(InputObject, Default)]
pub struct PaymentFilter {
    /// Paid on or after this date.
    pub from: Option<Date>,
    /// Paid on or before this date (not before `from`).
    pub to: Option<Date>,
    /// Part of the tenant's name (any case).
    pub tenant_name: Option<String>,
    /// A full postcode, an outward code (`"SW1A"`: that district) or the start
    /// of one (`"SW"`), any case and spacing.
    pub postcode: Option<String>,
    /// A claim reference or an arrangement reference (`APA-…`), exactly.
    pub reference: Option<String>,
}

impl From<PaymentFilter> for PaymentFilterInput {
    fn from(f: PaymentFilter) -> Self {
        Self {
            from: f.from.map(|d| d.0),
            to: f.to.map(|d| d.0),
            tenant_name: f.tenant_name,
            postcode: f.postcode,
            reference: f.reference,
        }
    }
}

/// A search text of at most 200 characters; blank means none.
pub fn search_text(field: &str, value: Option<String>) -> ApiResult<Option<String>> {
    match value {
        Some(v) if v.chars().count() > MAX_SHORT => Err(ApiError::bad_input(
            field,
            format!("Must be at most {MAX_SHORT} characters."),
        )),
        other => Ok(other.filter(|s| !s.trim().is_empty())),
    }
}

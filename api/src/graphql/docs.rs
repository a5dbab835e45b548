//! Descriptions the derive macros cannot give: every `…Connection` type
//! (async-graphql's generic `Connection` has none), and the `DateTime`
//! and JSON scalars that come from libraries (whose descriptions are the
//! libraries', with no `@specifiedBy`); every custom scalar gets its
//! `@specifiedBy` URL here.
//!
//! [`SchemaDocs`] is registered last on the schema builder
//! (`register_output_type`), when every type of the schema is in the
//! registry: its `create_type_info` fills in what is missing and registers
//! nothing of its own. It is never resolved. The schema-documentation test
//! (`tests/tests/e2e/schema.rs`) fails on any type, field, argument or enum
//! value left without a description, so a new connection or scalar cannot
//! slip through.

use std::borrow::Cow;

use async_graphql::{
    ContextSelectionSet, OutputType, Positioned, ServerResult, Value,
    parser::types::Field,
    registry::{MetaType, Registry},
};

/// RFC 3339's `date-time`, the format of `DateTime` values.
pub const DATE_TIME_SPEC: &str = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6";
/// XML Schema's `decimal` lexical form, which `Money` strings follow.
pub const MONEY_SPEC: &str = "https://www.w3.org/TR/xmlschema11-2/#decimal";
/// JSON (RFC 8259), for `JSON` values.
pub const JSON_SPEC: &str = "https://www.rfc-editor.org/rfc/rfc8259";
/// The GraphQL multipart request specification, for `Upload`.
pub const UPLOAD_SPEC: &str = "https://github.com/jaydenseric/graphql-multipart-request-spec";

/// The hook that completes the registry's descriptions (see the module docs).
pub struct SchemaDocs;

fn describe(registry: &mut Registry) {
    for (name, meta) in registry.types.iter_mut() {
        match meta {
            MetaType::Object { description, .. } if description.is_none() => {
                if let Some(node) = name.strip_suffix("Connection") {
                    *description = Some(format!(
                        "A page of a list of `{node}`, in the list's order: `nodes` (or `edges`, \
                         each with its cursor) and `pageInfo`; pass `pageInfo.endCursor` as \
                         `after` for the next page. Lists that count have `totalCount` too."
                    ));
                }
            }
            MetaType::Scalar {
                description,
                specified_by_url,
                ..
            } => match name.as_str() {
                "DateTime" => {
                    *description = Some(
                        "An instant, as an RFC 3339 `date-time` in UTC, such as \
                         `2026-03-05T14:05:00Z` (input may carry any offset)."
                            .into(),
                    );
                    *specified_by_url = Some(DATE_TIME_SPEC.into());
                }
                "Money" => *specified_by_url = Some(MONEY_SPEC.into()),
                "JSON" => {
                    *description = Some(
                        "Any JSON value (RFC 8259): an audit entry's snapshots and a job's payload, as stored."
                            .into(),
                    );
                    *specified_by_url = Some(JSON_SPEC.into());
                }
                "Upload" => {
                    *description = Some(
                        "A file sent as a part of a `multipart/form-data` request, following the \
                         GraphQL multipart request specification (`operations`, `map`, then the \
                         files). Only `uploadDocuments`, `sendMessage`, `replyToMessage`, \
                         `addPaymentArrangementEvidence` and `uploadHousingCosts` take files."
                            .into(),
                    );
                    *specified_by_url = Some(UPLOAD_SPEC.into());
                }
                _ => {}
            },
            _ => {}
        }
    }
}

impl OutputType for SchemaDocs {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("PageInfo")
    }

    /// Completes the descriptions and answers an existing type's name, so
    /// that nothing new is registered.
    fn create_type_info(registry: &mut Registry) -> String {
        describe(registry);
        "PageInfo".to_owned()
    }

    async fn resolve(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        Ok(Value::Null)
    }
}

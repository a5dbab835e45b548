//! Gives every GraphQL error a stable `extensions.code` (see [`crate::error`]).

use std::sync::Arc;

use async_graphql::{
    ErrorExtensions, Response, ServerError,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe},
};
use futures::{StreamExt, stream::BoxStream};

use crate::error::{ApiError, ErrorCode, INTERNAL_MESSAGE};

/// Extension factory registered on the schema.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            normalize(error);
        }
        response
    }

    /// Every operation over WebSocket (a query and a mutation too) is a
    /// stream of responses, which `request` does not see.
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut response| {
                for error in &mut response.errors {
                    normalize(error);
                }
                response
            })
            .boxed()
    }
}

/// Sets code, message and details of one error, in place.
pub fn normalize(error: &mut ServerError) {
    let has_code = error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some());
    if has_code {
        return;
    }
    if let Some(api) = error
        .source
        .as_ref()
        .and_then(|s| s.downcast_ref::<ApiError>())
    {
        let extended = api.extend();
        error.message = extended.message;
        error.extensions = extended.extensions;
        return;
    }
    // Argument coercion failures raised while resolving a field (they carry
    // a path but no source), e.g. a string where an `Upload` must be, or a
    // declared variable the request's `variables` left out (async-graphql
    // finds that only when a field reads it: "Variable $id is not defined.").
    let input_coercion = error.message.starts_with("Failed to parse")
        || (error.message.starts_with("Variable ") && error.message.ends_with(" is not defined."))
        || error.message.starts_with("Invalid value for argument")
        || error.message.starts_with("Expected input type")
        || error.message.contains("(occurred while parsing \"");
    if (error.path.is_empty() || input_coercion) && error.source.is_none() {
        // Raised before execution: syntax, validation, depth, complexity,
        // unknown operation. The client sent something we do not accept.
        set_code(error, ErrorCode::BadUserInput);
        return;
    }
    // A resolver error of unknown origin: treat it as internal, log it, and
    // do not send its message (it may be a database error).
    tracing::error!(error = %error.message, path = ?error.path, "unclassified resolver error");
    error.message = INTERNAL_MESSAGE.to_owned();
    set_code(error, ErrorCode::Internal);
}

fn set_code(error: &mut ServerError, code: ErrorCode) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
}

//! The documents of a case and of a message, as the reader may see them.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{DbLoader, LoadError, group};
use crate::{policy, policy::cases::Reader};

/// The attachments of a message the reader may see, in upload order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttachmentsKey(pub Uuid, pub Reader);

impl Loader<AttachmentsKey> for DbLoader {
    type Value = Vec<entities::document::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[AttachmentsKey],
    ) -> Result<HashMap<AttachmentsKey, Self::Value>, LoadError> {
        use entities::document;
        let mut out: HashMap<AttachmentsKey, Self::Value> =
            keys.iter().map(|k| (*k, vec![])).collect();
        for (reader, ids) in group(keys, |k| (k.0, k.1)) {
            for d in document::Entity::find()
                .filter(document::Column::MessageId.is_in(ids))
                .filter(policy::documents::visible(reader))
                .order_by_asc(document::Column::CreatedAt)
                .order_by_asc(document::Column::Id)
                .all(&self.db)
                .await?
            {
                if let Some(message_id) = d.message_id {
                    out.entry(AttachmentsKey(message_id, reader))
                        .or_default()
                        .push(d);
                }
            }
        }
        Ok(out)
    }
}

/// The documents of a case the reader may see, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DocumentsKey(pub Uuid, pub Reader);

impl Loader<DocumentsKey> for DbLoader {
    type Value = Vec<entities::document::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[DocumentsKey],
    ) -> Result<HashMap<DocumentsKey, Self::Value>, LoadError> {
        use entities::document;
        let mut out: HashMap<DocumentsKey, Self::Value> =
            keys.iter().map(|k| (*k, vec![])).collect();
        for (reader, ids) in group(keys, |k| (k.0, k.1)) {
            for d in document::Entity::find()
                .filter(document::Column::CaseId.is_in(ids))
                .filter(policy::documents::visible(reader))
                .order_by_desc(document::Column::CreatedAt)
                .order_by_desc(document::Column::Id)
                .all(&self.db)
                .await?
            {
                if let Some(case_id) = d.case_id {
                    out.entry(DocumentsKey(case_id, reader))
                        .or_default()
                        .push(d);
                }
            }
        }
        Ok(out)
    }
}

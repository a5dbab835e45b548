//! The documents of a case, as the reader may see them.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{DbLoader, LoadError, group};
use crate::{policy, policy::cases::Reader};

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

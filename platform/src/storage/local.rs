//! A folder on disk. Writes go to a temporary file first and are renamed into
//! place, so a reader never sees half an object and a failed write leaves
//! nothing behind. Download URLs point at the API's `/files/...` route and are
//! signed with a key generated when the process starts (local storage serves
//! one node, so the API that signs is the API that serves).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use tokio::io::{AsyncRead, AsyncWriteExt};
use url::Url;

use super::{DownloadSpec, ObjectReader, StorageError};

type HmacSha256 = Hmac<Sha256>;

/// Folder under the root for writes in progress.
const TMP_DIR: &str = ".tmp";

/// Local folder storage.
pub struct LocalStorage {
    root: PathBuf,
    base_url: Url,
    signing_key: [u8; 32],
}

/// A verified request for a signed local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFile {
    /// The object.
    pub key: String,
    /// The download name.
    pub filename: String,
    /// The response type.
    pub content_type: String,
}

impl LocalStorage {
    /// Opens (and creates) the folder. `base_url` is the API's public address.
    pub async fn open(root: PathBuf, base_url: Url) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(root.join(TMP_DIR))
            .await
            .map_err(|e| anyhow::anyhow!("cannot create storage folder {}: {e}", root.display()))?;
        let mut signing_key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut signing_key);
        Ok(Self {
            root,
            base_url,
            signing_key,
        })
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> PathBuf {
        // `key` is validated by the caller: relative, no `..`, safe characters.
        self.root.join(key)
    }

    pub(super) async fn put<R>(&self, key: &str, mut body: R) -> Result<u64, StorageError>
    where
        R: AsyncRead + Unpin + Send,
    {
        let tmp = self
            .root
            .join(TMP_DIR)
            .join(uuid::Uuid::new_v4().to_string());
        let result = async {
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .map_err(StorageError::backend)?;
            let written = copy(&mut body, &mut file).await?;
            file.flush().await.map_err(StorageError::backend)?;
            file.sync_all().await.map_err(StorageError::backend)?;
            drop(file);
            let dest = self.path(key);
            if let Some(parent) = dest.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(StorageError::backend)?;
            }
            tokio::fs::rename(&tmp, &dest)
                .await
                .map_err(StorageError::backend)?;
            Ok(written)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    pub(super) async fn get(&self, key: &str) -> Result<ObjectReader, StorageError> {
        match tokio::fs::File::open(self.path(key)).await {
            Ok(f) => Ok(Box::pin(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StorageError::NotFound(key.to_owned()))
            }
            Err(e) => Err(StorageError::backend(e)),
        }
    }

    pub(super) async fn size(&self, key: &str) -> Result<Option<u64>, StorageError> {
        match tokio::fs::metadata(self.path(key)).await {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::backend(e)),
        }
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::backend(e)),
        }
    }

    pub(super) async fn rename(&self, from: &str, to: &str) -> Result<(), StorageError> {
        let dest = self.path(to);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(StorageError::backend)?;
        }
        match tokio::fs::rename(self.path(from), &dest).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.size(to).await?.is_some() {
                    Ok(())
                } else {
                    Err(StorageError::NotFound(from.to_owned()))
                }
            }
            Err(e) => Err(StorageError::backend(e)),
        }
    }

    pub(super) async fn check(&self) -> Result<(), StorageError> {
        let meta = tokio::fs::metadata(&self.root)
            .await
            .map_err(StorageError::backend)?;
        if meta.is_dir() {
            Ok(())
        } else {
            Err(StorageError::Backend(format!(
                "{} is not a folder",
                self.root.display()
            )))
        }
    }

    /// The MAC over one URL's fields, length-prefixed so no two different
    /// tuples sign the same bytes.
    fn mac(&self, key: &str, expires: i64, filename: &str, content_type: &str) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.signing_key).expect("HMAC accepts any key length");
        for part in [key, &expires.to_string(), filename, content_type] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    fn signature(&self, key: &str, expires: i64, filename: &str, content_type: &str) -> String {
        hex::encode(
            self.mac(key, expires, filename, content_type)
                .finalize()
                .into_bytes(),
        )
    }

    /// `<base>/files/<key>?expires=..&name=..&type=..&signature=..`.
    pub(super) fn signed_url(&self, spec: &DownloadSpec<'_>) -> String {
        let expires = chrono::Utc::now().timestamp() + ttl_secs(spec.ttl);
        let signature = self.signature(spec.key, expires, spec.filename, spec.content_type);
        let mut url = self.base_url.clone();
        url.set_path(&format!("/files/{}", spec.key));
        url.query_pairs_mut()
            .append_pair("expires", &expires.to_string())
            .append_pair("name", spec.filename)
            .append_pair("type", spec.content_type)
            .append_pair("signature", &signature);
        url.into()
    }

    /// Checks a `/files/...` request: the signature matches and has not
    /// expired. Any failure is `None`, answered as not found.
    pub fn verify(
        &self,
        key: &str,
        expires: i64,
        filename: &str,
        content_type: &str,
        signature: &str,
    ) -> Option<SignedFile> {
        if expires < chrono::Utc::now().timestamp() || super::keys::validate(key).is_err() {
            return None;
        }
        let given = hex::decode(signature).ok()?;
        self.mac(key, expires, filename, content_type)
            .verify_slice(&given)
            .ok()?;
        Some(SignedFile {
            key: key.to_owned(),
            filename: filename.to_owned(),
            content_type: content_type.to_owned(),
        })
    }
}

fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2).max(1)
}

/// Copies with a 64 KiB buffer, telling source failures from sink failures.
async fn copy<R, W>(src: &mut R, dst: &mut W) -> Result<u64, StorageError>
where
    R: AsyncRead + Unpin + Send,
    W: tokio::io::AsyncWrite + Unpin + Send,
{
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = src.read(&mut buf).await.map_err(StorageError::Source)?;
        if n == 0 {
            return Ok(total);
        }
        dst.write_all(&buf[..n])
            .await
            .map_err(StorageError::backend)?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;
    use crate::storage::Storage;

    async fn storage(dir: &Path) -> (Storage, std::sync::Arc<LocalStorage>) {
        let local = std::sync::Arc::new(
            LocalStorage::open(dir.to_path_buf(), "http://portal.test/".parse().unwrap())
                .await
                .unwrap(),
        );
        (Storage::Local(local.clone()), local)
    }

    #[tokio::test]
    async fn put_get_rename_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = storage(dir.path()).await;
        let data = vec![7u8; 200_000];
        let n = s
            .put("documents/a", &data[..], "application/pdf")
            .await
            .unwrap();
        assert_eq!(n, 200_000);
        assert_eq!(s.size("documents/a").await.unwrap(), Some(200_000));
        let mut back = Vec::new();
        s.get("documents/a")
            .await
            .unwrap()
            .read_to_end(&mut back)
            .await
            .unwrap();
        assert_eq!(back, data);

        s.rename("documents/a", "quarantine/documents/a")
            .await
            .unwrap();
        assert_eq!(s.size("documents/a").await.unwrap(), None);
        // A retried move is harmless.
        s.rename("documents/a", "quarantine/documents/a")
            .await
            .unwrap();
        assert!(matches!(
            s.get("documents/a").await,
            Err(StorageError::NotFound(_))
        ));
        s.delete("quarantine/documents/a").await.unwrap();
        s.delete("quarantine/documents/a").await.unwrap();
        assert_eq!(s.size("quarantine/documents/a").await.unwrap(), None);
        // Nothing left in the temporary folder.
        assert_eq!(
            std::fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(),
            0
        );
    }

    #[tokio::test]
    async fn failed_source_leaves_nothing() {
        struct Failing(usize);
        impl AsyncRead for Failing {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                if self.0 == 0 {
                    return std::task::Poll::Ready(Err(std::io::Error::other("client went away")));
                }
                self.0 -= 1;
                buf.put_slice(&[1; 1024]);
                std::task::Poll::Ready(Ok(()))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = storage(dir.path()).await;
        let err = s
            .put("documents/b", Failing(10), "text/plain")
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::Source(_)), "{err}");
        assert_eq!(s.size("documents/b").await.unwrap(), None);
        assert_eq!(
            std::fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(),
            0
        );
    }

    #[tokio::test]
    async fn invalid_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = storage(dir.path()).await;
        assert!(matches!(
            s.put("../escape", &b"x"[..], "text/plain").await,
            Err(StorageError::InvalidKey(_))
        ));
        assert!(matches!(
            s.get("/etc/passwd").await,
            Err(StorageError::InvalidKey(_))
        ));
    }

    #[tokio::test]
    async fn signed_urls_verify_and_reject_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let (s, local) = storage(dir.path()).await;
        let url = s
            .download_url(&DownloadSpec {
                key: "exports/x.csv",
                filename: "payments 2026.csv",
                content_type: "text/csv",
                ttl: Duration::from_secs(60),
            })
            .await
            .unwrap();
        let url = Url::parse(&url).unwrap();
        assert_eq!(url.path(), "/files/exports/x.csv");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        let exp: i64 = q["expires"].parse().unwrap();
        let ok = local.verify(
            "exports/x.csv",
            exp,
            &q["name"],
            &q["type"],
            &q["signature"],
        );
        assert_eq!(
            ok,
            Some(SignedFile {
                key: "exports/x.csv".into(),
                filename: "payments 2026.csv".into(),
                content_type: "text/csv".into()
            })
        );
        // Another key, name, type or expiry with the same signature fails.
        assert!(
            local
                .verify(
                    "exports/y.csv",
                    exp,
                    &q["name"],
                    &q["type"],
                    &q["signature"]
                )
                .is_none()
        );
        assert!(
            local
                .verify(
                    "exports/x.csv",
                    exp + 1,
                    &q["name"],
                    &q["type"],
                    &q["signature"]
                )
                .is_none()
        );
        assert!(
            local
                .verify(
                    "exports/x.csv",
                    exp,
                    "evil.html",
                    &q["type"],
                    &q["signature"]
                )
                .is_none()
        );
        assert!(
            local
                .verify(
                    "exports/x.csv",
                    exp,
                    &q["name"],
                    "text/html",
                    &q["signature"]
                )
                .is_none()
        );
        assert!(
            local
                .verify("exports/x.csv", exp, &q["name"], &q["type"], "zz")
                .is_none()
        );
        // Expired.
        let past = chrono::Utc::now().timestamp() - 1;
        let sig = local.signature("exports/x.csv", past, "a", "text/csv");
        assert!(
            local
                .verify("exports/x.csv", past, "a", "text/csv", &sig)
                .is_none()
        );
    }
}

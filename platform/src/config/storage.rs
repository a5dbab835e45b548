//! Where documents, exports and uploaded CSVs are kept: a local folder
//! (embedded default) or an S3-compatible store (`PORTAL_S3_*`).

use std::path::Path;

use secrecy::SecretString;
use url::Url;

use super::{ConfigError, Vars};

/// Where documents and exports are stored.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// A folder on the local disk (embedded default).
    Local {
        /// Root folder; objects are stored under generated keys, never user file names.
        root: std::path::PathBuf,
    },
    /// S3 or any S3-compatible store.
    S3(S3Config),
}

/// Settings of an S3 or S3-compatible store.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// Bucket holding every object of this deployment.
    pub bucket: String,
    /// Endpoint of an S3-compatible server; `None` means AWS.
    pub endpoint: Option<Url>,
    /// Region name (S3-compatible servers usually accept any).
    pub region: String,
    /// Static credentials; `None` uses the default AWS credential chain.
    pub credentials: Option<(String, SecretString)>,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers.
    pub force_path_style: bool,
}

/// Reads `PORTAL_S3_*`; without a bucket, files go under `<data dir>/files`.
pub(super) fn read(vars: &Vars, data_dir: &Path) -> Result<StorageConfig, ConfigError> {
    let Some(bucket) = vars.get("PORTAL_S3_BUCKET") else {
        for name in [
            "PORTAL_S3_ENDPOINT",
            "PORTAL_S3_ACCESS_KEY_ID",
            "PORTAL_S3_SECRET_ACCESS_KEY",
        ] {
            if vars.get(name).is_some() {
                return Err(ConfigError::new(
                    name,
                    "set, but PORTAL_S3_BUCKET is not (set the bucket to use S3)",
                ));
            }
        }
        return Ok(StorageConfig::Local {
            root: data_dir.join("files"),
        });
    };
    let credentials = vars
        .pair("PORTAL_S3_ACCESS_KEY_ID", "PORTAL_S3_SECRET_ACCESS_KEY")?
        .map(|(id, secret)| (id.to_owned(), SecretString::from(secret.to_owned())));
    Ok(StorageConfig::S3(S3Config {
        bucket: bucket.to_owned(),
        endpoint: vars.url("PORTAL_S3_ENDPOINT")?,
        region: vars
            .get("PORTAL_S3_REGION")
            .unwrap_or("us-east-1")
            .to_owned(),
        credentials,
        force_path_style: vars.bool("PORTAL_S3_FORCE_PATH_STYLE", false)?,
    }))
}

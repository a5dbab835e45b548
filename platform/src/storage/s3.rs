//! S3 and S3-compatible servers through aws-sdk-s3.
//!
//! Objects smaller than one part go up in a single `PutObject`; larger ones in
//! a multipart upload of [`PART_SIZE`] parts with at most [`PARTS_IN_FLIGHT`]
//! uploading while the next is read, so memory stays under
//! `(PARTS_IN_FLIGHT + 1) × PART_SIZE` whatever the object's size. A failed
//! multipart upload is aborted, leaving nothing behind.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::{
    Client,
    config::{Credentials, RequestChecksumCalculation, ResponseChecksumValidation},
    presigning::PresigningConfig,
    primitives::ByteStream,
    types::{CompletedMultipartUpload, CompletedPart},
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use secrecy::ExposeSecret;
use tokio::{
    io::{AsyncRead, AsyncReadExt},
    task::JoinSet,
};

use super::{DownloadSpec, ObjectReader, StorageError, content_disposition};
use crate::config::S3Config;

/// Size of each multipart part (S3's minimum is 5 MiB).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploading concurrently while the next part is read.
pub const PARTS_IN_FLIGHT: usize = 2;

/// An S3 bucket.
pub struct S3Storage {
    client: Client,
    bucket: String,
}

impl S3Storage {
    /// Builds the client. Static credentials from the configuration, or the
    /// default AWS chain (environment, profile, web identity, instance role).
    pub async fn connect(config: &S3Config) -> anyhow::Result<Self> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(config.region.clone()));
        if let Some((id, secret)) = &config.credentials {
            loader = loader.credentials_provider(Credentials::new(
                id,
                secret.expose_secret(),
                None,
                None,
                "portal-configuration",
            ));
        }
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint.as_str().trim_end_matches('/'));
        }
        let sdk = loader.load().await;
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(config.force_path_style)
            // S3-compatible servers do not all support the newer default
            // checksums; send and check them only where S3 requires them.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        Ok(Self {
            client: Client::from_conf(s3),
            bucket: config.bucket.clone(),
        })
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub(super) async fn put<R>(
        &self,
        key: &str,
        mut body: R,
        content_type: &str,
    ) -> Result<u64, StorageError>
    where
        R: AsyncRead + Unpin + Send,
    {
        let mut first = read_part(&mut body).await?;
        if first.len() < PART_SIZE {
            // A small object keeps only what it needs, not a part's capacity.
            first.shrink_to_fit();
            let len = first.len() as u64;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type(content_type)
                .content_length(len as i64)
                .body(ByteStream::from(first))
                .send()
                .await
                .map_err(|e| StorageError::backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            return Ok(len);
        }

        let upload_id = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| StorageError::backend(aws_sdk_s3::error::DisplayErrorContext(e)))?
            .upload_id
            .ok_or_else(|| StorageError::Backend("no upload id in the response".into()))?;

        let result = self.upload_parts(key, &upload_id, first, &mut body).await;
        match result {
            Ok(total) => Ok(total),
            Err(e) => {
                if let Err(abort) = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await
                {
                    tracing::warn!(key, error = %aws_sdk_s3::error::DisplayErrorContext(abort), "could not abort a failed multipart upload");
                }
                Err(e)
            }
        }
    }

    async fn upload_parts<R>(
        &self,
        key: &str,
        upload_id: &str,
        first: Vec<u8>,
        body: &mut R,
    ) -> Result<u64, StorageError>
    where
        R: AsyncRead + Unpin + Send,
    {
        let mut in_flight: JoinSet<Result<CompletedPart, StorageError>> = JoinSet::new();
        let mut parts = Vec::new();
        let mut next = Some(first);
        let mut part_number = 1i32;
        let mut total = 0u64;
        loop {
            let chunk = match next.take() {
                Some(c) => c,
                None => read_part(body).await?,
            };
            if chunk.is_empty() {
                break;
            }
            let last = chunk.len() < PART_SIZE;
            total += chunk.len() as u64;
            while in_flight.len() >= PARTS_IN_FLIGHT {
                parts.push(joined(in_flight.join_next().await)?);
            }
            let client = self.client.clone();
            let (bucket, key, upload_id) =
                (self.bucket.clone(), key.to_owned(), upload_id.to_owned());
            in_flight.spawn(async move {
                let len = chunk.len() as i64;
                let out = client
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .part_number(part_number)
                    .content_length(len)
                    .body(ByteStream::from(chunk))
                    // The part is not hashed again to sign it (TLS or the
                    // loopback carries it; the document's own SHA-256 is kept).
                    .customize()
                    .disable_payload_signing()
                    .send()
                    .await
                    .map_err(|e| {
                        StorageError::backend(aws_sdk_s3::error::DisplayErrorContext(e))
                    })?;
                Ok(CompletedPart::builder()
                    .part_number(part_number)
                    .set_e_tag(out.e_tag)
                    .build())
            });
            part_number += 1;
            if last {
                break;
            }
        }
        while let Some(done) = in_flight.join_next().await {
            parts.push(joined(Some(done))?);
        }
        parts.sort_by_key(|p| p.part_number);
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| StorageError::backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(total)
    }

    pub(super) async fn get(&self, key: &str) -> Result<ObjectReader, StorageError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Box::pin(out.body.into_async_read())),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                Err(StorageError::NotFound(key.to_owned()))
            }
            Err(e) => Err(StorageError::backend(
                aws_sdk_s3::error::DisplayErrorContext(e),
            )),
        }
    }

    pub(super) async fn size(&self, key: &str) -> Result<Option<u64>, StorageError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.content_length.unwrap_or(0).max(0) as u64)),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(StorageError::backend(
                aws_sdk_s3::error::DisplayErrorContext(e),
            )),
        }
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| StorageError::backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    pub(super) async fn rename(&self, from: &str, to: &str) -> Result<(), StorageError> {
        // Keys hold only URL-safe characters (see `keys::validate`).
        let copied = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(format!("{}/{from}", self.bucket))
            .send()
            .await;
        match copied {
            Ok(_) => self.delete(from).await,
            Err(e) => {
                if self.size(from).await?.is_none() && self.size(to).await?.is_some() {
                    // Already moved by an earlier attempt.
                    Ok(())
                } else if self.size(from).await?.is_none() {
                    Err(StorageError::NotFound(from.to_owned()))
                } else {
                    Err(StorageError::backend(
                        aws_sdk_s3::error::DisplayErrorContext(e),
                    ))
                }
            }
        }
    }

    pub(super) async fn presigned_url(
        &self,
        spec: &DownloadSpec<'_>,
    ) -> Result<String, StorageError> {
        let presigning = PresigningConfig::expires_in(spec.ttl).map_err(StorageError::backend)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(spec.key)
            .response_content_disposition(content_disposition(spec.filename))
            .response_content_type(spec.content_type)
            .presigned(presigning)
            .await
            .map_err(|e| StorageError::backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(request.uri().to_owned())
    }

    pub(super) async fn check(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| StorageError::backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}

/// Reads up to [`PART_SIZE`] bytes; shorter only at the end of the body.
///
/// The buffer is allocated once at its full size and filled in place: grown
/// by doubling (`read_to_end`), each part was copied on the way and could end
/// in a 16 MiB allocation, which (three parts alive at once, spread over the
/// allocator's per-thread arenas) took the API's memory growth for one large
/// upload over its 64 MiB budget.
async fn read_part<R: AsyncRead + Unpin>(body: &mut R) -> Result<Vec<u8>, StorageError> {
    let mut buf = Vec::with_capacity(PART_SIZE);
    while buf.len() < PART_SIZE {
        if body
            .read_buf(&mut buf)
            .await
            .map_err(StorageError::Source)?
            == 0
        {
            break;
        }
    }
    Ok(buf)
}

fn joined(
    done: Option<Result<Result<CompletedPart, StorageError>, tokio::task::JoinError>>,
) -> Result<CompletedPart, StorageError> {
    match done {
        Some(Ok(part)) => part,
        Some(Err(e)) => Err(StorageError::backend(e)),
        None => Err(StorageError::Backend("part upload vanished".into())),
    }
}

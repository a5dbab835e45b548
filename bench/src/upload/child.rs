//! The `portal api` child process of path (c), from the client side: waiting
//! until it is ready, the `uploadDocuments` multipart request streamed to it
//! over a hand-written HTTP/1.1 connection (and its response parsed), its
//! memory from `/proc/<pid>/status`, and stopping it.

use std::{
    net::SocketAddr,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use uuid::Uuid;

/// The mutation, as a client sends it.
const UPLOAD: &str = "mutation Upload($caseId: ID!, $files: [DocumentUploadInput!]!) { \
    uploadDocuments(caseId: $caseId, files: $files) { id fileName contentType sizeBytes sha256 } }";

/// Waits until the API answers `/readyz` (or exits, or 30 s pass).
pub(super) async fn wait_until_ready(
    addr: SocketAddr,
    child: &mut tokio::process::Child,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the API exited during startup ({status}); see its log above");
        }
        if let Ok(response) = http.get(format!("http://{addr}/readyz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the API did not become ready on {addr} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops the API with SIGTERM (it drains and exits), or kills it after 10 s.
pub(super) async fn stop_child(child: &mut tokio::process::Child, pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// A field (`VmRSS:`, `VmHWM:`) of `/proc/<pid>/status`, in KiB.
pub(super) fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `uploadDocuments` with one file, as a GraphQL multipart request whose body
/// is streamed from `path`. Returns the document's id and recorded size.
pub(super) async fn upload(
    addr: SocketAddr,
    token: &str,
    case_id: Uuid,
    path: &Path,
    filename: &str,
) -> anyhow::Result<(Uuid, u64)> {
    let boundary = format!("----portal-bench-{}", Uuid::new_v4().simple());
    let operations = json!({
        "query": UPLOAD,
        "variables": {
            "caseId": api::graphql::scalars::global_id(api::graphql::scalars::NodeKind::Case, case_id).0,
            "files": [{ "file": null, "category": "EVIDENCE" }],
        },
    });
    let map = json!({ "0": ["variables.files.0.file"] });
    let before_file = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{map}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{filename}\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    );
    let after_file = format!("\r\n--{boundary}--\r\n");
    let file_len = tokio::fs::metadata(path).await?.len();
    let length = before_file.len() as u64 + file_len + after_file.len() as u64;
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         GraphQL-Require-Preflight: 1\r\nUser-Agent: portal-bench\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n{before_file}"
    );

    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut reader, mut writer) = stream.into_split();
    let send = async {
        writer.write_all(head.as_bytes()).await?;
        let mut file =
            tokio::io::BufReader::with_capacity(256 * 1024, tokio::fs::File::open(path).await?);
        let copied = tokio::io::copy_buf(&mut file, &mut writer).await?;
        anyhow::ensure!(copied == file_len, "sent {copied} of {file_len} bytes");
        writer.write_all(after_file.as_bytes()).await?;
        writer.flush().await?;
        anyhow::Ok(())
    };
    let receive = async {
        let mut response = Vec::new();
        reader.read_to_end(&mut response).await?;
        anyhow::Ok(response)
    };
    let (sent, received) = tokio::join!(send, receive);
    let response = received.context("reading the API's response")?;
    let (status, body) = match parse_response(&response) {
        Some(parsed) => parsed,
        None => {
            sent?;
            anyhow::bail!(
                "the API answered something that is not HTTP: {:?}",
                String::from_utf8_lossy(&response[..response.len().min(300)])
            );
        }
    };
    let body: Value = serde_json::from_slice(&body).with_context(|| {
        format!(
            "HTTP {status}, body not JSON: {}",
            String::from_utf8_lossy(&body)
        )
    })?;
    let document = &body["data"]["uploadDocuments"][0];
    let (Some(id), Some(size)) = (
        document["id"]
            .as_str()
            .and_then(api::graphql::scalars::decode_global_id)
            .map(|(_, id)| id),
        document["sizeBytes"].as_u64(),
    ) else {
        anyhow::bail!("HTTP {status}, the upload failed: {body}");
    };
    Ok((id, size))
}

/// Status and body of an HTTP/1.1 response (with `Content-Length` or chunked).
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let body = &raw[end + 4..];
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Some((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some((status, out));
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::parse_response;

    #[test]
    fn responses_are_parsed_with_either_framing() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain), Some((200, b"{}".to_vec())));
        let chunked =
            b"HTTP/1.1 413 Payload Too Large\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n3\r\n\":1\r\n1\r\n}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((413, b"{\"a\":1}".to_vec())));
        assert_eq!(parse_response(b"garbage"), None);
    }
}

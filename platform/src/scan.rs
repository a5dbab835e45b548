//! A small clamd client: `zINSTREAM` over TCP.
//!
//! The protocol (clamd(8)): send `zINSTREAM\0`, then the content as chunks,
//! each prefixed by its length as a 4-byte big-endian integer, then a
//! zero-length chunk; clamd answers one NUL-terminated line:
//! `stream: OK`, `stream: <signature> FOUND`, or `<message> ERROR`. When the
//! stream exceeds clamd's `StreamMaxLength`, clamd answers
//! `INSTREAM size limit exceeded. ERROR` and closes the connection, possibly
//! while we are still writing: a failed write is followed by an attempt to
//! read that answer.
//!
//! Every network step has a timeout, so a hung clamd cannot hold a worker.

use std::time::Duration;

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

/// Bytes per INSTREAM chunk.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Longest answer line read.
const MAX_REPLY: usize = 4096;

/// What clamd said about the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No signature matched.
    Clean,
    /// A signature matched (its name).
    Infected(String),
    /// clamd flagged the content as encrypted (`Heuristics.Encrypted.*`):
    /// a password-protected file, which the portal refuses.
    Encrypted(String),
    /// clamd answered with an error about this content (e.g. the stream
    /// size limit): the content was not scanned, and scanning it again the
    /// same way gives the same answer.
    Refused(String),
}

/// clamd could not be asked: unreachable, timed out, a malformed answer, or
/// the content could not be read. Worth retrying.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ScanError(pub String);

/// A clamd at `addr` (`host:port`).
#[derive(Debug, Clone)]
pub struct Clamd {
    addr: String,
    timeout: Duration,
}

impl Clamd {
    /// A client with a per-step timeout (connect, each write, the answer).
    pub fn new(addr: impl Into<String>, timeout: Duration) -> Self {
        Self {
            addr: addr.into(),
            timeout,
        }
    }

    /// Streams `content` to clamd and returns its verdict.
    pub async fn scan<R: AsyncRead + Unpin>(&self, mut content: R) -> Result<Verdict, ScanError> {
        let step = self.timeout;
        let mut stream = timeout(step, TcpStream::connect(&self.addr))
            .await
            .map_err(|_| ScanError(format!("connecting to clamd at {} timed out", self.addr)))?
            .map_err(|e| ScanError(format!("cannot connect to clamd at {}: {e}", self.addr)))?;

        let sent = async {
            timeout(step, stream.write_all(b"zINSTREAM\0")).await??;
            let mut buf = vec![0u8; CHUNK_BYTES];
            loop {
                let n = content.read(&mut buf).await.map_err(SendError::Source)?;
                if n == 0 {
                    break;
                }
                timeout(step, async {
                    stream.write_all(&(n as u32).to_be_bytes()).await?;
                    stream.write_all(&buf[..n]).await
                })
                .await??;
            }
            timeout(step, stream.write_all(&0u32.to_be_bytes())).await??;
            timeout(step, stream.flush()).await??;
            Ok::<(), SendError>(())
        }
        .await;
        if let Err(SendError::Source(e)) = sent {
            return Err(ScanError(format!(
                "reading the content to scan failed: {e}"
            )));
        }

        // Read the answer even when sending failed: clamd closes the
        // connection after answering a stream over its limit.
        let mut reply = Vec::new();
        let read = timeout(step, async {
            let mut byte = [0u8; 512];
            loop {
                let n = stream.read(&mut byte).await?;
                if n == 0 {
                    break;
                }
                reply.extend_from_slice(&byte[..n]);
                if reply.contains(&0) || reply.len() > MAX_REPLY {
                    break;
                }
            }
            Ok::<(), std::io::Error>(())
        })
        .await;
        if reply.is_empty() {
            return Err(ScanError(match (sent, read) {
                (Err(e), _) => format!("sending to clamd failed: {e}"),
                (_, Err(_)) => "clamd did not answer in time".to_owned(),
                (_, Ok(Err(e))) => format!("reading clamd's answer failed: {e}"),
                _ => "clamd closed the connection without an answer".to_owned(),
            }));
        }
        parse_reply(&reply)
    }
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("timed out")]
    Timeout(#[from] tokio::time::error::Elapsed),
    #[error("{0}")]
    Source(std::io::Error),
}

/// Parses clamd's answer line.
pub fn parse_reply(raw: &[u8]) -> Result<Verdict, ScanError> {
    let line = raw.split(|b| *b == 0).next().unwrap_or_default();
    let line = String::from_utf8_lossy(line).trim().to_owned();
    // Answers may be prefixed by the stream name and, with IDSESSION, an id.
    let body = line.strip_prefix("stream: ").unwrap_or(&line);
    if body == "OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(signature) = body.strip_suffix(" FOUND") {
        let signature = signature.trim().to_owned();
        return Ok(if signature.starts_with("Heuristics.Encrypted") {
            Verdict::Encrypted(signature)
        } else {
            Verdict::Infected(signature)
        });
    }
    if let Some(message) = body.strip_suffix(" ERROR") {
        let message = message.trim().trim_end_matches('.').to_owned();
        // An over-long stream is refused the same way on every attempt;
        // other errors (out of memory, a database reload) may pass.
        if message.contains("size limit exceeded") {
            return Ok(Verdict::Refused(message));
        }
        return Err(ScanError(format!("clamd error: {message}")));
    }
    Err(ScanError(format!("unexpected answer from clamd: {line:?}")))
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;

    #[test]
    fn answers_are_parsed() {
        assert_eq!(parse_reply(b"stream: OK\0").unwrap(), Verdict::Clean);
        assert_eq!(
            parse_reply(b"stream: Eicar-Signature FOUND\0").unwrap(),
            Verdict::Infected("Eicar-Signature".into())
        );
        assert_eq!(
            parse_reply(b"stream: Heuristics.Encrypted.PDF FOUND\0").unwrap(),
            Verdict::Encrypted("Heuristics.Encrypted.PDF".into())
        );
        assert_eq!(
            parse_reply(b"INSTREAM size limit exceeded. ERROR\0").unwrap(),
            Verdict::Refused("INSTREAM size limit exceeded".into())
        );
        assert!(parse_reply(b"Can't allocate memory ERROR\0").is_err());
        assert!(parse_reply(b"garbage").is_err());
    }

    /// A fake clamd: reads the INSTREAM framing, checks it, answers `answer`
    /// (or, when `limit` is given, the size-limit error once that many bytes
    /// arrived, closing the connection as clamd does).
    async fn fake_clamd(
        answer: &'static str,
        limit: Option<usize>,
    ) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut command = [0u8; 10];
            socket.read_exact(&mut command).await.unwrap();
            assert_eq!(&command, b"zINSTREAM\0");
            let mut received = Vec::new();
            loop {
                let mut len = [0u8; 4];
                socket.read_exact(&mut len).await.unwrap();
                let len = u32::from_be_bytes(len) as usize;
                assert!(len <= CHUNK_BYTES);
                if len == 0 {
                    break;
                }
                let mut chunk = vec![0u8; len];
                socket.read_exact(&mut chunk).await.unwrap();
                received.extend_from_slice(&chunk);
                if limit.is_some_and(|l| received.len() > l) {
                    socket
                        .write_all(b"INSTREAM size limit exceeded. ERROR\0")
                        .await
                        .unwrap();
                    return received;
                }
            }
            socket.write_all(answer.as_bytes()).await.unwrap();
            received
        });
        (addr, task)
    }

    #[tokio::test]
    async fn the_content_is_sent_in_chunks_and_the_answer_read() {
        let (addr, server) = fake_clamd("stream: OK\0", None).await;
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let verdict = Clamd::new(addr, Duration::from_secs(5))
            .scan(content.as_slice())
            .await
            .unwrap();
        assert_eq!(verdict, Verdict::Clean);
        assert_eq!(server.await.unwrap(), content);
    }

    #[tokio::test]
    async fn a_stream_over_the_limit_is_refused_not_clean() {
        let (addr, _server) = fake_clamd("stream: OK\0", Some(100_000)).await;
        let content = vec![b'x'; 2_000_000];
        let verdict = Clamd::new(addr, Duration::from_secs(5))
            .scan(content.as_slice())
            .await
            .unwrap();
        assert_eq!(
            verdict,
            Verdict::Refused("INSTREAM size limit exceeded".into())
        );
    }

    #[tokio::test]
    async fn an_unreachable_or_silent_clamd_is_an_error() {
        // A port nobody listens on.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let err = Clamd::new(&addr, Duration::from_secs(2))
            .scan(&b"x"[..])
            .await
            .unwrap_err();
        assert!(err.0.contains("cannot connect"), "{err}");

        // Accepts, reads, never answers.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut sink = vec![0u8; 1024];
            while socket.read(&mut sink).await.unwrap_or(0) > 0 {}
        });
        let err = Clamd::new(&addr, Duration::from_millis(300))
            .scan(&b"x"[..])
            .await
            .unwrap_err();
        assert!(err.0.contains("did not answer"), "{err}");
    }
}

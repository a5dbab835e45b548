//! Large uploads go to storage as the request arrives, read once.
//!
//! The multipart transport (`http::graphql`) hands each file part to a
//! [`FileSink`]. A file starts in an anonymous spool file, as every upload
//! did before; small files stay there and are checked and stored by
//! [`super::stage`] as before (their checks may read anywhere in the file).
//! Once a file passes [`STREAM_AFTER`] bytes, and its kind is one whose
//! checks need only its leading bytes plus scans that run chunk by chunk
//! ([`streamable`]: PDFs, pictures, audio and video containers, text), the
//! sink:
//!
//! 1. decides the kind from the first [`HEAD`] bytes (gathered across however
//!    many chunks they came in) with the same [`checks::check_sized`] the
//!    spooled path runs, so a spoofed type is refused the same way (and then
//!    the file simply stays spooled, to be refused by [`super::stage`]);
//! 2. starts a [`Storage::put`] under the key of a new document id, fed with
//!    the spooled bytes and then every further chunk as it arrives (S3: a
//!    multipart upload whose parts are cut from the request);
//! 3. hashes (SHA-256) and scans (a PDF's `/Encrypt`, a text file's control
//!    bytes) each chunk on the way.
//!
//! When the part ends, a scan that failed makes the upload fail rather than
//! complete (the S3 multipart upload is aborted, the local temporary file
//! removed), so a refused file leaves nothing; so does a request that fails or
//! stops mid-way (the feed ends without its end marker, which the storage
//! side reads as an error). A stored file is a [`StreamedFile`]; the
//! transport deletes every one no resolver claimed ([`StreamedSet`]), so an
//! upload refused later (not found, forbidden, another file refused) leaves
//! nothing either.
//!
//! Files of the other kinds (Office documents, XML, MHT, MP3, whose checks
//! read containers at any offset) stay spooled whatever their size: a
//! temporary full copy is unavoidable there.

use std::{
    collections::HashMap,
    io::{self, Cursor, SeekFrom},
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use bytes::Bytes;
use platform::storage::{Storage, StorageError, keys};
use sha2::{Digest, Sha256};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, ReadBuf},
    sync::mpsc,
    task::JoinHandle,
};
use uuid::Uuid;

use super::{
    checks::{self, Kind, Refusal},
    office::PdfNames,
};

/// A file longer than this (one S3 part) is streamed to storage when its
/// kind allows ([`streamable`]); shorter files stay spooled. Above the
/// housing-cost CSV limit, so such a CSV is always spooled.
pub const STREAM_AFTER: u64 = platform::storage::PART_SIZE as u64;

/// The leading bytes the type checks look at.
pub const HEAD: usize = 8192;

/// Chunks buffered between the request and the storage upload.
const FEED_CHUNKS: usize = 16;

/// The whole-file scan a streamable kind needs besides its leading bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// None: the leading bytes decide.
    None,
    /// A PDF: no `/Encrypt` name anywhere.
    Pdf,
    /// Text: no control bytes anywhere.
    Text,
}

/// Whether a file with this extension can be checked as it streams, and
/// with which scan.
pub fn streamable(ext: &str) -> Option<Scan> {
    match ext {
        "pdf" => Some(Scan::Pdf),
        "txt" | "csv" | "eml" => Some(Scan::Text),
        "jpg" | "jpeg" | "jpe" | "png" | "gif" | "bmp" | "tif" | "tiff" | "heic" | "heif"
        | "webp" | "ico" | "mp4" | "m4a" | "mov" | "wav" | "avi" | "wmv" | "mpg" | "mpeg"
        | "rtf" => Some(Scan::None),
        _ => None,
    }
}

/// A file stored while its request arrived, waiting for a resolver to claim
/// it as a document.
#[derive(Debug)]
pub struct StreamedFile {
    /// The document id its key is made of.
    pub id: Uuid,
    /// Its storage key.
    pub key: String,
    /// Bytes stored.
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// The checked kind, or why it is refused (then nothing was stored).
    pub outcome: Result<Kind, Refusal>,
    claimed: AtomicBool,
}

impl StreamedFile {
    /// Takes the stored object over (it becomes a document, or is deleted by
    /// the taker); `false` when it was taken already or nothing is stored.
    pub fn claim(&self) -> bool {
        self.outcome.is_ok() && !self.claimed.swap(true, Ordering::SeqCst)
    }

    fn orphaned(&self) -> bool {
        self.outcome.is_ok() && !self.claimed.load(Ordering::SeqCst)
    }
}

/// The streamed files of one GraphQL request, by the index of their
/// `Upload` (request data, read by `graphql::inputs::new_files`).
#[derive(Debug, Clone, Default)]
pub struct StreamedUploads(pub HashMap<usize, Arc<StreamedFile>>);

/// Every file a multipart request streamed: what no resolver claimed is
/// deleted by [`Self::cleanup`] (or, if the request is dropped before that,
/// by a task spawned on drop).
pub struct StreamedSet {
    storage: Storage,
    files: Vec<Arc<StreamedFile>>,
    cleaned: bool,
}

impl StreamedSet {
    /// An empty set.
    pub fn new(storage: Storage) -> Self {
        Self {
            storage,
            files: Vec::new(),
            cleaned: false,
        }
    }

    /// Adds a streamed file.
    pub fn push(&mut self, file: Arc<StreamedFile>) {
        self.files.push(file);
    }

    /// Deletes the stored files nobody claimed.
    pub async fn cleanup(mut self) {
        self.cleaned = true;
        delete_orphans(&self.storage, &self.files).await;
    }
}

impl Drop for StreamedSet {
    fn drop(&mut self) {
        if self.cleaned || !self.files.iter().any(|f| f.orphaned()) {
            return;
        }
        let storage = self.storage.clone();
        let files = std::mem::take(&mut self.files);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { delete_orphans(&storage, &files).await });
        }
    }
}

async fn delete_orphans(storage: &Storage, files: &[Arc<StreamedFile>]) {
    for f in files.iter().filter(|f| f.orphaned()) {
        // Claim it so a concurrent resolver cannot take it as it goes.
        f.claimed.store(true, Ordering::SeqCst);
        if let Err(e) = storage.delete(&f.key).await {
            tracing::warn!(key = %f.key, error = %e, "could not delete an unclaimed streamed upload");
        }
    }
}

fn io_error(e: io::Error) -> StorageError {
    StorageError::Backend(format!("spooling an upload: {e}"))
}

/// What a received file part became.
pub enum Received {
    /// A spool file (rewound), for [`super::stage`]'s checks.
    Spooled(std::fs::File),
    /// Stored (or refused) while it arrived.
    Streamed(Arc<StreamedFile>),
}

/// A message of the feed from the request to the storage upload.
enum Feed {
    Data(Bytes),
    /// The part ended and passed its scans: the upload may complete.
    End,
    /// The part ended but is refused, or the request failed: abort.
    Fail(String),
}

enum State {
    Spooling(tokio::fs::File),
    Streaming {
        tx: mpsc::Sender<Feed>,
        put: JoinHandle<Result<u64, StorageError>>,
        id: Uuid,
        key: String,
        kind: Kind,
    },
    Done,
}

/// Receives one file part: spools it, and past [`STREAM_AFTER`] streams it
/// to storage (module docs).
pub struct FileSink {
    storage: Storage,
    name: String,
    scan: Option<Scan>,
    hasher: Sha256,
    head: Vec<u8>,
    size: u64,
    pdf: PdfNames,
    pdf_encrypted: bool,
    text: bool,
    state: State,
}

impl FileSink {
    /// A sink for the part whose client file name is `filename`.
    pub fn new(storage: Storage, filename: &str) -> io::Result<Self> {
        let name = checks::display_name(filename);
        let scan = checks::extension(&name).and_then(|e| streamable(&e));
        Ok(Self {
            storage,
            name,
            scan,
            hasher: Sha256::new(),
            head: Vec::with_capacity(HEAD),
            size: 0,
            pdf: PdfNames::default(),
            pdf_encrypted: false,
            text: true,
            state: State::Spooling(tokio::fs::File::from_std(tempfile::tempfile()?)),
        })
    }

    /// Takes the next chunk of the part.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), StorageError> {
        if self.scan.is_some() {
            self.hasher.update(&chunk);
            if self.head.len() < HEAD {
                let take = (HEAD - self.head.len()).min(chunk.len());
                self.head.extend_from_slice(&chunk[..take]);
            }
            match self.scan {
                Some(Scan::Pdf) if !self.pdf_encrypted => {
                    self.pdf_encrypted = self.pdf.feed(&chunk);
                }
                Some(Scan::Text) if self.text => self.text = checks::is_text_bytes(&chunk),
                _ => {}
            }
        }
        let before = self.size;
        self.size += chunk.len() as u64;
        let switch = matches!(self.state, State::Spooling(_))
            && self.scan.is_some()
            && before <= STREAM_AFTER
            && self.size > STREAM_AFTER;
        let kind = if switch { self.head_kind() } else { None };
        if let State::Spooling(spool) = &mut self.state {
            if kind.is_none() {
                return spool.write_all(&chunk).await.map_err(io_error);
            }
            spool.flush().await.map_err(io_error)?;
            spool.seek(SeekFrom::Start(0)).await.map_err(io_error)?;
        }
        if let Some(kind) = kind {
            let State::Spooling(spool) = std::mem::replace(&mut self.state, State::Done) else {
                unreachable!("spooling")
            };
            self.start_streaming(spool, kind);
        }
        let State::Streaming { tx, .. } = &self.state else {
            return Ok(());
        };
        if tx.send(Feed::Data(chunk)).await.is_err() {
            // The upload stopped: its error says why.
            return Err(self
                .stop()
                .await
                .unwrap_or_else(|| StorageError::Backend("the storage upload stopped".into())));
        }
        Ok(())
    }

    /// The kind the leading bytes show, when they pass.
    fn head_kind(&self) -> Option<Kind> {
        let mut head = Cursor::new(&self.head[..]);
        match checks::check_sized(&self.name, &mut head, self.head.len() as u64) {
            Ok(Ok(kind)) => Some(kind),
            _ => None,
        }
    }

    fn start_streaming(&mut self, spool: tokio::fs::File, kind: Kind) {
        let id = Uuid::now_v7();
        let key = keys::document(id);
        let (tx, rx) = mpsc::channel(FEED_CHUNKS);
        let reader = spool.chain(FeedReader {
            rx,
            current: Bytes::new(),
            ended: false,
        });
        let storage = self.storage.clone();
        let put_key = key.clone();
        let put = tokio::spawn(async move {
            let mut reader = reader;
            storage
                .put(&put_key, &mut reader, kind.content_type())
                .await
        });
        self.state = State::Streaming {
            tx,
            put,
            id,
            key,
            kind,
        };
    }

    /// The request failed before the part ended: nothing is kept (an upload
    /// under way is aborted).
    pub async fn fail(mut self) {
        if let State::Streaming { tx, .. } = &self.state {
            let _ = tx.send(Feed::Fail("the request failed".into())).await;
        }
        let _ = self.stop().await;
    }

    /// Waits for a streaming upload to end (after the feed closed or
    /// failed); its error, if any.
    async fn stop(&mut self) -> Option<StorageError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Streaming { tx, put, .. } => {
                drop(tx);
                match put.await {
                    Ok(Ok(_)) => None,
                    Ok(Err(e)) => Some(e),
                    Err(e) => Some(StorageError::Backend(format!("upload task: {e}"))),
                }
            }
            _ => None,
        }
    }

    /// The part ended.
    pub async fn finish(mut self) -> Result<Received, StorageError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Spooling(mut spool) => {
                spool.flush().await.map_err(io_error)?;
                spool.seek(SeekFrom::Start(0)).await.map_err(io_error)?;
                Ok(Received::Spooled(spool.into_std().await))
            }
            State::Streaming {
                tx,
                put,
                id,
                key,
                kind,
            } => {
                let refusal = if self.pdf_encrypted || self.pdf.finish() {
                    Some(checks::encrypted(&self.name))
                } else if !self.text {
                    Some(checks::mismatch(&self.name, "text"))
                } else {
                    None
                };
                let feed = match &refusal {
                    None => Feed::End,
                    Some(r) => Feed::Fail(r.message().to_owned()),
                };
                // A send error means the upload already stopped: its result says why.
                let _ = tx.send(feed).await;
                drop(tx);
                let stored = put
                    .await
                    .map_err(|e| StorageError::Backend(format!("upload task: {e}")))?;
                let outcome = match (stored, refusal) {
                    (Ok(_), None) => Ok(kind),
                    (Err(StorageError::Source(_)), Some(refusal)) => Err(refusal),
                    (Ok(_), Some(refusal)) => {
                        // Cannot happen (the feed failed), but never keep a refused file.
                        self.storage.delete(&key).await?;
                        Err(refusal)
                    }
                    (Err(e), _) => return Err(e),
                };
                let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
                Ok(Received::Streamed(Arc::new(StreamedFile {
                    id,
                    key,
                    size: self.size,
                    sha256,
                    outcome,
                    claimed: AtomicBool::new(false),
                })))
            }
            State::Done => Err(StorageError::Backend("the upload already ended".into())),
        }
    }
}

/// The storage side of the feed: the chunks, then EOF only after
/// [`Feed::End`]; a failure, or the sender going away without an end (the
/// request dropped), is a read error, which makes the upload fail and leave
/// nothing.
struct FeedReader {
    rx: mpsc::Receiver<Feed>,
    current: Bytes,
    ended: bool,
}

impl AsyncRead for FeedReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.current.is_empty() {
                let n = self.current.len().min(buf.remaining());
                let chunk = self.current.split_to(n);
                buf.put_slice(&chunk);
                return Poll::Ready(Ok(()));
            }
            if self.ended {
                return Poll::Ready(Ok(()));
            }
            match self.rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Feed::Data(chunk))) => self.current = chunk,
                Poll::Ready(Some(Feed::End)) => self.ended = true,
                Poll::Ready(Some(Feed::Fail(why))) => {
                    return Poll::Ready(Err(io::Error::other(why)));
                }
                Poll::Ready(None) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the upload's request ended before the file did",
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn local() -> (tempfile::TempDir, Storage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::Local(Arc::new(
            platform::storage::LocalStorage::open(
                dir.path().to_path_buf(),
                "http://portal.test/".parse().unwrap(),
            )
            .await
            .unwrap(),
        ));
        (dir, storage)
    }

    fn objects(dir: &std::path::Path) -> usize {
        fn walk(d: &std::path::Path) -> usize {
            std::fs::read_dir(d)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| {
                            if e.path().is_dir() {
                                walk(&e.path())
                            } else {
                                1
                            }
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        walk(dir)
    }

    /// `bytes` fed in chunks of `chunk` bytes.
    async fn receive(storage: &Storage, name: &str, bytes: &[u8], chunk: usize) -> Received {
        let mut sink = FileSink::new(storage.clone(), name).unwrap();
        for c in bytes.chunks(chunk) {
            sink.write(Bytes::copy_from_slice(c)).await.unwrap();
        }
        sink.finish().await.unwrap()
    }

    fn big_pdf(extra: &[u8]) -> Vec<u8> {
        let mut pdf = b"%PDF-1.7\n".to_vec();
        pdf.resize(STREAM_AFTER as usize + 300_000, b'x');
        pdf.extend_from_slice(extra);
        pdf
    }

    #[tokio::test]
    async fn a_large_pdf_is_stored_as_it_arrives_with_its_hash() {
        let (dir, storage) = local().await;
        let pdf = big_pdf(b"\n%%EOF");
        let Received::Streamed(file) = receive(&storage, "big.pdf", &pdf, 65_536).await else {
            panic!("not streamed");
        };
        assert_eq!(file.outcome, Ok(Kind::Pdf));
        assert_eq!(file.size, pdf.len() as u64);
        assert_eq!(file.sha256, hex::encode(Sha256::digest(&pdf)));
        let mut back = Vec::new();
        storage
            .get(&file.key)
            .await
            .unwrap()
            .read_to_end(&mut back)
            .await
            .unwrap();
        assert!(back == pdf, "stored bytes differ");
        assert!(file.claim());
        assert!(!file.claim(), "claimed twice");
        drop(dir);
    }

    #[tokio::test]
    async fn the_leading_bytes_decide_across_chunk_boundaries() {
        let (dir, storage) = local().await;
        // A PNG named .pdf, arriving three bytes at a time at first: stays
        // spooled, and the spooled check refuses it.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.resize(STREAM_AFTER as usize + 10, 0);
        let mut sink = FileSink::new(storage.clone(), "scan.pdf").unwrap();
        for c in png[..30].chunks(3) {
            sink.write(Bytes::copy_from_slice(c)).await.unwrap();
        }
        sink.write(Bytes::copy_from_slice(&png[30..]))
            .await
            .unwrap();
        let Received::Spooled(mut spool) = sink.finish().await.unwrap() else {
            panic!("a spoofed PDF was streamed");
        };
        assert!(matches!(
            checks::check("scan.pdf", &mut spool).unwrap(),
            Err(Refusal::Mismatch(_))
        ));
        // A real PDF header split over chunks is recognised.
        let pdf = big_pdf(b"");
        let mut sink = FileSink::new(storage.clone(), "real.pdf").unwrap();
        for c in pdf[..12].chunks(2) {
            sink.write(Bytes::copy_from_slice(c)).await.unwrap();
        }
        for c in pdf[12..].chunks(1 << 20) {
            sink.write(Bytes::copy_from_slice(c)).await.unwrap();
        }
        let Received::Streamed(file) = sink.finish().await.unwrap() else {
            panic!("not streamed");
        };
        assert_eq!(file.outcome, Ok(Kind::Pdf));
        assert_eq!(objects(dir.path()), 1);
    }

    #[tokio::test]
    async fn a_refusal_found_at_the_end_stores_nothing() {
        let (dir, storage) = local().await;
        // `/Encrypt` split across two chunks at the very end.
        let pdf = big_pdf(b"\ntrailer << /Root 1 0 R /Encrypt 5 0 R >>\n%%EOF");
        let split = pdf.len() - 30;
        let mut sink = FileSink::new(storage.clone(), "secret.pdf").unwrap();
        for c in pdf[..split].chunks(1 << 20) {
            sink.write(Bytes::copy_from_slice(c)).await.unwrap();
        }
        sink.write(Bytes::copy_from_slice(&pdf[split..]))
            .await
            .unwrap();
        let Received::Streamed(file) = sink.finish().await.unwrap() else {
            panic!("not streamed");
        };
        assert!(matches!(&file.outcome, Err(Refusal::Encrypted(m)) if m.contains("secret.pdf")));
        assert!(!file.claim());
        let mut text = b"hello\n".to_vec();
        text.resize(STREAM_AFTER as usize + 100, b'a');
        text.push(0);
        let Received::Streamed(file) = receive(&storage, "notes.txt", &text, 1 << 16).await else {
            panic!("not streamed");
        };
        assert!(matches!(&file.outcome, Err(Refusal::Mismatch(m)) if m.contains("not text")));
        assert_eq!(objects(dir.path()), 0);
    }

    #[tokio::test]
    async fn an_upload_stopped_mid_stream_stores_nothing() {
        let (dir, storage) = local().await;
        let pdf = big_pdf(b"");
        // The request fails.
        let mut sink = FileSink::new(storage.clone(), "a.pdf").unwrap();
        for c in pdf.chunks(1 << 20) {
            sink.write(Bytes::copy_from_slice(c)).await.unwrap();
        }
        sink.fail().await;
        // The request is dropped (the client went away).
        let mut sink = FileSink::new(storage.clone(), "b.pdf").unwrap();
        for c in pdf.chunks(1 << 20) {
            sink.write(Bytes::copy_from_slice(c)).await.unwrap();
        }
        drop(sink);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(objects(dir.path()), 0);
    }

    #[tokio::test]
    async fn unclaimed_files_are_deleted() {
        let (dir, storage) = local().await;
        let pdf = big_pdf(b"");
        let mut set = StreamedSet::new(storage.clone());
        for name in ["a.pdf", "b.pdf"] {
            let Received::Streamed(file) = receive(&storage, name, &pdf, 1 << 20).await else {
                panic!("not streamed");
            };
            set.push(file);
        }
        assert_eq!(objects(dir.path()), 2);
        assert!(set.files[0].claim());
        set.cleanup().await;
        assert_eq!(objects(dir.path()), 1);
    }
}

//! Whether an upload is password-protected, decided from the file's
//! structure rather than by looking for a word in its bytes.
//!
//! - **PDF**: a protected PDF names an `/Encrypt` dictionary in its trailer
//!   (or, with cross-reference streams, in the xref stream's dictionary,
//!   which is never inside a compressed object stream). [`pdf_encrypted`]
//!   reads every PDF *name token* in the file, decoding `#xx` escapes as PDF
//!   readers do, so `/Encr#79pt` is `/Encrypt` too. (A full parser such as
//!   `lopdf` would hold the whole object graph of a 55 MiB upload in memory;
//!   the key can only appear as a name token, which a streaming tokenizer
//!   finds in constant memory.)
//! - **OLE2** (`.doc`, `.xls`, `.ppt`, and a protected `.docx`/`.xlsx`/`.pptx`,
//!   which is an OLE2 container): [`ole2_encrypted`] opens the compound file
//!   with the `cfb` crate and reads its stream directory: `EncryptionInfo` /
//!   `EncryptedPackage` (protected OOXML), `EncryptedSummary` (PowerPoint),
//!   the `fEncrypted` flag of the Word FIB (`WordDocument` stream, offset
//!   0x0A, bit 0x0100), or a `FILEPASS` record (0x002F) in the Excel
//!   workbook globals (`Workbook` / `Book` stream).

use std::io::{self, Read, Seek, SeekFrom};

/// The characters that end a PDF name (whitespace and delimiters).
fn ends_name(b: u8) -> bool {
    matches!(
        b,
        b'\0'
            | b'\t'
            | b'\n'
            | b'\x0c'
            | b'\r'
            | b' '
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes a raw PDF name (without the slash): `#xx` is the byte `xx`.
fn decode_name(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'#'
            && let (Some(h), Some(l)) = (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// Longest name kept while scanning (PDF names are at most 127 bytes).
const MAX_NAME: usize = 127 * 3;

/// Whether the PDF names an `Encrypt` key anywhere (module docs).
pub fn pdf_encrypted(file: &mut (impl Read + Seek)) -> io::Result<bool> {
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut names = PdfNames::default();
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if names.feed(&buf[..n]) {
            return Ok(true);
        }
    }
    Ok(names.finish())
}

/// The PDF name tokenizer of [`pdf_encrypted`], fed chunk by chunk (a name
/// split across chunks is still one name), so a streamed upload is checked
/// as it passes.
#[derive(Debug, Default)]
pub struct PdfNames {
    /// The name being read (after its `/`), if any.
    name: Option<Vec<u8>>,
}

impl PdfNames {
    /// Reads `chunk`; `true` once an `Encrypt` name has been seen.
    pub fn feed(&mut self, chunk: &[u8]) -> bool {
        let mut i = 0;
        while i < chunk.len() {
            if self.name.is_none() {
                // Outside a name only a `/` matters: skip to the next one.
                match chunk[i..].iter().position(|&b| b == b'/') {
                    Some(at) => {
                        self.name = Some(Vec::new());
                        i += at + 1;
                    }
                    None => return false,
                }
                continue;
            }
            let b = chunk[i];
            i += 1;
            let current = self.name.as_mut().expect("inside a name");
            if ends_name(b) {
                if decode_name(current) == b"Encrypt" {
                    return true;
                }
                self.name = (b == b'/').then(Vec::new);
            } else if current.len() < MAX_NAME {
                current.push(b);
            }
        }
        false
    }

    /// At the end of the file: whether the last name was `Encrypt`.
    pub fn finish(&self) -> bool {
        self.name
            .as_ref()
            .is_some_and(|n| decode_name(n) == b"Encrypt")
    }
}

/// Whether an OLE2 compound file is password-protected (module docs);
/// `None` when it is not a readable compound file at all.
pub fn ole2_encrypted(file: &mut (impl Read + Seek)) -> io::Result<Option<bool>> {
    file.seek(SeekFrom::Start(0))?;
    let Ok(mut compound) = cfb::CompoundFile::open(&mut *file) else {
        return Ok(None);
    };
    for marker in ["/EncryptionInfo", "/EncryptedPackage", "/EncryptedSummary"] {
        if compound.is_stream(marker) {
            return Ok(Some(true));
        }
    }
    if compound.is_stream("/WordDocument") {
        let mut fib = [0u8; 12];
        let mut stream = compound.open_stream("/WordDocument")?;
        if stream.read_exact(&mut fib).is_ok() {
            let flags = u16::from_le_bytes([fib[10], fib[11]]);
            if flags & 0x0100 != 0 {
                return Ok(Some(true));
            }
        }
    }
    for workbook in ["/Workbook", "/Book"] {
        if compound.is_stream(workbook) {
            let mut stream = compound.open_stream(workbook)?;
            if biff_has_filepass(&mut stream)? {
                return Ok(Some(true));
            }
        }
    }
    Ok(Some(false))
}

/// Whether the workbook globals (the records before the first `EOF`) hold a
/// `FILEPASS` record. At most 4,096 records are read.
fn biff_has_filepass(stream: &mut impl Read) -> io::Result<bool> {
    const FILEPASS: u16 = 0x002F;
    const EOF: u16 = 0x000A;
    let mut header = [0u8; 4];
    let mut body = vec![0u8; 8224];
    for _ in 0..4096 {
        if stream.read_exact(&mut header).is_err() {
            return Ok(false);
        }
        let kind = u16::from_le_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
        match kind {
            FILEPASS => return Ok(true),
            EOF => return Ok(false),
            _ => {}
        }
        let len = len.min(body.len());
        if stream.read_exact(&mut body[..len]).is_err() {
            return Ok(false);
        }
    }
    Ok(false)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::{
        fs::File,
        io::{Cursor, Write},
    };

    pub fn file_of(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    /// A compound file with the given streams.
    pub fn compound(streams: &[(&str, &[u8])]) -> Vec<u8> {
        let mut cursor = Cursor::new(Vec::new());
        {
            let mut compound = cfb::CompoundFile::create(&mut cursor).unwrap();
            for (path, content) in streams {
                let mut stream = compound.create_stream(path).unwrap();
                stream.write_all(content).unwrap();
            }
            compound.flush().unwrap();
        }
        cursor.into_inner()
    }

    #[test]
    fn pdf_names_are_decoded_before_they_are_compared() {
        for (body, encrypted) in [
            (&b"trailer << /Root 1 0 R /Encrypt 5 0 R >>"[..], true),
            (b"trailer<</Encr#79pt 5 0 R/Root 1 0 R>>", true),
            (b"<</#45#6e#63#72#79#70#74 5 0 R>>", true),
            (b"<</EncryptMetadata false>>", false),
            (b"<</Root 1 0 R>> % no Encrypt here", false),
            (b"(a string /Encrypted) /Encrypt", true),
        ] {
            let mut file = file_of(body);
            assert_eq!(
                pdf_encrypted(&mut file).unwrap(),
                encrypted,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_name_split_across_reads_is_still_found() {
        let mut bytes = vec![b' '; 64 * 1024 - 4];
        bytes.extend_from_slice(b"/Encr#79pt 5 0 R");
        assert!(pdf_encrypted(&mut file_of(&bytes)).unwrap());
    }

    #[test]
    fn protected_office_files_are_found_from_their_streams() {
        let mut fib = [0u8; 32];
        let plain = compound(&[("/WordDocument", &fib)]);
        assert_eq!(ole2_encrypted(&mut file_of(&plain)).unwrap(), Some(false));
        fib[11] = 0x01; // fEncrypted
        let word = compound(&[("/WordDocument", &fib)]);
        assert_eq!(ole2_encrypted(&mut file_of(&word)).unwrap(), Some(true));

        // BOF, then FILEPASS, in the workbook globals.
        let mut biff = vec![0x09, 0x08, 0x04, 0x00, 0, 6, 0x10, 0];
        biff.extend_from_slice(&[0x2F, 0x00, 0x02, 0x00, 0x01, 0x00]);
        let excel = compound(&[("/Workbook", &biff)]);
        assert_eq!(ole2_encrypted(&mut file_of(&excel)).unwrap(), Some(true));
        let open_excel = compound(&[("/Workbook", &biff[..8])]);
        assert_eq!(
            ole2_encrypted(&mut file_of(&open_excel)).unwrap(),
            Some(false)
        );

        let ooxml = compound(&[("/EncryptionInfo", b"x"), ("/EncryptedPackage", b"y")]);
        assert_eq!(ole2_encrypted(&mut file_of(&ooxml)).unwrap(), Some(true));
        let ppt = compound(&[("/PowerPoint Document", b"x"), ("/EncryptedSummary", b"y")]);
        assert_eq!(ole2_encrypted(&mut file_of(&ppt)).unwrap(), Some(true));

        let mut not_compound = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        not_compound.extend_from_slice(&[0; 100]);
        assert_eq!(ole2_encrypted(&mut file_of(&not_compound)).unwrap(), None);
    }
}

//! What a file must be before it is kept: an allowed extension, content
//! (magic bytes, container structure) consistent with that extension, not
//! password-protected, not empty. The client's declared content type is never
//! trusted: the stored type is the one of the checked kind.
//!
//! Allowed (the seed's "Notes about uploading documents"): common picture
//! files, Microsoft Office documents, PDFs, emails (`.eml`, `.msg`) and text.
//! Refused with a specific reason: OpenDocument (`.odt` ...), archives
//! (`.zip`, `.7z`, `.rar` ...), executables, and password-protected PDFs and
//! Office files.
//!
//! The checks read the spooled file with blocking I/O; callers run them on a
//! blocking thread. Only bounded windows are held in memory.

use std::{
    fs::File,
    io::{self, Read, Seek, SeekFrom},
};

/// A kind of file the portal accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pdf,
    Jpeg,
    Png,
    Gif,
    Bmp,
    Tiff,
    Heic,
    Webp,
    /// Legacy Office (`.doc`, `.xls`, `.ppt`) and Outlook `.msg`: OLE2.
    Ole2(&'static str),
    /// Office Open XML: a zip with `[Content_Types].xml` and the part folder.
    Ooxml(&'static str),
    /// Plain text, CSV, `.eml`.
    Text(&'static str),
    /// Rich Text Format.
    Rtf,
}

impl Kind {
    /// The stored `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Bmp => "image/bmp",
            Self::Tiff => "image/tiff",
            Self::Heic => "image/heic",
            Self::Webp => "image/webp",
            Self::Ole2(t) | Self::Ooxml(t) | Self::Text(t) => t,
            Self::Rtf => "application/rtf",
        }
    }
}

/// Why a file is refused (the message names the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an accepted type at all.
    Type(String),
    /// The content is not what the extension says.
    Mismatch(String),
    /// Password-protected.
    Encrypted(String),
    /// Nothing in it.
    Empty(String),
}

impl Refusal {
    /// The reason shown to the user.
    pub fn message(&self) -> &str {
        match self {
            Self::Type(m) | Self::Mismatch(m) | Self::Encrypted(m) | Self::Empty(m) => m,
        }
    }
}

const OLE2_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// The extensions accepted, for messages and the README.
pub const ALLOWED_EXTENSIONS: &[&str] = &[
    "pdf", "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "heic", "heif", "webp", "doc",
    "docx", "xls", "xlsx", "ppt", "pptx", "msg", "eml", "txt", "csv", "rtf",
];

/// The lower-case extension of a display name.
pub fn extension(filename: &str) -> Option<String> {
    let (stem, ext) = filename.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// A display name: control characters dropped, path separators replaced,
/// trimmed, at most 255 characters (the extension kept).
pub fn display_name(raw: &str) -> String {
    // Browsers may send a full path (old IE): keep the last segment.
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    let cleaned = cleaned.trim().to_owned();
    const MAX: usize = 255;
    if cleaned.chars().count() <= MAX {
        return cleaned;
    }
    match cleaned.rsplit_once('.') {
        Some((stem, ext)) if ext.chars().count() < 16 => {
            let keep = MAX - 1 - ext.chars().count();
            format!("{}.{ext}", stem.chars().take(keep).collect::<String>())
        }
        _ => cleaned.chars().take(MAX).collect(),
    }
}

/// Checks the file against its name's extension; the accepted kind or why not.
pub fn check(name: &str, file: &mut File) -> io::Result<Result<Kind, Refusal>> {
    let Some(ext) = extension(name) else {
        return Ok(Err(Refusal::Type(format!(
            "\"{name}\" has no file extension, so its type cannot be checked. Accepted types: {}.",
            ALLOWED_EXTENSIONS.join(", ")
        ))));
    };
    let size = file.metadata()?.len();
    if size == 0 {
        return Ok(Err(Refusal::Empty(format!("\"{name}\" is empty."))));
    }
    file.seek(SeekFrom::Start(0))?;
    let mut head = vec![0u8; 8192];
    let n = read_up_to(file, &mut head)?;
    head.truncate(n);

    let mismatch = |what: &str| {
        Ok(Err(Refusal::Mismatch(format!(
            "\"{name}\" does not contain what its extension says: it is not {what}."
        ))))
    };
    let kind = match ext.as_str() {
        "pdf" => {
            // At the very start: a file that is something else first and a
            // PDF later (a polyglot) is not a PDF here.
            if !head.starts_with(b"%PDF-") {
                return mismatch("a PDF");
            }
            if super::office::pdf_encrypted(file)? {
                return Ok(Err(encrypted(name)));
            }
            Kind::Pdf
        }
        "jpg" | "jpeg" if head.starts_with(&[0xFF, 0xD8, 0xFF]) => Kind::Jpeg,
        "jpg" | "jpeg" => return mismatch("a JPEG picture"),
        "png" if head.starts_with(b"\x89PNG\r\n\x1a\n") => Kind::Png,
        "png" => return mismatch("a PNG picture"),
        "gif" if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") => Kind::Gif,
        "gif" => return mismatch("a GIF picture"),
        "bmp" if head.starts_with(b"BM") && head.len() >= 26 => Kind::Bmp,
        "bmp" => return mismatch("a BMP picture"),
        "tif" | "tiff" if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") => Kind::Tiff,
        "tif" | "tiff" => return mismatch("a TIFF picture"),
        "heic" | "heif" => {
            let brand = head.get(8..12).unwrap_or_default();
            if head.get(4..8) == Some(b"ftyp")
                && [
                    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
                ]
                .iter()
                .any(|b| brand == *b)
            {
                Kind::Heic
            } else {
                return mismatch("a HEIC picture");
            }
        }
        "webp" if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") => Kind::Webp,
        "webp" => return mismatch("a WebP picture"),
        "doc" | "xls" | "ppt" | "msg" => {
            let what = match ext.as_str() {
                "msg" => "an Outlook message",
                _ => "a Microsoft Office document",
            };
            if !head.starts_with(OLE2_MAGIC) {
                return mismatch(what);
            }
            match super::office::ole2_encrypted(file)? {
                None => return mismatch(what),
                Some(true) => return Ok(Err(encrypted(name))),
                Some(false) => {}
            }
            Kind::Ole2(match ext.as_str() {
                "doc" => "application/msword",
                "xls" => "application/vnd.ms-excel",
                "ppt" => "application/vnd.ms-powerpoint",
                _ => "application/vnd.ms-outlook",
            })
        }
        "docx" | "xlsx" | "pptx" => {
            let (folder, content_type) = match ext.as_str() {
                "docx" => (
                    "word/",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                ),
                "xlsx" => (
                    "xl/",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
                _ => (
                    "ppt/",
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                ),
            };
            if head.starts_with(OLE2_MAGIC) {
                // A password-protected OOXML file is an OLE2 container holding
                // the encrypted package.
                if super::office::ole2_encrypted(file)? == Some(true) {
                    return Ok(Err(encrypted(name)));
                }
                return mismatch("a Microsoft Office document");
            }
            if !head.starts_with(ZIP_MAGIC) {
                return mismatch("a Microsoft Office document");
            }
            let names = zip_entry_names(file, size)?;
            let has = |n: &str| names.iter().any(|e| e == n);
            if !has("[Content_Types].xml") || !names.iter().any(|e| e.starts_with(folder)) {
                return mismatch("a Microsoft Office document of this kind");
            }
            if names
                .iter()
                .any(|e| e.eq_ignore_ascii_case("EncryptedPackage"))
            {
                return Ok(Err(encrypted(name)));
            }
            Kind::Ooxml(content_type)
        }
        "txt" | "csv" | "eml" => {
            if head.starts_with(b"%PDF-")
                || head.starts_with(ZIP_MAGIC)
                || head.starts_with(OLE2_MAGIC)
                || !is_text(file)?
            {
                return mismatch("text");
            }
            Kind::Text(match ext.as_str() {
                "txt" => "text/plain; charset=utf-8",
                "csv" => "text/csv; charset=utf-8",
                _ => "message/rfc822",
            })
        }
        "rtf" if head.starts_with(b"{\\rtf") => Kind::Rtf,
        "rtf" => return mismatch("a Rich Text document"),
        "odt" | "ods" | "odp" | "odg" => {
            return Ok(Err(Refusal::Type(format!(
                "\"{name}\" is an OpenDocument file, which is not accepted. Save it as a Word document (.docx) or a PDF and upload that."
            ))));
        }
        "zip" | "7z" | "rar" | "gz" | "tgz" | "tar" | "bz2" | "xz" | "zst" | "cab" | "arj" => {
            return Ok(Err(Refusal::Type(format!(
                "\"{name}\" is a compressed archive, which is not accepted. Upload the files it contains instead."
            ))));
        }
        _ => {
            return Ok(Err(Refusal::Type(format!(
                "\"{name}\" is not an accepted type of file (.{ext}). Accepted types: {}.",
                ALLOWED_EXTENSIONS.join(", ")
            ))));
        }
    };
    Ok(Ok(kind))
}

fn encrypted(name: &str) -> Refusal {
    Refusal::Encrypted(format!(
        "\"{name}\" is password-protected. Remove the password and upload it again."
    ))
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Text: no NUL bytes and no control characters other than tab, line
/// breaks, form feed and escape (UTF-8 and 8-bit encodings both pass).
fn is_text(file: &mut File) -> io::Result<bool> {
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(true);
        }
        if buf[..n]
            .iter()
            .any(|b| *b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B) || *b == 0x7F)
        {
            return Ok(false);
        }
    }
}

/// The entry names of a zip's central directory (empty if it has none or
/// it is malformed). Reads only the end of the file and the directory, at
/// most 4 MiB of it.
fn zip_entry_names(file: &mut File, size: u64) -> io::Result<Vec<String>> {
    // End of central directory: 22 bytes + a comment of up to 64 KiB.
    let tail_len = size.min(22 + 65_535);
    file.seek(SeekFrom::Start(size - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    read_up_to(file, &mut tail)?;
    let Some(eocd) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
    else {
        return Ok(vec![]);
    };
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as usize;
    let u32_at =
        |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as u64;
    let entries = u16_at(&tail, eocd + 10);
    let dir_size = u32_at(&tail, eocd + 12);
    let dir_offset = u32_at(&tail, eocd + 16);
    if dir_offset + dir_size > size || dir_size > 4 * 1024 * 1024 {
        return Ok(vec![]);
    }
    file.seek(SeekFrom::Start(dir_offset))?;
    let mut dir = vec![0u8; dir_size as usize];
    read_up_to(file, &mut dir)?;
    let mut names = Vec::with_capacity(entries);
    let mut i = 0;
    while names.len() < entries && i + 46 <= dir.len() && dir[i..].starts_with(b"PK\x01\x02") {
        let name_len = u16_at(&dir, i + 28);
        let extra_len = u16_at(&dir, i + 30);
        let comment_len = u16_at(&dir, i + 32);
        let Some(name) = dir.get(i + 46..i + 46 + name_len) else {
            break;
        };
        names.push(String::from_utf8_lossy(name).into_owned());
        i += 46 + name_len + extra_len + comment_len;
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn check_bytes(name: &str, bytes: &[u8]) -> Result<Kind, Refusal> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        check(name, &mut file).unwrap()
    }

    /// A minimal zip (stored entries, with a central directory).
    pub fn zip(entries: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for name in entries {
            let offset = out.len() as u32;
            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(name.as_bytes());
            central.extend_from_slice(b"PK\x01\x02");
            central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let dir_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&dir_offset.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out
    }

    #[test]
    fn accepted_kinds_and_their_stored_types() {
        assert_eq!(check_bytes("a.pdf", b"%PDF-1.7\n...").unwrap(), Kind::Pdf);
        assert_eq!(
            check_bytes("A.JPG", &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]).unwrap(),
            Kind::Jpeg
        );
        assert_eq!(
            check_bytes("a.png", b"\x89PNG\r\n\x1a\nrest").unwrap(),
            Kind::Png
        );
        assert_eq!(
            check_bytes("a.txt", "héllo\r\nworld\t".as_bytes())
                .unwrap()
                .content_type(),
            "text/plain; charset=utf-8"
        );
        let docx = zip(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"]);
        assert!(matches!(
            check_bytes("letter.docx", &docx).unwrap(),
            Kind::Ooxml(_)
        ));
        let msg = crate::documents::office::tests::compound(&[("/__substg1.0_0037001F", b"s")]);
        assert_eq!(
            check_bytes("mail.msg", &msg).unwrap().content_type(),
            "application/vnd.ms-outlook"
        );
    }

    #[test]
    fn refusals_say_why() {
        assert!(matches!(
            check_bytes("a.pdf", b"\x89PNG\r\n\x1a\n"),
            Err(Refusal::Mismatch(_))
        ));
        assert!(
            matches!(check_bytes("a.odt", &zip(&["mimetype"])), Err(Refusal::Type(m)) if m.contains("OpenDocument"))
        );
        assert!(
            matches!(check_bytes("a.zip", &zip(&["x"])), Err(Refusal::Type(m)) if m.contains("archive"))
        );
        assert!(matches!(check_bytes("a.exe", b"MZ"), Err(Refusal::Type(_))));
        assert!(matches!(check_bytes("noext", b"x"), Err(Refusal::Type(_))));
        assert!(matches!(check_bytes("a.txt", b""), Err(Refusal::Empty(_))));
        assert!(matches!(
            check_bytes("a.txt", b"a\0b"),
            Err(Refusal::Mismatch(_))
        ));
        // A zip renamed .docx without the Word part.
        let xlsx = zip(&["[Content_Types].xml", "xl/workbook.xml"]);
        assert!(matches!(
            check_bytes("a.docx", &xlsx),
            Err(Refusal::Mismatch(_))
        ));
        assert!(matches!(
            check_bytes("a.docx", &zip(&["word/document.xml"])),
            Err(Refusal::Mismatch(_))
        ));
    }

    #[test]
    fn password_protected_files_are_refused_as_such() {
        let mut pdf = b"%PDF-1.6\n".to_vec();
        pdf.extend(std::iter::repeat_n(b'x', 100_000));
        pdf.extend_from_slice(b"\ntrailer << /Root 1 0 R /Encrypt 5 0 R >>\n%%EOF");
        assert!(
            matches!(check_bytes("a.pdf", &pdf), Err(Refusal::Encrypted(m)) if m.contains("password"))
        );
        use crate::documents::office::tests::compound;
        let ole = compound(&[("/EncryptionInfo", b"x"), ("/EncryptedPackage", b"y")]);
        assert!(matches!(
            check_bytes("secret.xlsx", &ole),
            Err(Refusal::Encrypted(_))
        ));
        // A name written with an escape is the same name.
        let escaped = b"%PDF-1.7\ntrailer<</Root 1 0 R/Encr#79pt 9 0 R>>\n%%EOF";
        assert!(matches!(
            check_bytes("a.pdf", escaped),
            Err(Refusal::Encrypted(_))
        ));
        // Legacy Word and Excel with a password.
        let mut fib = [0u8; 32];
        fib[11] = 0x01;
        let doc = compound(&[("/WordDocument", &fib)]);
        assert!(matches!(
            check_bytes("a.doc", &doc),
            Err(Refusal::Encrypted(_))
        ));
        let biff = [
            0x09, 0x08, 0x04, 0x00, 0, 6, 0x10, 0, 0x2F, 0x00, 0x00, 0x00,
        ];
        let xls = compound(&[("/Workbook", &biff)]);
        assert!(matches!(
            check_bytes("a.xls", &xls),
            Err(Refusal::Encrypted(_))
        ));
        let open_doc = compound(&[("/WordDocument", &[0u8; 32])]);
        assert!(check_bytes("a.doc", &open_doc).is_ok());
    }

    #[test]
    fn a_pdf_starts_with_its_header_and_ole2_must_be_a_real_compound_file() {
        // Something else first, a PDF later: a polyglot.
        assert!(matches!(
            check_bytes("a.pdf", b"GIF89a....%PDF-1.7\n"),
            Err(Refusal::Mismatch(_))
        ));
        let mut fake = OLE2_MAGIC.to_vec();
        fake.extend_from_slice(&[0; 100]);
        assert!(matches!(
            check_bytes("a.doc", &fake),
            Err(Refusal::Mismatch(_))
        ));
    }

    #[test]
    fn display_names_are_cleaned() {
        assert_eq!(display_name("C:\\Users\\x\\photo.jpg"), "photo.jpg");
        assert_eq!(display_name(" bad\u{0}\u{202E}name.pdf\n"), "badname.pdf");
        let long = format!("{}.pdf", "a".repeat(400));
        let cleaned = display_name(&long);
        assert_eq!(cleaned.chars().count(), 255);
        assert!(cleaned.ends_with(".pdf"));
    }
}

//! What a file must be before it is kept: an allowed extension, content
//! (magic bytes, container structure) consistent with that extension, not
//! password-protected, not empty. The client's declared content type is never
//! trusted: the stored type is the one of the checked kind.
//!
//! Allowed: the seed's list ("Drag and drop files here or upload": pictures,
//! Microsoft Office documents, PDFs, emails, text, audio and video, XML and
//! MHT), less what the seed itself asks people not to send and what is not
//! evidence (see [`check`]'s refusals and the README's "Documents"), plus
//! HEIC/HEIF and WebP pictures (what phones send) and M4A (a phone's voice
//! recorder). Refused with a specific reason: OpenDocument (`.odt` ...),
//! archives (`.zip`, `.7z`, `.rar` ...), password-protected PDFs and Office
//! files, rights-protected messages, Flash, web pages, stylesheets, schemas
//! and templates, executables.
//!
//! Audio and video containers are checked in [`super::media`], XML and MHT in
//! [`super::markup`], password protection in [`super::office`].
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
    /// A Windows icon (`.ico`, from the seed's list).
    Ico,
    /// MP3 audio.
    Mp3,
    /// MP4 video (ISO base media, an MP4-family brand).
    Mp4,
    /// M4A audio (ISO base media, an MP4-family brand).
    M4a,
    /// QuickTime video (`.mov`).
    Mov,
    /// WAVE audio.
    Wav,
    /// AVI video.
    Avi,
    /// Windows Media video (ASF).
    Wmv,
    /// MPEG-1/2 video (`.mpg`, `.mpeg`).
    Mpeg,
    /// Well-formed XML without entity declarations.
    Xml,
    /// A web page saved as a MIME `multipart/related` message (`.mht`).
    Mht,
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
            Self::Ico => "image/vnd.microsoft.icon",
            Self::Mp3 => "audio/mpeg",
            Self::Mp4 => "video/mp4",
            Self::M4a => "audio/mp4",
            Self::Mov => "video/quicktime",
            Self::Wav => "audio/wav",
            Self::Avi => "video/x-msvideo",
            Self::Wmv => "video/x-ms-wmv",
            Self::Mpeg => "video/mpeg",
            Self::Xml => "application/xml",
            Self::Mht => "multipart/related",
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
    "pdf", "jpg", "jpeg", "jpe", "png", "gif", "bmp", "tif", "tiff", "ico", "heic", "heif", "webp",
    "doc", "docx", "xls", "xlsx", "ppt", "pptx", "msg", "eml", "txt", "csv", "rtf", "xml", "mht",
    "mhtml", "mp3", "m4a", "wav", "mp4", "mov", "avi", "wmv", "mpg", "mpeg",
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
    let size = file.metadata()?.len();
    check_sized(name, file, size)
}

/// [`check`] on any seekable bytes of `size` bytes (a spool file, or the
/// leading bytes of a streamed upload in a `Cursor`: see [`super::stream`]).
pub fn check_sized(
    name: &str,
    file: &mut (impl Read + Seek),
    size: u64,
) -> io::Result<Result<Kind, Refusal>> {
    let Some(ext) = extension(name) else {
        return Ok(Err(Refusal::Type(format!(
            "\"{name}\" has no file extension, so its type cannot be checked. Accepted types: {}.",
            ALLOWED_EXTENSIONS.join(", ")
        ))));
    };
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
        "jpg" | "jpeg" | "jpe" if head.starts_with(&[0xFF, 0xD8, 0xFF]) => Kind::Jpeg,
        "jpg" | "jpeg" | "jpe" => return mismatch("a JPEG picture"),
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
        // ICONDIR: reserved 0, type 1 (icon), at least one image.
        "ico"
            if head.starts_with(&[0, 0, 1, 0])
                && head.get(4..6).is_some_and(|n| n != [0, 0])
                && head.len() >= 22 =>
        {
            Kind::Ico
        }
        "ico" => return mismatch("an icon"),
        "mp3" if super::media::is_mp3(file, size)? => Kind::Mp3,
        "mp3" => return mismatch("MP3 audio"),
        "mp4" | "m4a" => match super::media::iso_media(&head) {
            Some(m) if m.mp4 => {
                if ext == "mp4" {
                    Kind::Mp4
                } else {
                    Kind::M4a
                }
            }
            Some(m) if m.quicktime => {
                return mismatch("an MP4 file (it is a QuickTime movie: name it .mov)");
            }
            _ if ext == "mp4" => return mismatch("an MP4 video"),
            _ => return mismatch("M4A audio"),
        },
        "mov" => match super::media::iso_media(&head) {
            Some(m) if m.quicktime => Kind::Mov,
            Some(m) if m.mp4 => {
                return mismatch("a QuickTime movie (it is an MP4 video: name it .mp4)");
            }
            _ => return mismatch("a QuickTime movie"),
        },
        "wav" if super::media::is_wave(&head) => Kind::Wav,
        "wav" => return mismatch("WAVE audio"),
        "avi" if super::media::is_avi(&head) => Kind::Avi,
        "avi" => return mismatch("an AVI video"),
        "wmv" if super::media::is_asf(&head) => Kind::Wmv,
        "wmv" => return mismatch("a Windows Media video"),
        "mpg" | "mpeg" if super::media::is_mpeg_stream(&head) => Kind::Mpeg,
        "mpg" | "mpeg" => return mismatch("an MPEG video"),
        "xml" => {
            if !looks_like_markup(&head) || !is_text(file)? {
                return mismatch("XML");
            }
            match super::markup::xml_problem(file)? {
                None => Kind::Xml,
                Some(super::markup::XmlProblem::Entities) => {
                    return Ok(Err(Refusal::Type(format!(
                        "\"{name}\" declares entities or refers to an external DTD, which is not accepted (such XML can make the programs that open it read other files or expand without end). Remove the DOCTYPE and upload it again."
                    ))));
                }
                Some(super::markup::XmlProblem::Malformed(why)) => {
                    return Ok(Err(Refusal::Mismatch(format!(
                        "\"{name}\" does not contain what its extension says: it is not well-formed XML ({why})."
                    ))));
                }
            }
        }
        "mht" | "mhtml" => {
            if !is_text(file)? || !super::markup::is_mht(&head, file)? {
                return mismatch("a saved web page (a MIME multipart/related message)");
            }
            Kind::Mht
        }
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
        "rmsg" | "rpmsg" => {
            return Ok(Err(Refusal::Encrypted(format!(
                "\"{name}\" is a rights-protected message, which only its recipients can open. Save the message as a PDF, or ask its sender for an unprotected copy, and upload that."
            ))));
        }
        "swf" => {
            return Ok(Err(Refusal::Type(format!(
                "\"{name}\" is a Flash file, which is not accepted: Flash is a program, not a document, and no supported browser or player opens it any more. Record what it shows as a video (.mp4) or take screenshots instead."
            ))));
        }
        "htm" | "html" | "xhtml" | "template" | "htmtemplate" | "css" | "xsl" | "xslt" | "xsd"
        | "js" | "svg" => {
            return Ok(Err(Refusal::Type(format!(
                "\"{name}\" is a web page, stylesheet, schema or template, which is not accepted: such files can run code when opened and do not show what they describe on their own. Save the page as a PDF (or as .mht) and upload that."
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

/// Markup starts with `<` (after a byte order mark and white space).
fn looks_like_markup(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// The refusal of a file whose content is not what its extension says.
pub(crate) fn mismatch(name: &str, what: &str) -> Refusal {
    Refusal::Mismatch(format!(
        "\"{name}\" does not contain what its extension says: it is not {what}."
    ))
}

pub(crate) fn encrypted(name: &str) -> Refusal {
    Refusal::Encrypted(format!(
        "\"{name}\" is password-protected. Remove the password and upload it again."
    ))
}

fn read_up_to(file: &mut (impl Read + Seek), buf: &mut [u8]) -> io::Result<usize> {
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
fn is_text(file: &mut (impl Read + Seek)) -> io::Result<bool> {
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(true);
        }
        if !is_text_bytes(&buf[..n]) {
            return Ok(false);
        }
    }
}

/// Whether these bytes pass [`is_text`] (also used chunk by chunk on a
/// streamed upload).
pub fn is_text_bytes(buf: &[u8]) -> bool {
    !buf.iter()
        .any(|b| *b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B) || *b == 0x7F)
}

/// The entry names of a zip's central directory (empty if it has none or
/// it is malformed). Reads only the end of the file and the directory, at
/// most 4 MiB of it.
fn zip_entry_names(file: &mut (impl Read + Seek), size: u64) -> io::Result<Vec<String>> {
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

    /// A box of an ISO base media file.
    fn iso_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((8 + body.len()) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    /// An `ftyp` box with these brands (the first is the major one), then an
    /// empty `mdat`.
    fn ftyp(brands: &[&[u8; 4]]) -> Vec<u8> {
        let mut body = brands[0].to_vec();
        body.extend_from_slice(&[0, 0, 2, 0]);
        for b in brands {
            body.extend_from_slice(*b);
        }
        let mut out = iso_box(b"ftyp", &body);
        out.extend(iso_box(b"mdat", &[0; 16]));
        out
    }

    fn riff(form: &[u8; 4], chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut body = form.to_vec();
        for (id, data) in chunks {
            body.extend_from_slice(*id);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    /// 16-bit mono PCM at 8 kHz, with a few samples.
    fn wav() -> Vec<u8> {
        let mut fmt = vec![1, 0, 1, 0];
        fmt.extend_from_slice(&8000u32.to_le_bytes());
        fmt.extend_from_slice(&16000u32.to_le_bytes());
        fmt.extend_from_slice(&[2, 0, 16, 0]);
        riff(
            b"WAVE",
            &[(b"fmt ", &fmt), (b"data", &[0, 0, 0x10, 0, 0x20, 0])],
        )
    }

    /// An ID3v2.3 tag (with padding) and two MPEG-1 Layer III frames
    /// (128 kbit/s, 44.1 kHz: 417 bytes each).
    fn mp3(with_tag: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if with_tag {
            out.extend_from_slice(b"ID3\x03\x00\x00\x00\x00\x00\x14");
            out.extend_from_slice(b"TIT2\0\0\0\x05\0\0\0Damp");
            out.extend_from_slice(&[0; 5]);
        }
        for _ in 0..2 {
            out.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
            out.extend_from_slice(&[0x55; 413]);
        }
        out
    }

    fn asf() -> Vec<u8> {
        let mut out = super::super::media::ASF_HEADER.to_vec();
        out.extend_from_slice(&30u64.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, 1, 2]);
        out
    }

    const MHT: &str = "From: <Saved by Blink>\r\nSubject: Repairs\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related;\r\n\ttype=\"text/html\";\r\n\tboundary=\"----MultipartBoundary--x1\"\r\n\r\n------MultipartBoundary--x1\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<html><body>Repairs</body></html>\r\n------MultipartBoundary--x1--\r\n";

    #[test]
    fn audio_and_video_are_accepted_by_their_containers() {
        let cases: Vec<(&str, Vec<u8>, Kind, &str)> = vec![
            (
                "leak.mp4",
                ftyp(&[b"isom", b"iso2", b"avc1", b"mp41"]),
                Kind::Mp4,
                "video/mp4",
            ),
            (
                "phone.mp4",
                ftyp(&[b"mp42", b"isom"]),
                Kind::Mp4,
                "video/mp4",
            ),
            (
                "android.mp4",
                ftyp(&[b"3gp4", b"isom"]),
                Kind::Mp4,
                "video/mp4",
            ),
            (
                "noise.m4a",
                ftyp(&[b"M4A ", b"isom", b"mp42"]),
                Kind::M4a,
                "audio/mp4",
            ),
            ("iphone.MOV", ftyp(&[b"qt  "]), Kind::Mov, "video/quicktime"),
            (
                "old.mov",
                [iso_box(b"wide", &[]), iso_box(b"mdat", &[1, 2])].concat(),
                Kind::Mov,
                "video/quicktime",
            ),
            ("noise.wav", wav(), Kind::Wav, "audio/wav"),
            (
                "hall.avi",
                riff(b"AVI ", &[(b"LIST", b"hdrlavih")]),
                Kind::Avi,
                "video/x-msvideo",
            ),
            ("tagged.mp3", mp3(true), Kind::Mp3, "audio/mpeg"),
            ("bare.mp3", mp3(false), Kind::Mp3, "audio/mpeg"),
            (
                "one-frame.mp3",
                mp3(false)[..417].to_vec(),
                Kind::Mp3,
                "audio/mpeg",
            ),
            ("clip.wmv", asf(), Kind::Wmv, "video/x-ms-wmv"),
            (
                "mpeg2.mpg",
                [&[0, 0, 1, 0xBA, 0x44][..], &[0; 20]].concat(),
                Kind::Mpeg,
                "video/mpeg",
            ),
            (
                "mpeg1.mpeg",
                [&[0, 0, 1, 0xBA, 0x21][..], &[0; 20]].concat(),
                Kind::Mpeg,
                "video/mpeg",
            ),
            (
                "elementary.mpg",
                vec![0, 0, 1, 0xB3, 0x14, 0x00, 0xF0, 0x13],
                Kind::Mpeg,
                "video/mpeg",
            ),
        ];
        for (name, bytes, kind, content_type) in cases {
            let checked = check_bytes(name, &bytes);
            assert_eq!(checked, Ok(kind), "{name}");
            assert_eq!(kind.content_type(), content_type, "{name}");
        }
    }

    #[test]
    fn renamed_files_are_not_audio_or_video() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        let heic = ftyp(&[b"heic", b"mif1", b"heic"]);
        let mut bad_second_frame = mp3(false);
        bad_second_frame[417] = 0x00;
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("photo.mp4", png.clone(), "not an MP4 video"),
            ("photo.mp4", heic.clone(), "not an MP4 video"),
            ("photo.mov", heic, "not a QuickTime movie"),
            ("iphone.mp4", ftyp(&[b"qt  "]), "name it .mov"),
            ("phone.mov", ftyp(&[b"mp42", b"isom"]), "name it .mp4"),
            ("song.m4a", png.clone(), "not M4A audio"),
            ("notes.wav", b"RIFF....WAVEdata".to_vec(), "not WAVE audio"),
            ("notes.wav", b"just some text".to_vec(), "not WAVE audio"),
            (
                "picture.wav",
                riff(b"WEBP", &[(b"VP8 ", b"x")]),
                "not WAVE audio",
            ),
            ("sound.avi", wav(), "not an AVI video"),
            (
                "sound.mp3",
                b"hello, this is text".to_vec(),
                "not MP3 audio",
            ),
            ("sound.mp3", bad_second_frame, "not MP3 audio"),
            (
                "sound.mp3",
                b"ID3\x03\x00\x00\x00\x00\x00\x0a\0\0\0\0\0\0\0\0\0\0".to_vec(),
                "not MP3 audio",
            ),
            (
                "jpeg.mp3",
                vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10],
                "not MP3 audio",
            ),
            ("clip.wmv", png.clone(), "not a Windows Media video"),
            ("clip.mpg", png.clone(), "not an MPEG video"),
            (
                "clip.mpg",
                vec![0, 0, 1, 0xBA, 0x00, 0, 0, 0],
                "not an MPEG video",
            ),
            ("icon.ico", png, "not an icon"),
            ("photo.jpe", b"GIF89a".to_vec(), "not a JPEG picture"),
        ];
        for (name, bytes, reason) in cases {
            match check_bytes(name, &bytes) {
                Err(Refusal::Mismatch(m)) => {
                    assert!(m.contains(name) && m.contains(reason), "{name}: {m}")
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn pictures_xml_and_saved_pages_of_the_seed() {
        assert_eq!(
            check_bytes("a.jpe", &[0xFF, 0xD8, 0xFF, 0xE0]),
            Ok(Kind::Jpeg)
        );
        let mut ico = vec![0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0];
        ico.extend_from_slice(&[0; 8]);
        assert_eq!(check_bytes("favicon.ico", &ico), Ok(Kind::Ico));
        let xml = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- rent -->\n<!DOCTYPE statement [<!ELEMENT statement ANY>]>\n<statement date=\"2026-12-01\" note=\"a &amp; b\"><line>Rent &#163;100 &lt;paid&gt;</line><![CDATA[<raw>]]><empty/></statement>\n";
        assert_eq!(check_bytes("statement.xml", xml.as_bytes()), Ok(Kind::Xml));
        assert_eq!(Kind::Xml.content_type(), "application/xml");
        assert_eq!(check_bytes("page.mht", MHT.as_bytes()), Ok(Kind::Mht));
        assert_eq!(check_bytes("page.mhtml", MHT.as_bytes()), Ok(Kind::Mht));
        assert_eq!(Kind::Mht.content_type(), "multipart/related");
    }

    #[test]
    fn xml_must_be_well_formed_and_declare_no_entities() {
        let malformed = [
            ("mismatch.xml", "<a><b></a></b>"),
            ("unclosed.xml", "<a><b></b>"),
            ("two-roots.xml", "<a/><b/>"),
            ("text-after.xml", "<a/>trailing"),
            ("no-root.xml", "<?xml version=\"1.0\"?>"),
            ("undeclared.xml", "<a>&nbsp;</a>"),
            ("attribute.xml", "<a x=\"1\" x=\"2\"/>"),
            ("attribute-entity.xml", "<a x=\"&foo;\"/>"),
            ("dangling.xml", "<a>fish & chips</a>"),
            ("comment.xml", "<a><!-- a -- b --></a>"),
            ("not-markup.xml", "just text"),
        ];
        for (name, text) in malformed {
            match check_bytes(name, text.as_bytes()) {
                Err(Refusal::Mismatch(m)) => assert!(m.contains(name) && m.contains("XML"), "{m}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        let entities = [
            (
                "xxe.xml",
                "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>",
            ),
            (
                "laughs.xml",
                "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]><lolz>&lol2;</lolz>",
            ),
            (
                "parameter.xml",
                "<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://example.org/x.dtd\"> %p;]><r/>",
            ),
            (
                "external-dtd.xml",
                "<!DOCTYPE r SYSTEM \"http://example.org/r.dtd\"><r/>",
            ),
            (
                "public-dtd.xml",
                "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\"><html/>",
            ),
        ];
        for (name, text) in entities {
            match check_bytes(name, text.as_bytes()) {
                Err(Refusal::Type(m)) => assert!(m.contains(name) && m.contains("entities"), "{m}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_saved_page_is_a_multipart_related_message() {
        let not_related = MHT.replace("multipart/related", "multipart/mixed");
        let no_version = MHT.replace("MIME-Version: 1.0\r\n", "");
        let no_part = MHT.replace("------MultipartBoundary--x1", "------Other");
        for (name, bytes) in [
            ("mixed.mht", not_related.as_bytes()),
            ("no-version.mht", no_version.as_bytes()),
            ("no-part.mht", no_part.as_bytes()),
            (
                "notes.mht",
                b"Dear caseworker,\n\nthe damp is back.\n".as_slice(),
            ),
            ("binary.mht", b"MIME-Version: 1.0\0\n".as_slice()),
        ] {
            assert!(
                matches!(check_bytes(name, bytes), Err(Refusal::Mismatch(m)) if m.contains("saved web page")),
                "{name}"
            );
        }
    }

    #[test]
    fn seed_types_decided_against_say_why() {
        let cases = [
            ("game.swf", b"FWS\x0a".as_slice(), "Flash"),
            ("style.xsl", b"<xsl:stylesheet/>".as_slice(), "stylesheet"),
            ("schema.xsd", b"<xs:schema/>".as_slice(), "schema"),
            ("site.css", b"body{}".as_slice(), "stylesheet"),
            ("page.htmtemplate", b"<html/>".as_slice(), "template"),
            ("page.template", b"<html/>".as_slice(), "template"),
            ("photos.rar", b"Rar!\x1a\x07".as_slice(), "archive"),
            ("photos.7z", b"7z\xbc\xaf\x27\x1c".as_slice(), "archive"),
            ("letter.odt", b"PK\x03\x04".as_slice(), "OpenDocument"),
        ];
        for (name, bytes, reason) in cases {
            match check_bytes(name, bytes) {
                Err(Refusal::Type(m)) => assert!(m.contains(name) && m.contains(reason), "{m}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(matches!(
            check_bytes("reply.rmsg", b"x"),
            Err(Refusal::Encrypted(m)) if m.contains("rights-protected")
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

//! Content checks for the seed's text-based structured types: XML and MHT
//! (a web page saved as one MIME message).
//!
//! - XML is read to the end with a real XML reader (`quick-xml`, streaming
//!   from the file: one event at a time is held in memory, not the file;
//!   the upload limit bounds the largest event): one root
//!   element, every tag closed and matching, attributes well-formed and not
//!   repeated, references only to XML's five predefined entities or to
//!   characters. A DOCTYPE may name the root and declare elements and
//!   attributes, but not entities (`<!ENTITY`: the "billion laughs"
//!   expansion) and not an external DTD (`SYSTEM`/`PUBLIC`: an external
//!   entity, fetched by whatever parser a caseworker's tool uses: XXE).
//!   Refused as [`XmlProblem`] with what is wrong.
//! - MHT: the file is text, its header block names `MIME-Version` and a
//!   `multipart/related` `Content-Type` with a boundary, and that boundary
//!   delimits a part further on.
//!
//! Both read the spooled file with blocking I/O; callers run them on a
//! blocking thread.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

use quick_xml::{Reader, events::Event};

/// Why a file named `.xml` is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlProblem {
    /// Not well-formed (the reader's reason, or a missing or second root).
    Malformed(String),
    /// A DOCTYPE declaring entities, or naming an external DTD.
    Entities,
}

/// Reads `file` as XML to its end; `Ok(None)` when it is well-formed and
/// declares no entities.
pub fn xml_problem(file: &mut (impl Read + Seek)) -> io::Result<Option<XmlProblem>> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = Reader::from_reader(BufReader::new(&mut *file));
    // Matching end tags and well-formed comments are part of
    // well-formedness; quick-xml checks the first by default.
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut seen_root = false;
    let malformed = |why: String| Ok(Some(XmlProblem::Malformed(why)));
    loop {
        buf.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(quick_xml::Error::Io(e)) => return Err(io::Error::other(e.to_string())),
            Err(e) => return malformed(e.to_string()),
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                if depth == 0 && seen_root {
                    return malformed("more than one root element".into());
                }
                for attribute in start.attributes() {
                    let valid = attribute
                        .map_err(quick_xml::Error::from)
                        .and_then(|a| a.unescape_value().map(|_| ()));
                    if let Err(e) = valid {
                        return malformed(e.to_string());
                    }
                }
                seen_root = true;
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(text) => {
                if depth == 0 && !text.iter().all(u8::is_ascii_whitespace) {
                    return malformed("text outside the root element".into());
                }
            }
            Event::CData(_) if depth == 0 => {
                return malformed("CDATA outside the root element".into());
            }
            Event::GeneralRef(reference) => {
                if depth == 0 {
                    return malformed("a reference outside the root element".into());
                }
                // No entity may be declared, so only the predefined ones and
                // character references exist.
                let known = if reference.is_char_ref() {
                    reference.resolve_char_ref().is_ok()
                } else {
                    matches!(&*reference, b"lt" | b"gt" | b"amp" | b"apos" | b"quot")
                };
                if !known {
                    return malformed(format!(
                        "a reference to an undeclared entity (&{};)",
                        String::from_utf8_lossy(&reference)
                    ));
                }
            }
            Event::DocType(doctype) => {
                if seen_root {
                    return malformed("a DOCTYPE after the root element".into());
                }
                if declares_entities(&doctype) {
                    return Ok(Some(XmlProblem::Entities));
                }
            }
            Event::Eof => break,
            Event::CData(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if !seen_root {
        return malformed("no root element".into());
    }
    if depth > 0 {
        return malformed("an element is not closed".into());
    }
    Ok(None)
}

/// Whether a DOCTYPE's content (after `<!DOCTYPE`) declares an entity or
/// names an external DTD: `SYSTEM` or `PUBLIC` before the internal subset.
/// Matched without regard to case: a lower-case `<!entity` is not XML, and
/// refusing it costs nothing.
fn declares_entities(doctype: &[u8]) -> bool {
    let text = String::from_utf8_lossy(doctype).to_ascii_uppercase();
    let (outside, subset) = text.split_once('[').unwrap_or((&text, ""));
    let external = outside
        .split_ascii_whitespace()
        .any(|w| w == "SYSTEM" || w == "PUBLIC");
    external || subset.contains("<!ENTITY")
}

/// Whether `file` (already known to be text) is a MIME `multipart/related`
/// message: its headers (`head`, the first bytes of the file) name
/// `MIME-Version` and a `multipart/related` `Content-Type` with a boundary,
/// and a `--boundary` line follows the headers.
pub fn is_mht(head: &[u8], file: &mut (impl Read + Seek)) -> io::Result<bool> {
    let text = String::from_utf8_lossy(head);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    // The header block ends at the first empty line.
    let Some(end) = text.find("\r\n\r\n").or_else(|| text.find("\n\n")) else {
        return Ok(false);
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text[..end].lines() {
        if line.starts_with([' ', '\t']) {
            // A folded header continues the previous one.
            let Some((_, value)) = headers.last_mut() else {
                return Ok(false);
            };
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Ok(false);
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Ok(false);
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    let Some(content_type) = header("content-type") else {
        return Ok(false);
    };
    if header("mime-version").is_none()
        || !content_type
            .to_ascii_lowercase()
            .starts_with("multipart/related")
    {
        return Ok(false);
    }
    let Some(boundary) = content_type.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
    }) else {
        return Ok(false);
    };
    if boundary.is_empty() {
        return Ok(false);
    }
    contains(file, format!("\n--{boundary}").as_bytes())
}

/// Whether `needle` occurs in `file`, read in chunks that overlap by the
/// needle's length.
fn contains(file: &mut (impl Read + Seek), needle: &[u8]) -> io::Result<bool> {
    file.seek(SeekFrom::Start(0))?;
    let mut carry: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(false);
        }
        carry.extend_from_slice(&buf[..n]);
        if carry.windows(needle.len()).any(|w| w == needle) {
            return Ok(true);
        }
        let keep = carry.len().min(needle.len());
        carry.drain(..carry.len() - keep);
    }
}

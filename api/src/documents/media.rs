//! Content checks for the seed's audio and video types: residents record
//! damp, leaks and noise on their phones, so recordings are evidence like
//! photographs. Each check reads the container's own header (never the
//! client's declared type), enough to tell a recording from a renamed file;
//! decoding the stream is the player's business, and the virus scan still
//! sees every byte.
//!
//! - MP4, M4A and MOV: an ISO base media (`ftyp`) file whose brands say which
//!   (QuickTime's `qt  ` for `.mov`; the ISO/MP4 family for `.mp4`/`.m4a`).
//!   Older QuickTime files have no `ftyp` and start with a `moov`, `mdat`,
//!   `wide`, `free` or `skip` atom.
//! - WAV and AVI: a RIFF file of form `WAVE` (with its `fmt ` chunk) or `AVI `.
//! - MP3: an ID3v2 tag or none, then MPEG audio frames: a valid frame header
//!   and, unless the file ends first, another valid one where the first frame
//!   ends (random bytes rarely pass twice).
//! - WMV: the ASF header object's GUID.
//! - MPG/MPEG: an MPEG program stream pack header (MPEG-1 or MPEG-2), or an
//!   MPEG video sequence header (an elementary stream).
//!
//! The checks read the file with blocking I/O (callers run them on a
//! blocking thread) and only a few bytes at known offsets.

use std::io::{self, Read, Seek, SeekFrom};

/// The ASF header object GUID (`75B22630-668E-11CF-A6D9-00AA0062CE6C`, as
/// stored).
pub const ASF_HEADER: [u8; 16] = [
    0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
];

/// What an ISO base media file (`ftyp`) declares itself compatible with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IsoMedia {
    /// QuickTime (`qt  ` as the major or a compatible brand), or an old
    /// QuickTime file without `ftyp`.
    pub quicktime: bool,
    /// The ISO/MP4 family (video or audio).
    pub mp4: bool,
}

/// Brands of the ISO/MP4 family: what `.mp4` and `.m4a` files made by
/// phones, cameras and encoders carry (3GPP is what Android phones record).
const MP4_BRANDS: &[&[u8; 4]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
    b"mp42", b"mp71", b"avc1", b"hvc1", b"av01", b"dash", b"M4V ", b"M4A ", b"M4B ", b"M4P ",
    b"F4V ", b"MSNV", b"mmp4", b"NDAS", b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3gp8", b"3gp9",
    b"3ge6", b"3ge7", b"3gg6",
];

/// Reads the `ftyp` box at the start of `head` (the first bytes of the
/// file), or the atom an old QuickTime file starts with; `None` when it is
/// not an ISO base media file at all.
pub fn iso_media(head: &[u8]) -> Option<IsoMedia> {
    let size = u32::from_be_bytes(head.get(0..4)?.try_into().ok()?) as usize;
    let kind = head.get(4..8)?;
    if kind != b"ftyp" {
        // QuickTime before `ftyp` (1990s-2000s cameras): a top-level atom
        // with a plausible size. `mdat` may have size 0 ("to the end") or 1
        // (a 64-bit size follows).
        let old_atom = [b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"]
            .iter()
            .any(|a| kind == *a);
        let sized = size >= 8 || (kind == b"mdat" && size <= 1);
        return (old_atom && sized).then_some(IsoMedia {
            quicktime: true,
            mp4: false,
        });
    }
    // size, "ftyp", major brand, minor version, then compatible brands.
    if size < 16 || !size.is_multiple_of(4) || size > head.len() {
        return None;
    }
    let major = head.get(8..12)?;
    let compatible = head[16..size].chunks_exact(4);
    let mut media = IsoMedia::default();
    for brand in std::iter::once(major).chain(compatible) {
        media.quicktime |= brand == b"qt  ";
        media.mp4 |= MP4_BRANDS.iter().any(|m| brand == m.as_slice());
    }
    // Neither (HEIC pictures, JPEG 2000, ...): an ISO file of another kind.
    Some(media)
}

/// A RIFF file's form type (`WAVE`, `AVI `, `WEBP` ...).
pub fn riff_form(head: &[u8]) -> Option<&[u8]> {
    (head.starts_with(b"RIFF") && head.len() >= 12).then(|| &head[8..12])
}

/// A WAVE file: RIFF `WAVE` with a `fmt ` chunk among the first chunks of
/// `head` (recorders may put `JUNK`, `bext` or `LIST` first).
pub fn is_wave(head: &[u8]) -> bool {
    if riff_form(head) != Some(b"WAVE") {
        return false;
    }
    let mut i = 12;
    while let Some(chunk) = head.get(i..i + 8) {
        if &chunk[..4] == b"fmt " {
            // PCM's format block is at least 14 bytes (16 for WAVEFORMAT).
            return u32::from_le_bytes(chunk[4..8].try_into().unwrap_or_default()) >= 14;
        }
        let len = u32::from_le_bytes(chunk[4..8].try_into().unwrap_or_default()) as usize;
        // Chunks are padded to an even length.
        i += 8 + len + (len & 1);
    }
    false
}

/// An AVI file: RIFF `AVI ` (or the `AVIX` extension of an OpenDML file).
pub fn is_avi(head: &[u8]) -> bool {
    matches!(riff_form(head), Some(b"AVI ") | Some(b"AVIX"))
}

/// A Windows Media file: the ASF header object first, with a size that
/// covers at least its own fields (GUID, size, count, two reserved bytes).
pub fn is_asf(head: &[u8]) -> bool {
    head.starts_with(&ASF_HEADER)
        && head
            .get(16..24)
            .is_some_and(|s| u64::from_le_bytes(s.try_into().unwrap_or_default()) >= 30)
}

/// An MPEG program stream (pack header `00 00 01 BA` with MPEG-1's `0010`
/// or MPEG-2's `01` marker bits) or an MPEG-1/2 video elementary stream
/// (sequence header `00 00 01 B3`).
pub fn is_mpeg_stream(head: &[u8]) -> bool {
    let Some(next) = head.get(4) else {
        return false;
    };
    if head.starts_with(&[0, 0, 1, 0xBA]) {
        return next >> 4 == 0b0010 || next >> 6 == 0b01;
    }
    // A sequence header: 12-bit width and height, both non-zero.
    if head.starts_with(&[0, 0, 1, 0xB3]) && head.len() >= 8 {
        let width = (u16::from(head[4]) << 4) | u16::from(head[5] >> 4);
        let height = (u16::from(head[5] & 0x0F) << 8) | u16::from(head[6]);
        return width > 0 && height > 0;
    }
    false
}

/// An MPEG audio frame header: its length in bytes, or `None` if the four
/// bytes are not one. Free-format frames (bitrate index 0) have no length
/// to check the next frame with and are not accepted.
pub fn mpeg_audio_frame(header: &[u8]) -> Option<usize> {
    let &[b0, b1, b2, _] = header.get(0..4)? else {
        return None;
    };
    if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
        return None;
    }
    // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5, 1 reserved.
    let version = (b1 >> 3) & 0b11;
    // 3 = Layer I, 2 = Layer II, 1 = Layer III, 0 reserved.
    let layer = (b1 >> 1) & 0b11;
    let bitrate_index = (b2 >> 4) as usize;
    let rate_index = ((b2 >> 2) & 0b11) as usize;
    let padding = ((b2 >> 1) & 1) as usize;
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    const V1: [[u32; 15]; 3] = [
        // Layer I, II, III (kbit/s).
        [
            0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
        ],
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
        ],
        [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ],
    ];
    const V2: [[u32; 15]; 2] = [
        // Layer I; Layers II and III.
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
        ],
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    ];
    let layer_row = 3 - layer as usize; // 0 = I, 1 = II, 2 = III
    let kbps = if version == 3 {
        V1[layer_row][bitrate_index]
    } else {
        V2[layer_row.min(1)][bitrate_index]
    } as usize;
    let rate = [
        [11_025, 12_000, 8_000],
        [0, 0, 0],
        [22_050, 24_000, 16_000],
        [44_100, 48_000, 32_000],
    ][version as usize][rate_index];
    let bits = kbps * 1000;
    Some(match (layer_row, version) {
        (0, _) => (12 * bits / rate + padding) * 4,
        (2, 0 | 2) => 72 * bits / rate + padding,
        _ => 144 * bits / rate + padding,
    })
}

/// An MP3 file: an optional ID3v2 tag (skipped by its own size), then a
/// frame header, and another where that frame ends unless the file ends
/// there. Zero padding after the tag (some taggers write it) is skipped.
pub fn is_mp3(file: &mut (impl Read + Seek), size: u64) -> io::Result<bool> {
    let mut start = 0u64;
    file.seek(SeekFrom::Start(0))?;
    let mut tag = [0u8; 10];
    if read_at_most(file, &mut tag)? == 10 && tag.starts_with(b"ID3") {
        // Version 2.2 to 2.4; the size is four 7-bit ("syncsafe") bytes.
        if !(2..=4).contains(&tag[3]) || tag[6..10].iter().any(|b| b & 0x80 != 0) {
            return Ok(false);
        }
        let len = tag[6..10]
            .iter()
            .fold(0u64, |acc, b| (acc << 7) | u64::from(*b));
        let footer = if tag[5] & 0x10 != 0 { 10 } else { 0 };
        start = 10 + len + footer;
    }
    // Skip zero padding, at most 64 KiB of it.
    file.seek(SeekFrom::Start(start))?;
    let mut window = vec![0u8; 64 * 1024];
    let n = read_at_most(file, &mut window)?;
    let Some(skip) = window[..n].iter().position(|b| *b != 0) else {
        return Ok(false);
    };
    let first = start + skip as u64;
    file.seek(SeekFrom::Start(first))?;
    let mut header = [0u8; 4];
    if read_at_most(file, &mut header)? < 4 {
        return Ok(false);
    }
    let Some(len) = mpeg_audio_frame(&header) else {
        return Ok(false);
    };
    let next = first + len as u64;
    // A second frame, unless the first ends at (or, truncated, past) the end
    // of the file or only an ID3v1 tag (`TAG`, 128 bytes) follows.
    if next + 4 > size {
        return Ok(true);
    }
    file.seek(SeekFrom::Start(next))?;
    if read_at_most(file, &mut header)? < 4 {
        return Ok(true);
    }
    Ok(mpeg_audio_frame(&header).is_some() || (header.starts_with(b"TAG") && next + 128 == size))
}

fn read_at_most(file: &mut (impl Read + Seek), buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

//! Walks a photo folder and sorts its files into photos to analyse, media we skip (with the
//! reason) and files we could not read.
//!
//! A file is a candidate when its extension says it is an image or a video; its first bytes then
//! decide what it really is, because extensions lie (a PNG saved as `.jpg` is common). Hidden
//! files and folders (`.thumbnails`, `.git`) and symlinked folders (which can form loops) are not
//! entered; a link to a file is followed only when the file is inside the folder. Names that
//! are not UTF-8 or hold control characters are skipped with the reason. Nothing is ever
//! written to the folder.

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// The image formats we can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    WebP,
    /// HEIC: HEVC-coded HEIF, decoded by libheif ([`crate::heif`]).
    Heic,
    /// A clip in an ISO base media file (QuickTime `.mov`, MP4, 3GP), read by
    /// [`crate::clips`].
    Video,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::WebP => "WebP",
            Format::Heic => "HEIC",
            Format::Video => "video",
        })
    }
}

/// What a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Image(Format),
    /// AVIF: AV1-coded HEIF, for which this build has no decoder.
    Avif,
    /// A video in a container other than MP4 and QuickTime (AVI, Matroska, WebM).
    OtherVideo,
    Unknown,
}

/// Identifies a file from its first bytes ([`HEAD`] of them: the `ftyp` box of a HEIF or MP4 file
/// with its first compatible brands).
pub fn sniff(head: &[u8]) -> Sniffed {
    match head {
        [0xFF, 0xD8, 0xFF, ..] => Sniffed::Image(Format::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Sniffed::Image(Format::Png),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Sniffed::Image(Format::WebP),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'A',
            b'V',
            b'I',
            b' ',
            ..,
        ] => Sniffed::OtherVideo,
        [0x1A, 0x45, 0xDF, 0xA3, ..] => Sniffed::OtherVideo,
        // ISO base media files (HEIC, AVIF, MP4, MOV) name their major brand after `ftyp`.
        [
            _,
            _,
            _,
            _,
            b'f',
            b't',
            b'y',
            b'p',
            b0,
            b1,
            b2,
            b3,
            rest @ ..,
        ] => {
            match &[*b0, *b1, *b2, *b3] {
                b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" => {
                    Sniffed::Image(Format::Heic)
                }
                b"avif" | b"avis" => Sniffed::Avif,
                // The generic HEIF brands: the compatible brands (after the 4-byte minor
                // version) say which codec.
                b"mif1" | b"msf1" => {
                    let brands = rest.get(4..).unwrap_or_default();
                    let has = |brand: &[u8; 4]| brands.chunks_exact(4).any(|b| b == brand);
                    if has(b"avif") && !has(b"heic") {
                        Sniffed::Avif
                    } else {
                        Sniffed::Image(Format::Heic)
                    }
                }
                _ => Sniffed::Image(Format::Video),
            }
        }
        // Old QuickTime files have no `ftyp`: they start with the movie box, the media data or
        // padding.
        [_, _, _, _, b'm', b'o', b'o', b'v', ..]
        | [_, _, _, _, b'm', b'd', b'a', b't', ..]
        | [_, _, _, _, b'w', b'i', b'd', b'e', ..] => Sniffed::Image(Format::Video),
        _ => Sniffed::Unknown,
    }
}

/// What a file extension claims, before looking at the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claimed {
    Image,
    Heif,
    Video,
}

fn claimed(path: &Path) -> Option<Claimed> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" | "jpe" | "jfif" | "png" | "webp" => Some(Claimed::Image),
        "heic" | "heif" | "hif" | "avif" => Some(Claimed::Heif),
        "mov" | "mp4" | "m4v" | "avi" | "mkv" | "3gp" | "mts" | "m2ts" | "webm" => {
            Some(Claimed::Video)
        }
        _ => None,
    }
}

/// A photo to analyse.
#[derive(Debug, Clone)]
pub struct FoundPhoto {
    pub path: PathBuf,
    /// The path below the scanned folder with `/` separators: the index key and what users see.
    pub rel: String,
    pub format: Format,
    pub size: u64,
    pub modified: SystemTime,
}

/// A file that is media but not something we analyse.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub rel: String,
    pub reason: &'static str,
}

/// A file or folder that could not be read or is not what its name says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub rel: String,
    pub problem: String,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub photos: Vec<FoundPhoto>,
    pub skipped: Vec<Skipped>,
    pub problems: Vec<Problem>,
}

/// Scans `root` recursively. Entries come back sorted by path so runs are reproducible.
pub fn scan(root: &Path) -> Scan {
    let mut out = Scan::default();
    walk(root, root, &mut out);
    out.photos.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.skipped.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.problems.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Scan) {
    let rel = |p: &Path| relative(root, p);
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            out.problems.push(Problem {
                rel: rel(dir),
                problem: format!("cannot list folder: {e}"),
            });
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                out.problems.push(Problem {
                    rel: rel(dir),
                    problem: format!("cannot list folder: {e}"),
                });
                continue;
            }
        };
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        // `file_type` does not follow symlinks, so a symlinked folder is never entered.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(root, &path, out);
        } else if let Some(claim) = claimed(&path) {
            let outside = kind.is_symlink()
                && !fs::canonicalize(&path).is_ok_and(|target| {
                    target.starts_with(fs::canonicalize(root).as_deref().unwrap_or(root))
                });
            let unusable = if outside {
                Some(
                    "a link to a file outside the photo folder (links out of the folder are not followed)",
                )
            } else {
                unusable_name(root, &path)
            };
            match unusable {
                Some(reason) => out.skipped.push(Skipped {
                    rel: rel(&path),
                    reason,
                }),
                None => classify(&path, rel(&path), claim, out),
            }
        }
    }
}

/// A name as one line of text: control characters (a newline, a tab) are written as escapes
/// (`\n`, `\t`, `\u{1b}`), everything else as it is. For names the scan reports but does not
/// index, and for the folder itself.
pub fn shown(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.chars().any(char::is_control) {
        return name.into();
    }
    name.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Why a photo's path below the folder cannot be used as its name, if it cannot. The index,
/// the plan and the page name photos by that path as text: a name that is not UTF-8 would be
/// stored altered (two such names could even become one, and the photo could not be found
/// again by it), and a control character (a newline, a tab) would break the lines of the text
/// plan. Such photos are listed as skipped, with the reason, rather than renamed.
fn unusable_name(root: &Path, path: &Path) -> Option<&'static str> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    match rel.to_str() {
        None => Some("its file or folder name is not valid UTF-8; rename it to index it"),
        Some(text) if text.chars().any(char::is_control) => Some(
            "its file or folder name holds a control character (a newline or tab); rename it to index it",
        ),
        Some(_) => None,
    }
}

fn classify(path: &Path, rel: String, claim: Claimed, out: &mut Scan) {
    let problem = |problem: String| Problem {
        rel: rel.clone(),
        problem,
    };
    let (meta, head) = match fs::metadata(path).and_then(|m| Ok((m, read_head(path)?))) {
        Ok(found) => found,
        Err(e) => return out.problems.push(problem(format!("cannot read: {e}"))),
    };
    match (sniff(&head), claim) {
        (Sniffed::Image(format), _) => out.photos.push(FoundPhoto {
            path: path.to_path_buf(),
            rel,
            format,
            size: meta.len(),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        }),
        (Sniffed::Avif, _) => out.skipped.push(Skipped {
            rel,
            reason: "AVIF photos are not supported (this build has no AV1 decoder)",
        }),
        (Sniffed::Unknown, Claimed::Heif) if head.is_empty() => {
            out.problems.push(problem("empty file".to_string()))
        }
        (Sniffed::Unknown, Claimed::Heif) => out.problems.push(problem(
            "not a HEIC file despite its extension (no HEIF `ftyp` box)".to_string(),
        )),
        (Sniffed::OtherVideo, _) => out.skipped.push(Skipped {
            rel,
            reason: "AVI, Matroska and WebM videos are not read (phones write MP4 and QuickTime)",
        }),
        (Sniffed::Unknown, Claimed::Video) if head.is_empty() => {
            out.problems.push(problem("empty file".to_string()))
        }
        (Sniffed::Unknown, Claimed::Video) => out.problems.push(problem(
            "not an MP4 or QuickTime video despite its extension (unrecognised content)"
                .to_string(),
        )),
        (Sniffed::Unknown, Claimed::Image) if head.is_empty() => {
            out.problems.push(problem("empty file".to_string()))
        }
        (Sniffed::Unknown, Claimed::Image) => out.problems.push(problem(
            "not a JPEG, PNG or WebP file despite its extension (unrecognised content)".to_string(),
        )),
    }
}

/// How many bytes [`sniff`] looks at.
pub const HEAD: usize = 32;

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD);
    fs::File::open(path)?
        .take(HEAD as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_sniff(head: &[u8], expect: Sniffed) {
        assert_eq!(sniff(head), expect, "head {head:?}");
    }

    #[test]
    fn sniffing() {
        check_sniff(
            &[0xFF, 0xD8, 0xFF, 0xE1, 0, 0],
            Sniffed::Image(Format::Jpeg),
        );
        check_sniff(
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            Sniffed::Image(Format::Png),
        );
        check_sniff(b"RIFF\x10\0\0\0WEBPVP8 ", Sniffed::Image(Format::WebP));
        check_sniff(b"RIFF\x10\0\0\0AVI LIST", Sniffed::OtherVideo);
        check_sniff(b"\0\0\0\x18ftypheic\0\0\0\0", Sniffed::Image(Format::Heic));
        check_sniff(
            b"\0\0\0\x1cftypmif1\0\0\0\0mif1heic",
            Sniffed::Image(Format::Heic),
        );
        check_sniff(b"\0\0\0\x1cftypmif1\0\0\0\0mif1avif", Sniffed::Avif);
        check_sniff(b"\0\0\0\x18ftypavif\0\0\0\0", Sniffed::Avif);
        check_sniff(b"\0\0\0\x18ftypqt  \0\0\0\0", Sniffed::Image(Format::Video));
        check_sniff(b"\0\0\0\x18ftypisom\0\0\0\0", Sniffed::Image(Format::Video));
        check_sniff(b"\0\0\0\x08wide\0\0\0\0", Sniffed::Image(Format::Video));
        check_sniff(b"\x1a\x45\xdf\xa3\x01", Sniffed::OtherVideo);
        check_sniff(b"GIF89a", Sniffed::Unknown);
        check_sniff(b"", Sniffed::Unknown);
    }

    /// Builds a folder from (relative path, content) pairs and reports what the scan made of each.
    fn check_scan(files: &[(&str, &[u8])], expect: &str) {
        let dir = tempfile::tempdir().unwrap();
        for (rel, content) in files {
            let path = dir.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        let scan = scan(dir.path());
        let mut got = String::new();
        for p in &scan.photos {
            got += &format!("photo {} {}\n", p.rel, p.format);
        }
        for s in &scan.skipped {
            got += &format!("skipped {}: {}\n", s.rel, s.reason);
        }
        for p in &scan.problems {
            got += &format!("problem {}: {}\n", p.rel, p.problem);
        }
        assert_eq!(got, expect);
    }

    #[test]
    fn scanning() {
        let jpeg: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0];
        let png: &[u8] = b"\x89PNG\r\n\x1a\n";
        check_scan(
            &[
                ("a.jpg", jpeg),
                ("sub/b.PNG", png),
                ("sub/deeper/png-named-jpg.jpg", png),
                ("notes.txt", b"hello"),
                (".hidden/c.jpg", jpeg),
                ("clip.mov", b"\0\0\0\x14ftypqt  "),
                ("IMG_1.HEIC", b"\0\0\0\x18ftypheic"),
                ("IMG_2.avif", b"\0\0\0\x18ftypavif"),
                ("fake.jpg", b"<html>"),
                ("empty.png", b""),
                ("empty.heic", b""),
            ],
            "photo IMG_1.HEIC HEIC\n\
             photo a.jpg JPEG\n\
             photo clip.mov video\n\
             photo sub/b.PNG PNG\n\
             photo sub/deeper/png-named-jpg.jpg PNG\n\
             skipped IMG_2.avif: AVIF photos are not supported (this build has no AV1 decoder)\n\
             problem empty.heic: empty file\n\
             problem empty.png: empty file\n\
             problem fake.jpg: not a JPEG, PNG or WebP file despite its extension (unrecognised content)\n",
        );
    }
}

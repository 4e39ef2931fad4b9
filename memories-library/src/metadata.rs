//! Reads what a photo's EXIF says about when, where and with which camera it was taken.
//!
//! Broken or missing EXIF is normal (screenshots, edited exports, PNGs), so nothing here fails:
//! every field is optional except the capture time, which falls back to the file's modification
//! time and says so in [`TimeSource::FileModified`].

use std::fmt;
use std::io::Cursor;
use std::time::SystemTime;

use chrono::{DateTime, Local, NaiveDateTime, Offset};
use exif::{Exif, Field, In, Tag, Value};
use serde::{Deserialize, Serialize};

/// Where a photo's capture time came from, most trustworthy first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeSource {
    /// EXIF `DateTimeOriginal`: when the shutter was pressed.
    ExifOriginal,
    /// EXIF `DateTimeDigitized`: when the image was stored; equal to the above for cameras.
    ExifDigitized,
    /// TIFF `DateTime`: when the file was last written by software, which for an untouched camera
    /// file is still the capture time and for an edited export is usually close to it.
    ExifModified,
    /// A clip's `com.apple.quicktime.creationdate`: local time with its offset, kept when the
    /// file is edited or re-saved.
    ClipCreationDate,
    /// A clip's movie header `creation_time`, in UTC (the offset is stored as 0): when the file
    /// was written, which a re-save moves.
    ClipContainer,
    /// No EXIF time at all: the file system's modification time, which copying can change.
    FileModified,
}

/// A capture time as the camera's clock showed it, with the UTC offset when it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureTime {
    /// Wall-clock time where the photo was taken.
    pub local: NaiveDateTime,
    /// Minutes east of UTC, from `OffsetTimeOriginal` and friends; most cameras before 2018 omit it.
    pub offset_minutes: Option<i32>,
    pub source: TimeSource,
}

impl CaptureTime {
    /// Seconds on one timeline for sorting and measuring gaps.
    ///
    /// With an offset this is the true UTC instant. Without one the wall-clock time is read as if
    /// it were UTC: photos from one camera then still keep their order and gaps, which is all
    /// event grouping needs, and a library rarely mixes zones within three hours.
    pub fn timeline_secs(&self) -> i64 {
        let wall = self.local.and_utc().timestamp();
        wall - i64::from(self.offset_minutes.unwrap_or(0)) * 60
    }

    pub fn is_file_time(&self) -> bool {
        self.source == TimeSource::FileModified
    }
}

impl fmt::Display for CaptureTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.local.format("%Y-%m-%d %H:%M:%S"))?;
        if let Some(m) = self.offset_minutes {
            let sign = if m < 0 { '-' } else { '+' };
            write!(f, " {sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60)?;
        }
        if self.is_file_time() {
            f.write_str(" (file time)")?;
        }
        Ok(())
    }
}

/// A position in decimal degrees (WGS 84, as GPS receivers write it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl fmt::Display for GeoPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.lat < 0.0 { 'S' } else { 'N' };
        let ew = if self.lon < 0.0 { 'W' } else { 'E' };
        write!(f, "{:.4}°{ns} {:.4}°{ew}", self.lat.abs(), self.lon.abs())
    }
}

/// Everything this crate uses from a photo's EXIF.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoMeta {
    pub taken: CaptureTime,
    pub gps: Option<GeoPoint>,
    /// EXIF orientation 1..=8; 1 (upright) when absent or invalid.
    pub orientation: u8,
    pub make: Option<String>,
    pub model: Option<String>,
    /// Apple's content identifier (a UUID in the maker note of a still, in the QuickTime
    /// metadata of a clip): a Live Photo's still and clip share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_identifier: Option<String>,
}

impl PhotoMeta {
    /// Reads the EXIF block of a JPEG, PNG, WebP or HEIC file held in memory.
    ///
    /// A HEIC's orientation is always 1 here: libheif decodes it upright by its `irot` and
    /// `imir` boxes, which carry the same turn as the EXIF tag.
    pub fn read(bytes: &[u8], modified: SystemTime) -> PhotoMeta {
        let heic =
            crate::scan::sniff(bytes) == crate::scan::Sniffed::Image(crate::scan::Format::Heic);
        let exif = if heic {
            crate::heif::exif(bytes).and_then(parse_raw_exif)
        } else {
            parse_exif(bytes)
        };
        let exif = exif.as_ref();
        let text = |tag| {
            exif.and_then(|e| e.get_field(tag, In::PRIMARY))
                .and_then(ascii)
        };
        let taken = [
            (
                Tag::DateTimeOriginal,
                Tag::OffsetTimeOriginal,
                TimeSource::ExifOriginal,
            ),
            (
                Tag::DateTimeDigitized,
                Tag::OffsetTimeDigitized,
                TimeSource::ExifDigitized,
            ),
            (Tag::DateTime, Tag::OffsetTime, TimeSource::ExifModified),
        ]
        .into_iter()
        .find_map(|(time, offset, source)| {
            let local = parse_datetime(&text(time)?)?;
            let offset_minutes = text(offset).as_deref().and_then(parse_offset);
            Some(CaptureTime {
                local,
                offset_minutes,
                source,
            })
        })
        .unwrap_or_else(|| file_time(modified));
        let orientation = exif
            .and_then(|e| e.get_field(Tag::Orientation, In::PRIMARY))
            .and_then(|f| f.value.get_uint(0))
            .filter(|o| (1..=8).contains(o) && !heic)
            .map_or(1, |o| o as u8);
        PhotoMeta {
            taken,
            gps: exif.and_then(gps),
            orientation,
            make: text(Tag::Make),
            model: text(Tag::Model),
            content_identifier: exif.and_then(apple_content_identifier),
        }
    }

    /// "NIKON COOLPIX P6000"; the make is dropped when the model already starts with it
    /// ("Canon Canon EOS 40D" reads badly).
    pub fn camera(&self) -> Option<String> {
        match (&self.make, &self.model) {
            (Some(make), Some(model)) => {
                let first = make.split_whitespace().next().unwrap_or(make);
                if model.to_lowercase().starts_with(&first.to_lowercase()) {
                    Some(model.clone())
                } else {
                    Some(format!("{make} {model}"))
                }
            }
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            (None, None) => None,
        }
    }
}

/// Parses EXIF leniently: a photo with one malformed tag still has a usable capture time.
fn parse_exif(bytes: &[u8]) -> Option<Exif> {
    let reader = {
        let mut r = exif::Reader::new();
        r.continue_on_error(true);
        r
    };
    match reader.read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => Some(exif),
        Err(e) => e.distill_partial_result(|_ignored| ()).ok(),
    }
}

/// The content identifier in an Apple maker note: `Apple iOS\0`, a version, `MM`, then a
/// big-endian IFD whose offsets count from the note's start; tag 0x11 is the identifier.
fn apple_content_identifier(exif: &Exif) -> Option<String> {
    let field = exif.get_field(Tag::MakerNote, In::PRIMARY)?;
    let Value::Undefined(note, _) = &field.value else {
        return None;
    };
    if !note.starts_with(b"Apple iOS\0") || note.get(12..14) != Some(b"MM") {
        return None;
    }
    let be16 = |at: usize| Some(u16::from_be_bytes(note.get(at..at + 2)?.try_into().ok()?));
    let be32 = |at: usize| Some(u32::from_be_bytes(note.get(at..at + 4)?.try_into().ok()?));
    let count = usize::from(be16(14)?);
    (0..count.min(256)).find_map(|i| {
        let entry = 16 + 12 * i;
        if be16(entry)? != 0x11 || be16(entry + 2)? != 2 {
            return None;
        }
        let len = be32(entry + 4)? as usize;
        let bytes = if len <= 4 {
            note.get(entry + 8..entry + 8 + len)?
        } else {
            let at = be32(entry + 8)? as usize;
            note.get(at..at.checked_add(len)?)?
        };
        let text = String::from_utf8_lossy(bytes)
            .trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_string();
        (!text.is_empty()).then_some(text)
    })
}

/// Parses a bare TIFF-structured EXIF block (a HEIF file's `Exif` item), leniently.
fn parse_raw_exif(tiff: Vec<u8>) -> Option<Exif> {
    let reader = {
        let mut r = exif::Reader::new();
        r.continue_on_error(true);
        r
    };
    match reader.read_raw(tiff) {
        Ok(exif) => Some(exif),
        Err(e) => e.distill_partial_result(|_ignored| ()).ok(),
    }
}

pub(crate) fn file_time(modified: SystemTime) -> CaptureTime {
    let local: DateTime<Local> = modified.into();
    CaptureTime {
        local: local.naive_local(),
        offset_minutes: Some(local.offset().fix().local_minus_utc() / 60),
        source: TimeSource::FileModified,
    }
}

/// The first non-blank string of an ASCII field, trimmed of the padding cameras add.
fn ascii(field: &Field) -> Option<String> {
    let Value::Ascii(parts) = &field.value else {
        return None;
    };
    parts
        .iter()
        .map(|p| {
            String::from_utf8_lossy(p)
                .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_string()
        })
        .find(|s| !s.is_empty())
}

/// EXIF writes "2008:10:22 16:28:39"; some software writes dashes or a `T`, and unset clocks
/// write zeros or blanks, which mean "unknown" rather than year 0.
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    let head = text.get(..19).unwrap_or(text);
    [
        "%Y:%m:%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y:%m:%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(head, format).ok())
    .filter(|t| t.and_utc().timestamp() > 0)
}

/// Parses an EXIF offset such as "+09:00" or "-05:30" into minutes east of UTC.
pub fn parse_offset(text: &str) -> Option<i32> {
    let text = text.trim();
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = h * 60 + m;
    ((0..60).contains(&m) && minutes <= 14 * 60).then_some(sign * minutes)
}

fn gps(exif: &Exif) -> Option<GeoPoint> {
    let coord = |tag, ref_tag, negative: &str| {
        let field = exif.get_field(tag, In::PRIMARY)?;
        let Value::Rational(dms) = &field.value else {
            return None;
        };
        let parts: Vec<f64> = dms.iter().map(|r| r.to_f64()).collect();
        let degrees = dms_to_degrees(&parts)?;
        let hemisphere = exif.get_field(ref_tag, In::PRIMARY).and_then(ascii);
        Some(if hemisphere.as_deref() == Some(negative) {
            -degrees
        } else {
            degrees
        })
    };
    let lat = coord(Tag::GPSLatitude, Tag::GPSLatitudeRef, "S")?;
    let lon = coord(Tag::GPSLongitude, Tag::GPSLongitudeRef, "W")?;
    valid_point(lat, lon)
}

/// Degrees, minutes, seconds as EXIF stores them; a zero denominator gives NaN and is rejected.
pub fn dms_to_degrees(parts: &[f64]) -> Option<f64> {
    let [d, m, s] = parts else { return None };
    let degrees = d + m / 60.0 + s / 3600.0;
    degrees.is_finite().then_some(degrees)
}

/// Rejects out-of-range values and exactly (0, 0), which phones write when they had no fix.
pub fn valid_point(lat: f64, lon: f64) -> Option<GeoPoint> {
    let in_range = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
    (in_range && !(lat == 0.0 && lon == 0.0)).then_some(GeoPoint { lat, lon })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_datetime(input: &str, expect: Option<&str>) {
        let got = parse_datetime(input).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        assert_eq!(got.as_deref(), expect, "input {input:?}");
    }

    #[test]
    fn datetimes() {
        check_datetime("2008:10:22 16:28:39", Some("2008-10-22 16:28:39"));
        check_datetime("2008-10-22 16:28:39", Some("2008-10-22 16:28:39"));
        check_datetime("2008-10-22T16:28:39+02:00", Some("2008-10-22 16:28:39"));
        check_datetime("2008:10:22 16:28", Some("2008-10-22 16:28:00"));
        check_datetime("0000:00:00 00:00:00", None);
        check_datetime("    :  :     :  :  ", None);
        check_datetime("", None);
    }

    fn check_offset(input: &str, expect: Option<i32>) {
        assert_eq!(parse_offset(input), expect, "input {input:?}");
    }

    #[test]
    fn offsets() {
        check_offset("+09:00", Some(540));
        check_offset("-05:30", Some(-330));
        check_offset("+00:00", Some(0));
        check_offset("09:00", None);
        check_offset("+25:00", None);
        check_offset("+01:75", None);
        check_offset("   :  ", None);
    }

    fn check_point(dms_lat: &[f64], dms_lon: &[f64], expect: Option<(f64, f64)>) {
        let got = dms_to_degrees(dms_lat)
            .zip(dms_to_degrees(dms_lon))
            .and_then(|(lat, lon)| valid_point(lat, lon))
            .map(|p| ((p.lat * 1e4).round() / 1e4, (p.lon * 1e4).round() / 1e4));
        assert_eq!(got, expect);
    }

    #[test]
    fn gps_points() {
        check_point(
            &[43.0, 28.0, 2.81],
            &[11.0, 53.0, 6.46],
            Some((43.4674, 11.8851)),
        );
        check_point(&[0.0, 0.0, 0.0], &[0.0, 0.0, 0.0], None);
        check_point(&[91.0, 0.0, 0.0], &[1.0, 0.0, 0.0], None);
        check_point(&[f64::NAN, 0.0, 0.0], &[1.0, 0.0, 0.0], None);
        check_point(&[1.0, 0.0], &[1.0, 0.0, 0.0], None);
    }

    fn check_camera(make: Option<&str>, model: Option<&str>, expect: Option<&str>) {
        let meta = PhotoMeta {
            taken: file_time(SystemTime::UNIX_EPOCH),
            gps: None,
            orientation: 1,
            make: make.map(str::to_string),
            model: model.map(str::to_string),
            content_identifier: None,
        };
        assert_eq!(meta.camera().as_deref(), expect);
    }

    #[test]
    fn camera_names() {
        check_camera(
            Some("NIKON"),
            Some("COOLPIX P6000"),
            Some("NIKON COOLPIX P6000"),
        );
        check_camera(Some("Canon"), Some("Canon EOS 40D"), Some("Canon EOS 40D"));
        check_camera(
            Some("NIKON CORPORATION"),
            Some("NIKON D70"),
            Some("NIKON D70"),
        );
        check_camera(None, Some("SM-G955U"), Some("SM-G955U"));
        check_camera(None, None, None);
    }

    #[test]
    fn timeline_uses_offset_when_known() {
        let local = parse_datetime("2020:01:01 12:00:00").unwrap();
        let at = |offset_minutes| {
            CaptureTime {
                local,
                offset_minutes,
                source: TimeSource::ExifOriginal,
            }
            .timeline_secs()
        };
        // Noon in Tokyo happens nine hours before noon in UTC.
        assert_eq!(at(None) - at(Some(540)), 9 * 3600);
    }

    #[test]
    fn no_exif_falls_back_to_file_time() {
        let meta = PhotoMeta::read(b"not an image", SystemTime::UNIX_EPOCH);
        assert_eq!(meta.taken.source, TimeSource::FileModified);
        assert_eq!(meta.orientation, 1);
        assert_eq!(meta.gps, None);
    }
}

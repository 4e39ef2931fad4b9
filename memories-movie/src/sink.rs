//! Where rendered frames go: the encoder, PNG files of chosen frames, or several at once; and the
//! atomic writes of images.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::MovieError;

/// Where the frames of a movie go, one packed RGB8 frame (width x height x 3 bytes) at a time,
/// in order. The encoder implements it; so does [`PngFrames`].
pub trait FrameSink {
    fn push(&mut self, rgb: &[u8]) -> Result<(), MovieError>;
}

/// Sends each frame to several sinks.
pub struct Tee<'a>(pub Vec<&'a mut dyn FrameSink>);

impl std::fmt::Debug for Tee<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tee({} sinks)", self.0.len())
    }
}

impl FrameSink for Tee<'_> {
    fn push(&mut self, rgb: &[u8]) -> Result<(), MovieError> {
        for sink in &mut self.0 {
            sink.push(rgb)?;
        }
        Ok(())
    }
}

/// Keeps chosen frames of a movie as PNG files `<dir>/<stem>-<frame>.png`, written atomically:
/// the way to look at a movie's frames without decoding it.
#[derive(Debug)]
pub struct PngFrames {
    dir: PathBuf,
    stem: String,
    width: usize,
    height: usize,
    wanted: BTreeSet<usize>,
    next: usize,
    pub written: Vec<PathBuf>,
}

impl PngFrames {
    pub fn new(dir: &Path, stem: &str, (width, height): (usize, usize), frames: &[usize]) -> Self {
        PngFrames {
            dir: dir.to_path_buf(),
            stem: stem.to_string(),
            width,
            height,
            wanted: frames.iter().copied().collect(),
            next: 0,
            written: Vec::new(),
        }
    }
}

impl FrameSink for PngFrames {
    fn push(&mut self, rgb: &[u8]) -> Result<(), MovieError> {
        let frame = self.next;
        self.next += 1;
        if !self.wanted.contains(&frame) {
            return Ok(());
        }
        let path = self.dir.join(format!("{}-{frame:05}.png", self.stem));
        let bytes = encode_image(rgb, self.width, self.height, image::ImageFormat::Png).map_err(
            |source| MovieError::Write {
                path: path.clone(),
                source,
            },
        )?;
        write_file(&path, &bytes)?;
        self.written.push(path);
        Ok(())
    }
}

/// Encodes a packed RGB8 frame as PNG or JPEG (quality 90) in memory.
pub fn encode_image(
    rgb: &[u8],
    width: usize,
    height: usize,
    format: image::ImageFormat,
) -> std::io::Result<Vec<u8>> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    let result = if format == image::ImageFormat::Jpeg {
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90).encode(
            rgb,
            width as u32,
            height as u32,
            image::ExtendedColorType::Rgb8,
        )
    } else {
        image::RgbImage::from_raw(width as u32, height as u32, rgb.to_vec())
            .expect("frame buffer matches its size")
            .write_to(&mut bytes, format)
    };
    result.map_err(std::io::Error::other)?;
    Ok(bytes.into_inner())
}

/// Writes a file atomically ([`memories_fs::write_atomically`]).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), MovieError> {
    Ok(memories_fs::write_atomically(path, bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_frames_keep_exactly_the_chosen_frames() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (4, 2);
        let mut sink = PngFrames::new(dir.path(), "m", (w, h), &[1, 3]);
        for n in 0..3u8 {
            sink.push(&vec![n * 50; w * h * 3]).unwrap();
        }
        assert_eq!(sink.written, [dir.path().join("m-00001.png")]);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary files left");
        let png = image::open(&sink.written[0]).unwrap().into_rgb8();
        assert_eq!(png.as_raw(), &vec![50u8; w * h * 3]);
    }
}

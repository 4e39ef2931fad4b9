//! HEIC stills decoded small, for the index: the HEIF items are read here, each HEVC tile is
//! decoded by FFmpeg's libavcodec (the decoder the clips use for H.264), and each tile is
//! averaged down to the size asked for as it comes out of the decoder, in YCbCr, before any
//! RGB is made.
//!
//! Why not libheif, which reads every HEIC: the index needs a 640-pixel picture of a 12 MP
//! still. A JPEG of that size decodes at 1/4 or 1/8 scale in the DCT; HEVC has no such
//! shortcut, and libheif with libde265 decodes and converts all 12 million pixels at full
//! quality first. libavcodec's HEVC decoder is faster than libde265; the in-loop filters
//! (deblocking, SAO) can be skipped, since their work is lost in a 4x reduction; and only the
//! reduced picture is converted to RGB. `cargo bench -p memories --bench phone` measures the
//! gain; `memories/tests/phone.rs` checks every phone HEIC against libheif's full decode.
//!
//! What is read: a primary item that is an HEVC image (`hvc1`) or a grid (`grid`) of them, its
//! `ispe`, `irot`, `imir` and `colr` (nclx) properties, 8- or 10-bit 4:2:0. Anything else (a
//! `clap` crop, an overlay, AV1, 4:4:4, monochrome, an essential property not known here) is
//! [`HeicError::Unsupported`], and the caller decodes the file with libheif instead.

use std::fmt;

use crate::clip::{be16, be32, be64, child, children};
use crate::frames::{Colour, hevc_config, nal_units};

/// Largest picture read (as in [`crate::frames`]): a grid that claims more is refused before
/// anything is decoded.
const MAX_PIXELS: u64 = 64 << 20;

/// Why a HEIC was not decoded here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeicError {
    /// A valid file using something this reader does not do; libheif may.
    Unsupported(String),
    /// The file is broken: a box or an item points outside the file, a tile does not decode.
    Broken(String),
}

impl fmt::Display for HeicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeicError::Unsupported(m) => write!(f, "unsupported HEIC: {m}"),
            HeicError::Broken(m) => write!(f, "broken HEIC: {m}"),
        }
    }
}

impl std::error::Error for HeicError {}

fn unsupported<T>(message: impl Into<String>) -> Result<T, HeicError> {
    Err(HeicError::Unsupported(message.into()))
}

fn broken<T>(message: impl Into<String>) -> Result<T, HeicError> {
    Err(HeicError::Broken(message.into()))
}

/// A still decoded at a reduced size, upright.
#[derive(Debug, Clone)]
pub struct Reduced {
    pub width: u32,
    pub height: u32,
    /// RGB, 3 bytes a pixel, rows top to bottom.
    pub rgb: Vec<u8>,
    /// The upright size of the full image.
    pub full_width: u32,
    pub full_height: u32,
}

/// A transform applied to the decoded image, in the order the item lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    /// `irot`: turn anticlockwise by this many quarter turns.
    Rotate(u8),
    /// `imir`: top and bottom swap when true, left and right when false. Axis 0 swaps top and
    /// bottom, as libheif reads it (and as the phones' own viewers do); the first edition of
    /// the standard could be read the other way.
    Mirror { top_bottom: bool },
}

/// One HEVC-coded tile: where its bytes lie and which `hvcC` it is decoded with.
#[derive(Debug, Clone)]
struct Tile<'a> {
    data: Vec<&'a [u8]>,
    config: &'a [u8],
}

/// The primary image, as read from the `meta` box.
#[derive(Debug)]
struct Still<'a> {
    /// Tiles in row-major order; one for a plain `hvc1` item.
    tiles: Vec<Tile<'a>>,
    columns: u32,
    tile_width: u32,
    tile_height: u32,
    /// The size of the image before transforms (the grid's output size, the tiles' crop).
    width: u32,
    height: u32,
    transforms: Vec<Transform>,
    /// The colour stated by the item's `colr` box, which wins over the streams'.
    colour: Option<Colour>,
}

/// The `iloc` entry of one item.
#[derive(Debug, Clone)]
struct Location {
    method: u16,
    base: u64,
    /// (offset, length) pairs; a length of 0 runs to the end.
    extents: Vec<(u64, u64)>,
}

/// Reads a big-endian number of `size` bytes (0, 4 or 8) at `*at`, moving `*at` on.
fn sized(b: &[u8], at: &mut usize, size: u8) -> Option<u64> {
    let v = match size {
        0 => 0,
        4 => u64::from(be32(b, *at)?),
        8 => be64(b, *at)?,
        _ => return None,
    };
    *at += usize::from(size);
    Some(v)
}

fn parse_iloc(iloc: &[u8]) -> Option<Vec<(u32, Location)>> {
    let version = *iloc.first()?;
    let (sizes, more) = (*iloc.get(4)?, *iloc.get(5)?);
    let (offset_size, length_size, base_size) = (sizes >> 4, sizes & 15, more >> 4);
    let index_size = if version >= 1 { more & 15 } else { 0 };
    let mut at = 6;
    let count = if version < 2 {
        at += 2;
        u32::from(be16(iloc, 6)?)
    } else {
        at += 4;
        be32(iloc, 6)?
    };
    let mut items = Vec::new();
    for _ in 0..count {
        let id = if version < 2 {
            at += 2;
            u32::from(be16(iloc, at - 2)?)
        } else {
            at += 4;
            be32(iloc, at - 4)?
        };
        let method = if version >= 1 {
            at += 2;
            be16(iloc, at - 2)? & 15
        } else {
            0
        };
        at += 2; // data_reference_index
        let base = sized(iloc, &mut at, base_size)?;
        let extent_count = be16(iloc, at)?;
        at += 2;
        let mut extents = Vec::with_capacity(usize::from(extent_count));
        for _ in 0..extent_count {
            sized(iloc, &mut at, index_size)?;
            let offset = sized(iloc, &mut at, offset_size)?;
            let length = sized(iloc, &mut at, length_size)?;
            extents.push((offset, length));
        }
        items.push((
            id,
            Location {
                method,
                base,
                extents,
            },
        ));
    }
    Some(items)
}

/// `(item id, item type)` for each `infe` of version 2 or 3.
fn parse_iinf(iinf: &[u8]) -> Option<Vec<(u32, [u8; 4])>> {
    let version = *iinf.first()?;
    let start = if version == 0 { 6 } else { 8 };
    let mut items = Vec::new();
    for (kind, infe) in children(iinf.get(start..)?) {
        if &kind != b"infe" {
            continue;
        }
        let item = match *infe.first()? {
            2 => (u32::from(be16(infe, 4)?), infe.get(8..12)?),
            3 => (be32(infe, 4)?, infe.get(10..14)?),
            _ => continue,
        };
        items.push((item.0, item.1.try_into().ok()?));
    }
    Some(items)
}

/// One `iref` entry: `from` refers to each of `to` with reference type `kind` (`dimg`: the
/// tiles of a grid, `thmb`: a thumbnail).
struct Reference {
    kind: [u8; 4],
    from: u32,
    to: Vec<u32>,
}

/// An item's property: its type, its payload, and whether a reader must understand it.
#[derive(Clone, Copy)]
struct Property<'a> {
    essential: bool,
    kind: [u8; 4],
    body: &'a [u8],
}

/// One `ipma` entry: an item's properties as `(essential, index into ipco from 1)`, in order.
struct Association {
    item: u32,
    properties: Vec<(bool, usize)>,
}

fn parse_iref(iref: &[u8]) -> Option<Vec<Reference>> {
    let wide = *iref.first()? != 0;
    let id = |b: &[u8], at: usize| {
        if wide {
            be32(b, at)
        } else {
            be16(b, at).map(u32::from)
        }
    };
    let step = if wide { 4 } else { 2 };
    let mut refs = Vec::new();
    for (kind, body) in children(iref.get(4..)?) {
        let from = id(body, 0)?;
        let count = usize::from(be16(body, step)?);
        let to = (0..count)
            .map(|i| id(body, step + 2 + i * step))
            .collect::<Option<Vec<_>>>()?;
        refs.push(Reference { kind, from, to });
    }
    Some(refs)
}

fn parse_ipma(ipma: &[u8]) -> Option<Vec<Association>> {
    let version = *ipma.first()?;
    let wide_index = be32(ipma, 0)? & 1 != 0;
    let count = be32(ipma, 4)?;
    let mut at = 8;
    let mut items = Vec::new();
    for _ in 0..count {
        let id = if version < 1 {
            at += 2;
            u32::from(be16(ipma, at - 2)?)
        } else {
            at += 4;
            be32(ipma, at - 4)?
        };
        let n = *ipma.get(at)?;
        at += 1;
        let mut properties = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let (essential, index) = if wide_index {
                at += 2;
                let v = be16(ipma, at - 2)?;
                (v & 0x8000 != 0, usize::from(v & 0x7fff))
            } else {
                at += 1;
                let v = *ipma.get(at - 1)?;
                (v & 0x80 != 0, usize::from(v & 0x7f))
            };
            properties.push((essential, index));
        }
        items.push(Association {
            item: id,
            properties,
        });
    }
    Some(items)
}

/// The item's bytes, as one or more slices of the file (or of `idat`).
fn item_data<'a>(
    file: &'a [u8],
    idat: Option<&'a [u8]>,
    location: &Location,
) -> Result<Vec<&'a [u8]>, HeicError> {
    let source = match location.method {
        0 => file,
        1 => match idat {
            Some(idat) => idat,
            None => return broken("an item lies in `idat`, and there is none"),
        },
        m => return unsupported(format!("items built by construction method {m}")),
    };
    location
        .extents
        .iter()
        .map(|&(offset, length)| {
            let start = location.base.checked_add(offset);
            let end = match length {
                0 => Some(source.len() as u64),
                n => start.and_then(|s| s.checked_add(n)),
            };
            match (start, end) {
                (Some(s), Some(e)) if s <= e && e <= source.len() as u64 => {
                    Ok(&source[s as usize..e as usize])
                }
                _ => broken(format!(
                    "an item's bytes ({offset}+{length}) run past the end of the file ({} bytes)",
                    source.len()
                )),
            }
        })
        .collect()
}

impl<'a> Still<'a> {
    fn read(file: &'a [u8]) -> Result<Still<'a>, HeicError> {
        let meta = children(file)
            .find(|(k, _)| k == b"meta")
            .map(|(_, b)| b)
            .ok_or(HeicError::Broken("no `meta` box".to_string()))?;
        let meta = meta
            .get(4..)
            .ok_or(HeicError::Broken("an empty `meta` box".to_string()))?;
        let bad = |what: &str| HeicError::Broken(format!("its `{what}` box is broken"));
        let pitm = child(meta, b"pitm").ok_or(bad("pitm"))?;
        let primary = match pitm.first() {
            Some(0) => be16(pitm, 4).map(u32::from),
            _ => be32(pitm, 4),
        }
        .ok_or(bad("pitm"))?;
        let types = parse_iinf(child(meta, b"iinf").ok_or(bad("iinf"))?).ok_or(bad("iinf"))?;
        let locations = parse_iloc(child(meta, b"iloc").ok_or(bad("iloc"))?).ok_or(bad("iloc"))?;
        let refs = match child(meta, b"iref") {
            Some(iref) => parse_iref(iref).ok_or(bad("iref"))?,
            None => Vec::new(),
        };
        let iprp = child(meta, b"iprp").ok_or(bad("iprp"))?;
        let ipco: Vec<([u8; 4], &[u8])> =
            children(child(iprp, b"ipco").ok_or(bad("ipco"))?).collect();
        let mut associations = Vec::new();
        for (kind, body) in children(iprp) {
            if &kind == b"ipma" {
                associations.extend(parse_ipma(body).ok_or(bad("ipma"))?);
            }
        }
        let idat = child(meta, b"idat");

        let kind_of = |id: u32| types.iter().find(|(i, _)| *i == id).map(|(_, k)| *k);
        let properties = |id: u32| -> Result<Vec<Property<'a>>, HeicError> {
            let mut list = Vec::new();
            for association in associations.iter().filter(|a| a.item == id) {
                for &(essential, index) in &association.properties {
                    if index == 0 {
                        continue;
                    }
                    let &(kind, body) = ipco.get(index - 1).ok_or(HeicError::Broken(format!(
                        "item {id} has property {index}, which is not there"
                    )))?;
                    list.push(Property {
                        essential,
                        kind,
                        body,
                    });
                }
            }
            Ok(list)
        };
        let data = |id: u32| -> Result<Vec<&'a [u8]>, HeicError> {
            let location = locations
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, l)| l)
                .ok_or(HeicError::Broken(format!("item {id} has no location")))?;
            item_data(file, idat, location)
        };
        let find = |props: &[Property<'a>], kind: &[u8; 4]| {
            props.iter().find(|p| &p.kind == kind).map(|p| p.body)
        };
        let tile = |id: u32| -> Result<(Tile<'a>, (u32, u32)), HeicError> {
            match kind_of(id) {
                Some(k) if &k == b"hvc1" => {}
                Some(k) => {
                    return unsupported(format!(
                        "a `{}` image, not HEVC",
                        String::from_utf8_lossy(&k)
                    ));
                }
                None => return broken(format!("item {id} is not listed in `iinf`")),
            }
            let props = properties(id)?;
            let config = find(&props, b"hvcC")
                .ok_or(HeicError::Broken(format!("HEVC item {id} has no `hvcC`")))?;
            let size = find(&props, b"ispe")
                .and_then(|b| Some((be32(b, 4)?, be32(b, 8)?)))
                .ok_or(HeicError::Broken(format!("HEVC item {id} has no `ispe`")))?;
            Ok((
                Tile {
                    data: data(id)?,
                    config,
                },
                size,
            ))
        };

        let props = properties(primary)?;
        let mut transforms = Vec::new();
        let mut colour = None;
        for &Property {
            essential,
            kind,
            body,
        } in &props
        {
            match &kind {
                b"irot" => transforms.push(Transform::Rotate(body.first().ok_or(bad("irot"))? & 3)),
                b"imir" => transforms.push(Transform::Mirror {
                    top_bottom: body.first().ok_or(bad("imir"))? & 1 == 0,
                }),
                b"colr" if body.get(..4) == Some(b"nclx") => {
                    let matrix = be16(body, 8).ok_or(bad("colr"))?;
                    let full = body.get(10).ok_or(bad("colr"))? & 0x80 != 0;
                    colour = Some(colour_of(matrix, full)?);
                }
                b"clap" => return unsupported("a clean-aperture crop (`clap`)"),
                b"ispe" | b"hvcC" | b"colr" | b"pixi" | b"pasp" | b"clli" | b"mdcv" => {}
                other if essential => {
                    return unsupported(format!(
                        "an essential `{}` property",
                        String::from_utf8_lossy(other)
                    ));
                }
                _ => {}
            }
        }

        let (tiles, columns, rows, tile_size, (width, height)) = match kind_of(primary) {
            Some(k) if &k == b"grid" => {
                let bytes: Vec<u8> = data(primary)?.concat();
                let grid = parse_grid(&bytes).ok_or(bad("grid"))?;
                let ids = refs
                    .iter()
                    .find(|r| &r.kind == b"dimg" && r.from == primary)
                    .map(|r| r.to.clone())
                    .ok_or(HeicError::Broken("its grid names no tiles".to_string()))?;
                if ids.len() != (grid.columns * grid.rows) as usize {
                    return broken(format!(
                        "its {}x{} grid has {} tiles",
                        grid.columns,
                        grid.rows,
                        ids.len()
                    ));
                }
                let mut tiles = Vec::with_capacity(ids.len());
                let mut size = None;
                for id in ids {
                    let (tile, this) = tile(id)?;
                    if *size.get_or_insert(this) != this {
                        return unsupported("grid tiles of different sizes");
                    }
                    tiles.push(tile);
                }
                let size = size.unwrap_or((0, 0));
                (
                    tiles,
                    grid.columns,
                    grid.rows,
                    size,
                    (grid.width, grid.height),
                )
            }
            Some(k) if &k == b"hvc1" => {
                let (tile, size) = tile(primary)?;
                (vec![tile], 1, 1, size, size)
            }
            Some(k) => {
                return unsupported(format!(
                    "its primary image is `{}`",
                    String::from_utf8_lossy(&k)
                ));
            }
            None => return broken("its primary item is not listed in `iinf`"),
        };
        let (tile_width, tile_height) = tile_size;
        if width == 0 || height == 0 || u64::from(width) * u64::from(height) > MAX_PIXELS {
            return broken(format!("its image is {width}x{height} pixels"));
        }
        if u64::from(tile_width) * u64::from(columns) < u64::from(width)
            || u64::from(tile_height) * u64::from(rows) < u64::from(height)
        {
            return broken(format!(
                "{columns}x{rows} tiles of {tile_width}x{tile_height} do not cover {width}x{height}"
            ));
        }
        Ok(Still {
            tiles,
            columns,
            tile_width,
            tile_height,
            width,
            height,
            transforms,
            colour,
        })
    }

    /// The upright size after the transforms.
    fn upright(&self) -> (u32, u32) {
        let turns = self
            .transforms
            .iter()
            .filter(|t| matches!(t, Transform::Rotate(1 | 3)))
            .count();
        if turns % 2 == 1 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

struct Grid {
    rows: u32,
    columns: u32,
    width: u32,
    height: u32,
}

fn parse_grid(b: &[u8]) -> Option<Grid> {
    let wide = b.get(1)? & 1 != 0;
    let (rows, columns) = (u32::from(*b.get(2)?) + 1, u32::from(*b.get(3)?) + 1);
    let (width, height) = if wide {
        (be32(b, 4)?, be32(b, 8)?)
    } else {
        (u32::from(be16(b, 4)?), u32::from(be16(b, 6)?))
    };
    Some(Grid {
        rows,
        columns,
        width,
        height,
    })
}

fn colour_of(matrix: u16, full_range: bool) -> Result<Colour, HeicError> {
    match matrix {
        // 2 is "unspecified", read as BT.601 (as libheif reads it).
        1 | 2 | 5 | 6 | 9 | 10 => Ok(Colour {
            matrix: if matrix == 2 { 6 } else { matrix as u8 },
            full_range,
        }),
        m => unsupported(format!("colour matrix {m}")),
    }
}

/// How many times smaller each side is decoded: the largest of 1, 2, 4 and 8 that keeps the
/// long side at least `max_side` (as a JPEG's DCT scaling is chosen), and that divides the
/// tiles so no output pixel straddles two.
fn factor(still: &Still<'_>, max_side: u32) -> u32 {
    let long = still.width.max(still.height);
    [8, 4, 2]
        .into_iter()
        .find(|&f| {
            long.div_ceil(f) >= max_side
                && (still.tiles.len() == 1
                    || (still.tile_width.is_multiple_of(f) && still.tile_height.is_multiple_of(f)))
        })
        .unwrap_or(1)
}

/// The upright size of the primary image of a HEIC held in memory, from its boxes alone.
pub fn size(bytes: &[u8]) -> Result<(u32, u32), HeicError> {
    Ok(Still::read(bytes)?.upright())
}

/// Decodes the primary image of a HEIC held in memory at a reduced size: each side `1/f` of the
/// full image's for `f` in 1, 2, 4 or 8, the largest that keeps the long side at least
/// `max_side`. From a reduction of 4 on, libavcodec skips HEVC's in-loop filters (deblocking
/// and SAO): what they change is lost in the averaging (the phone tests compare the result with
/// libheif's), and skipping them saves about 5% of the decoding.
pub fn decode_reduced(bytes: &[u8], max_side: u32) -> Result<Reduced, HeicError> {
    let still = Still::read(bytes)?;
    let f = factor(&still, max_side.max(1));
    let (ow, oh) = (still.width.div_ceil(f), still.height.div_ceil(f));
    let mut canvas = Canvas {
        width: ow as usize,
        y: vec![0; (ow * oh) as usize],
        cb: vec![0; (ow * oh) as usize],
        cr: vec![0; (ow * oh) as usize],
    };
    let mut stream_colour = None;
    let mut decoder = TileDecoder::new(f >= 4)?;
    // Tiles are intra pictures, each shown once, so they come out in the order they went in.
    let mut done = 0usize;
    let mut take = |decoder: &mut TileDecoder| -> Result<(), HeicError> {
        while let Some(frame) = decoder.receive()? {
            if done >= still.tiles.len() {
                return broken("the decoder gave more pictures than there are tiles");
            }
            let colour = reduce_tile(&still, done, &frame, f, &mut canvas)?;
            stream_colour.get_or_insert(colour);
            done += 1;
        }
        Ok(())
    };
    for tile in &still.tiles {
        decoder.send(tile)?;
        take(&mut decoder)?;
    }
    decoder.finish()?;
    take(&mut decoder)?;
    if done != still.tiles.len() {
        return broken(format!(
            "{} of its {} tiles did not decode",
            still.tiles.len() - done,
            still.tiles.len()
        ));
    }
    let colour = match (still.colour, stream_colour) {
        (Some(c), _) => c,
        (None, Some(c)) => c,
        (None, None) => return broken("no tile decoded"),
    };
    let rgb = canvas.to_rgb(colour);
    let (mut w, mut h, mut rgb) = (ow, oh, rgb);
    for &t in &still.transforms {
        (w, h, rgb) = apply(t, w, h, rgb);
    }
    let (full_width, full_height) = still.upright();
    Ok(Reduced {
        width: w,
        height: h,
        rgb,
        full_width,
        full_height,
    })
}

/// The reduced picture in YCbCr, 8 bits a sample, one chroma sample per pixel.
struct Canvas {
    width: usize,
    y: Vec<u8>,
    cb: Vec<u8>,
    cr: Vec<u8>,
}

impl Canvas {
    fn to_rgb(&self, colour: Colour) -> Vec<u8> {
        let [luma, cr_r, cb_g, cr_g, cb_b] = colour.factors();
        let black = if colour.full_range { 0 } else { 16 };
        let clamp = |v: i32| ((v + (1 << 15)) >> 16).clamp(0, 255) as u8;
        let mut rgb = Vec::with_capacity(self.y.len() * 3);
        for ((&y, &cb), &cr) in self.y.iter().zip(&self.cb).zip(&self.cr) {
            let l = luma * (i32::from(y) - black);
            let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
            rgb.push(clamp(l + cr_r * cr));
            rgb.push(clamp(l - cb_g * cb - cr_g * cr));
            rgb.push(clamp(l + cb_b * cb));
        }
        rgb
    }
}

/// One decoded tile's planes: 8-bit, or 16-bit little-endian holding `bits` bits.
struct TileFrame {
    frame: ffmpeg_next::frame::Video,
    bits: u32,
    colour: Colour,
}

/// Averages tile number `index` into `canvas`, `f` by `f` pixels to one; returns the colour its
/// stream states.
fn reduce_tile(
    still: &Still<'_>,
    index: usize,
    tile: &TileFrame,
    f: u32,
    canvas: &mut Canvas,
) -> Result<Colour, HeicError> {
    let frame = &tile.frame;
    let (tw, th) = (frame.width(), frame.height());
    if tw < still.tile_width || th < still.tile_height {
        return broken(format!(
            "tile {index} decodes to {tw}x{th}, not the {}x{} its `ispe` says",
            still.tile_width, still.tile_height
        ));
    }
    let index = index as u32;
    let (x0, y0) = (
        (index % still.columns) * still.tile_width,
        (index / still.columns) * still.tile_height,
    );
    // The part of the tile inside the image.
    let w = still.tile_width.min(still.width.saturating_sub(x0)) as usize;
    let h = still.tile_height.min(still.height.saturating_sub(y0)) as usize;
    if w == 0 || h == 0 {
        return Ok(tile.colour);
    }
    let f = f as usize;
    let at = (y0 as usize / f) * canvas.width + x0 as usize / f;
    let plane = |i: usize| Plane {
        data: frame.data(i),
        stride: frame.stride(i),
        bits: tile.bits,
    };
    average(plane(0), w, h, f, &mut canvas.y[at..], canvas.width);
    // 4:2:0: chroma has half the samples each way, so half the block; at full size each chroma
    // sample is repeated over its 2x2 pixels.
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    for (i, out) in [(1, &mut canvas.cb), (2, &mut canvas.cr)] {
        if f >= 2 {
            average(plane(i), cw, ch, f / 2, &mut out[at..], canvas.width);
        } else {
            let source = plane(i);
            for y in 0..h {
                let row = &mut out[at + y * canvas.width..][..w];
                for (x, o) in row.iter_mut().enumerate() {
                    *o = source.get(y / 2, x / 2);
                }
            }
        }
    }
    Ok(tile.colour)
}

/// One plane of a decoded tile: 8-bit samples, or 16-bit little-endian ones holding `bits`.
struct Plane<'a> {
    data: &'a [u8],
    stride: usize,
    bits: u32,
}

impl Plane<'_> {
    fn get(&self, y: usize, x: usize) -> u8 {
        if self.bits > 8 {
            let i = y * self.stride + 2 * x;
            (u16::from_le_bytes([self.data[i], self.data[i + 1]]) >> (self.bits - 8)) as u8
        } else {
            self.data[y * self.stride + x]
        }
    }

    /// Adds row `y`'s first `w` samples (at 8 bits) into `sums`, sample by sample.
    fn add_row(&self, y: usize, sums: &mut [u16]) {
        let line = &self.data[y * self.stride..];
        if self.bits > 8 {
            let shift = self.bits - 8;
            for (sum, b) in sums.iter_mut().zip(line.chunks_exact(2)) {
                *sum += u16::from_le_bytes([b[0], b[1]]) >> shift;
            }
        } else {
            for (sum, &v) in sums.iter_mut().zip(line) {
                *sum += u16::from(v);
            }
        }
    }
}

/// Averages `block` by `block` squares of the plane's top-left `w` by `h` samples into `out`,
/// whose rows are `out_stride` apart (squares at the right and bottom edges may be smaller).
fn average(plane: Plane<'_>, w: usize, h: usize, block: usize, out: &mut [u8], out_stride: usize) {
    // Rows are summed sample by sample first (at most 8 rows of 255: no overflow in 16 bits),
    // then each row of sums in blocks.
    let mut sums = vec![0u16; w];
    for oy in 0..h.div_ceil(block) {
        sums.fill(0);
        let rows = oy * block..((oy + 1) * block).min(h);
        let tall = rows.len();
        for y in rows {
            plane.add_row(y, &mut sums);
        }
        let row = &mut out[oy * out_stride..][..w.div_ceil(block)];
        for (o, chunk) in row.iter_mut().zip(sums.chunks(block)) {
            let n = (tall * chunk.len()) as u32;
            let sum: u32 = chunk.iter().map(|&v| u32::from(v)).sum();
            *o = ((sum + n / 2) / n) as u8;
        }
    }
}

/// Applies one `irot` or `imir` to an RGB picture.
fn apply(t: Transform, w: u32, h: u32, rgb: Vec<u8>) -> (u32, u32, Vec<u8>) {
    let (w, h) = (w as usize, h as usize);
    let (ow, oh) = match t {
        Transform::Rotate(1 | 3) => (h, w),
        _ => (w, h),
    };
    // Where the pixel at (x, y) goes.
    let to = |x: usize, y: usize| match t {
        // Anticlockwise quarter turns.
        Transform::Rotate(1) => (y, w - 1 - x),
        Transform::Rotate(2) => (w - 1 - x, h - 1 - y),
        Transform::Rotate(3) => (h - 1 - y, x),
        Transform::Rotate(_) => (x, y),
        Transform::Mirror { top_bottom: false } => (w - 1 - x, y),
        Transform::Mirror { top_bottom: true } => (x, h - 1 - y),
    };
    let mut out = vec![0u8; rgb.len()];
    for y in 0..h {
        for x in 0..w {
            let (tx, ty) = to(x, y);
            let (from, into) = ((y * w + x) * 3, (ty * ow + tx) * 3);
            out[into..into + 3].copy_from_slice(&rgb[from..from + 3]);
        }
    }
    (ow as u32, oh as u32, out)
}

/// libavcodec's HEVC decoder, fed one tile a packet in Annex B.
struct TileDecoder {
    decoder: ffmpeg_next::decoder::Video,
    /// The `hvcC` whose parameter sets were last sent.
    config: Option<Vec<u8>>,
}

fn av(e: ffmpeg_next::Error) -> HeicError {
    HeicError::Broken(format!("HEVC decoding failed: {e}"))
}

impl TileDecoder {
    fn new(skip_filters: bool) -> Result<TileDecoder, HeicError> {
        crate::frames::quiet_libav();
        let hevc = ffmpeg_next::decoder::find(ffmpeg_next::codec::Id::HEVC).ok_or(
            HeicError::Unsupported("libavcodec has no HEVC decoder".to_string()),
        )?;
        let mut context = ffmpeg_next::codec::Context::new_with_codec(hevc);
        // One thread: the index decodes one photo per core already.
        context.set_threading(ffmpeg_next::threading::Config {
            kind: ffmpeg_next::threading::Type::None,
            count: 1,
            ..Default::default()
        });
        let mut decoder = context.decoder();
        if skip_filters {
            decoder.skip_loop_filter(ffmpeg_next::codec::discard::Discard::All);
        }
        Ok(TileDecoder {
            decoder: decoder.video().map_err(av)?,
            config: None,
        })
    }

    fn send(&mut self, tile: &Tile<'_>) -> Result<(), HeicError> {
        let config = hevc_config(tile.config).ok_or(HeicError::Broken(
            "a tile's `hvcC` record is broken".to_string(),
        ))?;
        let mut annex_b = Vec::new();
        if self.config.as_deref() != Some(tile.config) {
            for set in &config.parameter_sets {
                annex_b.extend_from_slice(&[0, 0, 0, 1]);
                annex_b.extend_from_slice(set);
            }
            self.config = Some(tile.config.to_vec());
        }
        let data: Vec<u8> = tile.data.concat();
        for unit in nal_units(&data, config.length_size).map_err(|e| HeicError::Broken(e.0))? {
            annex_b.extend_from_slice(&[0, 0, 0, 1]);
            annex_b.extend_from_slice(unit);
        }
        self.decoder
            .send_packet(&ffmpeg_next::Packet::copy(&annex_b))
            .map_err(av)
    }

    fn finish(&mut self) -> Result<(), HeicError> {
        self.decoder.send_eof().map_err(av)
    }

    fn receive(&mut self) -> Result<Option<TileFrame>, HeicError> {
        use ffmpeg_next::format::Pixel;
        let mut frame = ffmpeg_next::frame::Video::empty();
        if self.decoder.receive_frame(&mut frame).is_err() {
            return Ok(None);
        }
        let bits = match frame.format() {
            Pixel::YUV420P | Pixel::YUVJ420P => 8,
            Pixel::YUV420P10LE => 10,
            other => return unsupported(format!("HEVC tiles in {other:?}")),
        };
        let colour = Colour::of_frame(&frame);
        Ok(Some(TileFrame {
            frame,
            bits,
            colour,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms_turn_anticlockwise_and_mirror() {
        // 2x1: red, green.
        let rgb = vec![255, 0, 0, 0, 255, 0];
        // A quarter turn anticlockwise puts the right-hand pixel on top.
        assert_eq!(
            apply(Transform::Rotate(1), 2, 1, rgb.clone()),
            (1, 2, vec![0, 255, 0, 255, 0, 0])
        );
        assert_eq!(
            apply(Transform::Rotate(3), 2, 1, rgb.clone()),
            (1, 2, vec![255, 0, 0, 0, 255, 0])
        );
        assert_eq!(
            apply(Transform::Rotate(2), 2, 1, rgb.clone()),
            (2, 1, vec![0, 255, 0, 255, 0, 0])
        );
        assert_eq!(
            apply(Transform::Mirror { top_bottom: false }, 2, 1, rgb.clone()),
            (2, 1, vec![0, 255, 0, 255, 0, 0])
        );
        assert_eq!(
            apply(Transform::Mirror { top_bottom: true }, 2, 1, rgb.clone()),
            (2, 1, rgb)
        );
    }

    #[test]
    fn broken_boxes_are_errors_not_panics() {
        assert!(decode_reduced(b"", 640).is_err());
        assert!(decode_reduced(&[0, 0, 0, 8, b'm', b'e', b't', b'a'], 640).is_err());
        assert!(parse_iloc(&[1, 0, 0, 0, 0x44, 0x40, 0, 9]).is_none());
    }
}

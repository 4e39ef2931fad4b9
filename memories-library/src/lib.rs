//! Memories' photo library: finds the events, trips and "on this day" moments in a photo folder,
//! and the people in it.
//!
//! The pipeline, one module per step:
//!
//! - [`scan`] walks the folder and sniffs each file's content ([`scan::Format`]); AVIF and
//!   other video containers are skipped with a reason, unreadable files are reported. HEIC
//!   stills are decoded by libheif ([`heif`]); phone clips (MOV, MP4, 3GP) are items like
//!   photos, measured on a few frames ([`clips`]).
//! - [`metadata`] reads EXIF into [`metadata::PhotoMeta`]: capture time with its UTC offset
//!   ([`metadata::CaptureTime`], falling back to the file time, flagged), GPS, orientation,
//!   camera.
//! - [`analysis`] decodes each photo once at reduced size ([`analysis::decode_rgb`], or
//!   [`analysis::decode_file`] from a path) and measures sharpness, exposure, a 64-bit dHash and
//!   whether it looks like a screenshot or document ([`analysis::Analysis`]).
//! - [`index`] stores one [`index::Record`] per photo in SQLite outside the folder, so re-runs
//!   only analyse new or changed files; [`indexing::index_folder`] runs that pass in parallel,
//!   with the face detector and embedding of `memories-vision` on each decoded photo.
//! - [`config`] holds the thresholds and exclusions ([`config::Config`], TOML plus flags).
//! - [`events`] groups photos into events, finds home and trips and "on this day" photos.
//! - [`places`] names a position offline (the nearest GeoNames town, its region and country) and
//!   [`titles`] names each memory from what it is: "Arezzo, October 2008", "Trip to Tuscany",
//!   "With Ada", "This day, 9 years ago".
//! - [`plan`] applies the exclusions and builds the [`plan::Plan`] that is printed, as text or
//!   as the typed JSON rows of [`rows`].
//! - [`people`] clusters face descriptors into people and keeps the user's corrections
//!   (`memories people`).
//!
//! Movies of the plan's memories are made by `memories-movie`; files are written by
//! `memories-fs`; the `memories` binary puts them together.
//!
//! # Defaults and why
//!
//! - **New event after a 3 hour gap** (`gap_hours`). Photos of one outing, dinner or party are
//!   rarely more than an hour or two apart, while separate outings on one day (morning market,
//!   evening dinner) usually are further apart. Shorter gaps split a long walk with a lunch break.
//! - **or a 50 km jump** (`jump_km`) between consecutive geotagged photos. A day out covers a
//!   city or a valley (tens of km between photos at most); 50 km within three hours means
//!   travelling, so arriving somewhere new starts a new event.
//! - **Home is the place cluster (25 km radius) seen on the most distinct days**
//!   (`home_radius_km`): a metropolitan area. Counting days rather than photos stops a 500-photo
//!   holiday from becoming "home".
//! - **Trips are runs of events more than 100 km from home** (`trip_km`): beyond a normal
//!   commute or day-trip radius. Far events more than 2 days apart (`trip_break_days`) are
//!   separate trips, since people rarely travel for days without taking a photo. A trip is a
//!   memory when it has at least two events (one far-away event is already an event memory) and
//!   `min_event_photos` kept photos.
//! - **On this day looks 3 days either side** (`on_this_day_window_days`) of today's date in
//!   earlier years: an exact date match is usually empty, a week is still "around this time".
//! - **Memory candidates need 3 kept photos** (`min_event_photos`): one or two photos do not
//!   make a slideshow; the smaller events are still listed. Photos dated only by their file's
//!   modification time do not count: a copied folder gives every file the same time, which
//!   would otherwise make an "event" of unrelated photos (seen on `../shared/data/exif`).
//! - **Near-duplicates: dHashes within 8 of 64 bits, taken within 10 minutes**
//!   (`duplicate_bits`, `burst_minutes`). Burst frames and re-saved copies differ by a few bits;
//!   different compositions by 15 or more. Only the sharpest, best exposed one is kept.
//! - **Screenshots and documents are excluded** (`screenshots`, `documents`); see
//!   [`analysis::classify`] for the rule.

pub mod analysis;
pub mod clips;
pub mod config;
pub mod events;
pub mod heif;
pub mod index;
pub mod indexing;
pub mod jpeg;
pub mod metadata;
pub mod people;
pub mod places;
pub mod plan;
pub mod rows;
pub mod scan;
pub mod shrink;
pub mod titles;

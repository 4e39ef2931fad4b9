//! User settings: event thresholds and what to keep out of memories, read from an optional TOML
//! file and then overridden by command-line flags.
//!
//! ```toml
//! [events]
//! gap_hours = 3.0
//! jump_km = 50.0
//! trip_km = 100.0
//!
//! [exclude]
//! screenshots = true            # default
//! documents = true              # default
//! duplicates = true             # keep only the best of a burst (default)
//! paths = ["Screenshots/**", "**/private/**"]
//! dates = ["2019-03-01..2019-03-15", "2020-12-24"]
//! people = ["Ada", "7"]           # names or ids from `memories people`
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use globset::{GlobSet, GlobSetBuilder};
use serde::Deserialize;
use thiserror::Error;

use crate::events::EventParams;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("bad path pattern {pattern:?}: {source}")]
    Glob {
        pattern: String,
        source: globset::Error,
    },
    #[error(
        "bad date range {0:?}: expected YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD with the start first"
    )]
    DateRange(String),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub events: EventParams,
    pub exclude: Exclude,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Exclude {
    pub screenshots: bool,
    pub documents: bool,
    /// Keep only the best photo of each group of near-duplicates.
    pub duplicates: bool,
    /// Two photos are near-duplicates when their dHashes differ in at most this many of 64 bits
    /// and they were taken within `burst_minutes` of each other.
    pub duplicate_bits: u32,
    pub burst_minutes: f64,
    /// Globs matched against the path below the photo folder, `/`-separated.
    pub paths: Vec<String>,
    pub dates: Vec<DateRange>,
    /// People (a name, or a person id from `memories people`) whose photos are kept out, as
    /// hidden people's are.
    pub people: Vec<String>,
}

impl Default for Exclude {
    fn default() -> Self {
        Exclude {
            screenshots: true,
            documents: true,
            duplicates: true,
            // Burst frames and re-saved copies measured 0-6 bits apart; distinct photos of one
            // scene usually 12 or more. See the crate docs.
            duplicate_bits: 8,
            burst_minutes: 10.0,
            paths: Vec::new(),
            dates: Vec::new(),
            people: Vec::new(),
        }
    }
}

impl Config {
    /// Reads a TOML config file; unknown keys are errors so a typo does not silently do nothing.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// An inclusive range of calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct DateRange {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl DateRange {
    pub fn contains(&self, day: NaiveDate) -> bool {
        (self.first..=self.last).contains(&day)
    }
}

impl FromStr for DateRange {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ConfigError::DateRange(text.to_string());
        let day = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad());
        let (first, last) = match text.split_once("..") {
            Some((a, b)) => (day(a)?, day(b)?),
            None => (day(text)?, day(text)?),
        };
        if first > last {
            return Err(bad());
        }
        Ok(DateRange { first, last })
    }
}

impl TryFrom<String> for DateRange {
    type Error = ConfigError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}..{}", self.first, self.last)
        }
    }
}

/// The path patterns compiled once, remembering their text for explanations.
#[derive(Debug, Clone)]
pub struct PathRules {
    set: GlobSet,
    patterns: Vec<String>,
}

impl PathRules {
    pub fn new(patterns: &[String]) -> Result<PathRules, ConfigError> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            // `literal_separator` makes `*` stop at `/` as in a shell; `**` crosses folders.
            let glob = globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|source| ConfigError::Glob {
                    pattern: pattern.clone(),
                    source,
                })?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|source| ConfigError::Glob {
            pattern: patterns.join(", "),
            source,
        })?;
        Ok(PathRules {
            set,
            patterns: patterns.to_vec(),
        })
    }

    /// The first pattern matching `rel`, if any.
    pub fn matching(&self, rel: &str) -> Option<&str> {
        self.set
            .matches(rel)
            .first()
            .map(|&i| self.patterns[i].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_range(text: &str, expect: Result<&str, ()>) {
        let got = text
            .parse::<DateRange>()
            .map(|r| r.to_string())
            .map_err(|_| ());
        assert_eq!(got.as_deref().map_err(|_| ()), expect, "{text:?}");
    }

    #[test]
    fn date_ranges() {
        check_range("2019-03-01..2019-03-15", Ok("2019-03-01..2019-03-15"));
        check_range("2020-12-24", Ok("2020-12-24"));
        check_range(" 2020-12-24 .. 2020-12-26", Ok("2020-12-24..2020-12-26"));
        check_range("2019-03-15..2019-03-01", Err(()));
        check_range("2019-02-30", Err(()));
        check_range("March", Err(()));
    }

    fn check_paths(patterns: &[&str], rel: &str, expect: Option<&str>) {
        let patterns: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        let rules = PathRules::new(&patterns).unwrap();
        assert_eq!(rules.matching(rel), expect, "{rel}");
    }

    #[test]
    fn path_rules() {
        check_paths(
            &["Screenshots/**"],
            "Screenshots/2020/a.png",
            Some("Screenshots/**"),
        );
        check_paths(
            &["**/private/**"],
            "2020/private/a.jpg",
            Some("**/private/**"),
        );
        check_paths(&["*.png"], "sub/a.png", None);
        check_paths(&["*.png"], "a.png", Some("*.png"));
        check_paths(&[], "a.png", None);
        assert!(PathRules::new(&["a[".to_string()]).is_err());
    }

    fn check_config(toml_text: &str, expect: Result<Config, &str>) {
        let got = toml::from_str::<Config>(toml_text).map_err(|e| e.to_string());
        match (got, expect) {
            (Ok(got), Ok(expect)) => assert_eq!(got, expect),
            (Err(got), Err(expect)) => assert!(got.contains(expect), "{got}"),
            (got, expect) => panic!("got {got:?}, expected {expect:?}"),
        }
    }

    #[test]
    fn config_files() {
        check_config("", Ok(Config::default()));
        let mut expect = Config::default();
        expect.events.gap_hours = 6.0;
        expect.exclude.screenshots = false;
        expect.exclude.dates = vec!["2020-12-24".parse().unwrap()];
        check_config(
            "[events]\ngap_hours = 6.0\n[exclude]\nscreenshots = false\ndates = [\"2020-12-24\"]\n",
            Ok(expect),
        );
        check_config(
            "[events]\ngap_hour = 6.0\n",
            Err("unknown field `gap_hour`"),
        );
        check_config("[exclude]\ndates = [\"soon\"]\n", Err("bad date range"));
    }
}

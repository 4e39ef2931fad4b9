//! Names for coordinates, offline: the nearest town of GeoNames' cities of 1,000 people or more
//! (embedded by the `reverse_geocoder` crate; data CC BY 4.0), with its region and country.
//!
//! The table is parsed and indexed on first use (about 0.2 s), so a run without geotagged photos
//! never pays for it. A point farther than [`MAX_KM`] from every town (open sea, the poles) has
//! no name, and neither does 0,0, the placeholder some apps write for "no position".

use std::sync::OnceLock;

use reverse_geocoder::ReverseGeocoder;

use crate::metadata::GeoPoint;

/// Beyond this distance from the nearest town a point gets no name: "1,300 km from
/// Longyearbyen" says nothing a person would recognise.
pub const MAX_KM: f64 = 100.0;

/// Within this distance a point is *in* its town; farther out it is "40 km from" it.
pub const NEAR_KM: f64 = 15.0;

/// A named place near a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    /// The nearest town or city.
    pub town: &'static str,
    /// Its first-level division (state, region, province), when GeoNames names one.
    pub region: Option<&'static str>,
    /// The country's common English name.
    pub country: &'static str,
    /// ISO 3166-1 alpha-2 code ("IT"), as GeoNames gives it.
    pub country_code: &'static str,
    /// Distance from the point to the town, in km.
    pub km: f64,
}

impl Place {
    /// Whether the point is in the town rather than merely nearest to it.
    pub fn is_near(&self) -> bool {
        self.km <= NEAR_KM
    }

    /// The area a person would name the place by when the town itself is too far: the region,
    /// or else the country.
    pub fn area(&self) -> &'static str {
        self.region.unwrap_or(self.country)
    }

    /// "Arezzo, Italy"; "Cupertino, California" when `home_country` is the place's own country
    /// (people name towns at home by their state or region); "40 km from Takoradi, Ghana" when
    /// the point is outside the town.
    pub fn label(&self, home_country: Option<&str>) -> String {
        let context = match self.region {
            Some(region) if home_country == Some(self.country_code) => region,
            _ => self.country,
        };
        let town = if self.is_near() {
            self.town.to_string()
        } else {
            format!("{} from {}", km(self.km), self.town)
        };
        if context == self.town {
            town
        } else {
            format!("{town}, {context}")
        }
    }
}

/// "9,897 km", "40 km", "3 km".
pub fn km(distance: f64) -> String {
    let whole = distance.round().max(0.0) as u64;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped} km")
}

static GAZETTEER: OnceLock<ReverseGeocoder> = OnceLock::new();

/// The embedded table, parsed on first use.
fn gazetteer() -> &'static ReverseGeocoder {
    GAZETTEER.get_or_init(ReverseGeocoder::new)
}

/// Whether the table has been loaded in this process (it is loaded by the first [`name`] of a
/// point that can have a name).
pub fn loaded() -> bool {
    GAZETTEER.get().is_some()
}

/// The place nearest `point`, or `None` for 0,0, for points that are not finite or out of
/// range, and for points farther than [`MAX_KM`] from every town.
pub fn name(point: GeoPoint) -> Option<Place> {
    let GeoPoint { lat, lon } = point;
    let valid = lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
        && !(lat == 0.0 && lon == 0.0);
    if !valid {
        return None;
    }
    let found = gazetteer().search((lat, lon));
    // The search measures squared chord length on the unit sphere; turn it into a great circle.
    let chord = found.distance.max(0.0).sqrt().min(2.0);
    let km = 2.0 * (chord / 2.0).asin() * EARTH_RADIUS_KM;
    if km > MAX_KM {
        return None;
    }
    let record = found.record;
    // GeoNames leaves some regions unnamed, as an empty field or a bare code ("08").
    let region = Some(record.admin1.as_str())
        .filter(|r| !r.is_empty() && !r.chars().all(|c| c.is_ascii_digit()));
    Some(Place {
        town: record.name.as_str(),
        region,
        country: country_name(&record.cc),
        country_code: record.cc.as_str(),
        km,
    })
}

/// The mean radius `events::distance_km` uses too.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// ISO names that read like treaties, in the form people use.
const COMMON_NAMES: &[(&str, &str)] = &[
    ("BN", "Brunei"),
    ("BO", "Bolivia"),
    ("BQ", "Caribbean Netherlands"),
    ("CC", "Cocos Islands"),
    ("CD", "DR Congo"),
    ("FK", "Falkland Islands"),
    ("FM", "Micronesia"),
    ("GB", "United Kingdom"),
    ("IR", "Iran"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("LA", "Laos"),
    ("MD", "Moldova"),
    ("MF", "Saint Martin"),
    ("NL", "Netherlands"),
    ("PS", "Palestine"),
    ("RU", "Russia"),
    ("SH", "Saint Helena"),
    ("SX", "Sint Maarten"),
    ("SY", "Syria"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("US", "United States"),
    ("VA", "Vatican City"),
    ("VE", "Venezuela"),
    ("VG", "British Virgin Islands"),
    ("VI", "U.S. Virgin Islands"),
    ("VN", "Vietnam"),
    // GeoNames' code for Kosovo, which ISO 3166 has not assigned.
    ("XK", "Kosovo"),
];

/// The common English name of a country by its ISO code; the code itself if it is unknown.
pub fn country_name(code: &str) -> &str {
    if let Some((_, name)) = COMMON_NAMES.iter().find(|(c, _)| *c == code) {
        return name;
    }
    match rust_iso3166::from_alpha2(code) {
        Some(country) => country.name,
        None => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> Option<Place> {
        name(GeoPoint { lat, lon })
    }

    #[test]
    fn towns_regions_and_countries() {
        // The demo's outing (its photos' mean position) and the people photos' home.
        let arezzo = at(43.4672, 11.882).unwrap();
        assert_eq!(
            (
                arezzo.town,
                arezzo.region,
                arezzo.country,
                arezzo.country_code
            ),
            ("Arezzo", Some("Tuscany"), "Italy", "IT")
        );
        assert!(arezzo.km < 3.0, "{}", arezzo.km);
        assert_eq!(arezzo.label(Some("US")), "Arezzo, Italy");
        assert_eq!(arezzo.label(Some("IT")), "Arezzo, Tuscany");
        assert_eq!(arezzo.label(None), "Arezzo, Italy");
        let home = at(37.3198, -121.9472).unwrap();
        assert_eq!((home.town, home.region), ("Burbank", Some("California")));
        assert_eq!(home.label(Some("US")), "Burbank, California");
        assert_eq!(home.label(None), "Burbank, United States");
    }

    #[test]
    fn points_far_from_towns() {
        // 0,0 is a placeholder, not the Gulf of Guinea.
        assert_eq!(at(0.0, 0.0), None);
        // The poles and the middle of an ocean are too far from any town to be named by one.
        assert_eq!(at(90.0, 0.0), None);
        assert_eq!(at(-90.0, 0.0), None);
        assert_eq!(at(35.0, -40.0), None);
        assert_eq!(at(f64::NAN, 10.0), None);
        assert_eq!(at(91.0, 10.0), None);
        // At sea off the Cinque Terre: the nearest town with its distance.
        let sea = at(43.9, 9.3).unwrap();
        assert_eq!(sea.country, "Italy");
        assert!(!sea.is_near() && sea.km < MAX_KM, "{sea:?}");
        assert!(
            sea.label(None)
                .starts_with(&format!("{} from ", km(sea.km))),
            "{}",
            sea.label(None)
        );
    }

    #[test]
    fn a_border_town_belongs_to_its_own_country() {
        // Basel's centre, a few km from both France and Germany.
        let basel = at(47.5596, 7.5886).unwrap();
        assert_eq!((basel.town, basel.country), ("Basel", "Switzerland"));
        // Across the Rhine bridge in Germany.
        let lorrach = at(47.6152, 7.6613).unwrap();
        assert_eq!(lorrach.country, "Germany");
        // Gorizia (Italy) and Nova Gorica (Slovenia) share a square across the border.
        assert_eq!(at(45.9409, 13.6205).unwrap().country, "Italy");
        assert_eq!(at(45.9560, 13.6480).unwrap().country, "Slovenia");
    }

    #[test]
    fn every_country_has_a_plain_name() {
        for country in rust_iso3166::ALL {
            let name = country_name(country.alpha2);
            assert!(
                !name.contains(['(', ',']) && !name.ends_with(" of America"),
                "{}: {name}",
                country.alpha2
            );
        }
        assert_eq!(country_name("GB"), "United Kingdom");
        assert_eq!(country_name("FR"), "France");
        assert_eq!(country_name("XK"), "Kosovo");
        assert_eq!(country_name("ZZ"), "ZZ");
    }

    #[test]
    fn distances_are_grouped_by_thousands() {
        assert_eq!(km(9897.4), "9,897 km");
        assert_eq!(km(40.2), "40 km");
        assert_eq!(km(1234567.0), "1,234,567 km");
        assert_eq!(km(0.3), "0 km");
    }
}

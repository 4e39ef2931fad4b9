//! What a memory is called, and the place line under its title: the rules in one place, so the
//! plan (text, JSON, page), the movie's title card, its poster and `index.html` all say the same.
//!
//! - An event is named by its place and month: "Arezzo, October 2008". A point outside every
//!   town is named by its region or country; an event without GPS by its time: "Wednesday
//!   afternoon", "4 days in October".
//! - A trip by where it went: "Trip to Arezzo" when every event was in one town, else the region
//!   ("Trip to Tuscany") or the country ("Trip to Italy") all of them share, else its countries.
//! - A person's memory by their name, once named: "With Ada".
//! - An "on this day" set by how long ago it was: "This day, 9 years ago".
//!
//! The place line names the place ([`Place::label`]) and adds the distance from home when the
//! memory is away from it: "Arezzo, Italy · 9,897 km from home", but "Burbank, California".

use chrono::{Datelike, NaiveDateTime, Timelike};

use crate::metadata::GeoPoint;
use crate::places::{Place, km};

/// An event's title.
pub fn event(start: NaiveDateTime, end: NaiveDateTime, place: Option<&Place>) -> String {
    match place {
        Some(p) => {
            let name = if p.is_near() { p.town } else { p.area() };
            format!("{name}, {}", months(start, end))
        }
        None => time_of_day(start, end),
    }
}

/// "October 2008", "September – October 2008", "December 2008 – January 2009", "2009 – 2019".
fn months(start: NaiveDateTime, end: NaiveDateTime) -> String {
    let (s, e) = (start.date(), end.date());
    if (s.year(), s.month()) == (e.year(), e.month()) {
        s.format("%B %Y").to_string()
    } else if s.year() == e.year() {
        format!("{} – {}", s.format("%B"), e.format("%B %Y"))
    } else if e.year() - s.year() == 1 && e.month() <= s.month() {
        // Under a year, across New Year: both months are needed to say when.
        format!("{} – {}", s.format("%B %Y"), e.format("%B %Y"))
    } else {
        format!("{} – {}", s.year(), e.year())
    }
}

/// "Wednesday afternoon"; "4 days in October" for an event of several days; "2009 to 2019" or
/// "March to May" for one spanning months (only with very large event gaps).
fn time_of_day(start: NaiveDateTime, end: NaiveDateTime) -> String {
    let days = (end.date() - start.date()).num_days() + 1;
    if days > 31 {
        return if start.year() != end.year() {
            format!("{} to {}", start.year(), end.year())
        } else {
            format!("{} to {}", start.format("%B"), end.format("%B"))
        };
    }
    if days > 1 {
        return format!("{days} days in {}", start.format("%B"));
    }
    let part = match start.hour() {
        5..=11 => "morning",
        12..=16 => "afternoon",
        17..=20 => "evening",
        _ => "night",
    };
    format!("{} {part}", start.format("%A"))
}

/// The dates line under a title: "22 October 2008", "22–25 October 2008", "30 September –
/// 2 October 2008", "20 November 2009 – 18 May 2019".
pub fn dates(start: NaiveDateTime, end: NaiveDateTime) -> String {
    let (s, e) = (start.date(), end.date());
    if s == e {
        s.format("%-d %B %Y").to_string()
    } else if (s.year(), s.month()) == (e.year(), e.month()) {
        format!("{}–{}", s.format("%-d"), e.format("%-d %B %Y"))
    } else if s.year() == e.year() {
        format!("{} – {}", s.format("%-d %B"), e.format("%-d %B %Y"))
    } else {
        format!("{} – {}", s.format("%-d %B %Y"), e.format("%-d %B %Y"))
    }
}

/// A trip's title from the places of its events (in time order; events without a name are
/// left out) and its length in days.
pub fn trip(places: &[Place], days: i64) -> String {
    match destination(places) {
        Some(where_to) => format!("Trip to {where_to}"),
        None if days <= 1 => "A day away".to_string(),
        None => format!("{days} days away"),
    }
}

/// The narrowest name every place shares: one town, one region, one country, or the countries
/// in the order they were visited ("Italy and France", "Italy, France and Spain", "Italy, France
/// and 2 other countries").
pub fn destination(places: &[Place]) -> Option<String> {
    let first = places.first()?;
    let all = |same: &dyn Fn(&Place) -> bool| places.iter().all(same);
    let country = |p: &Place| p.country_code == first.country_code;
    if all(&|p| p.is_near() && p.town == first.town && country(p)) {
        return Some(first.town.to_string());
    }
    if let Some(region) = first.region
        && all(&|p| p.region == Some(region) && country(p))
    {
        return Some(region.to_string());
    }
    let mut countries: Vec<&str> = Vec::new();
    for p in places {
        if !countries.contains(&p.country) {
            countries.push(p.country);
        }
    }
    Some(match countries.as_slice() {
        [one] => one.to_string(),
        [a, b] => format!("{a} and {b}"),
        [a, b, c] => format!("{a}, {b} and {c}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} other countries", rest.len()),
        [] => unreachable!("places is not empty"),
    })
}

/// A person's memory: "With Ada", or "With person 3" until they are named.
pub fn person(id: u32, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("With {name}"),
        None => format!("With person {id}"),
    }
}

/// Photos from around today's date in an earlier year: "This day, 9 years ago".
pub fn on_this_day(years_ago: i32) -> String {
    match years_ago {
        ..=0 => "This day".to_string(),
        1 => "This day, a year ago".to_string(),
        n => format!("This day, {n} years ago"),
    }
}

/// The line under a title that says where: the place's name, or its coordinates when it has
/// none, and the distance from home when that is more than `home_radius_km`.
pub fn place_line(
    place: Option<&Place>,
    centre: Option<GeoPoint>,
    km_from_home: Option<f64>,
    home: Option<&Place>,
    home_radius_km: f64,
) -> Option<String> {
    let home_country = home.map(|h| h.country_code);
    let what = match place {
        Some(p) => p.label(home_country),
        None => coordinates(centre?),
    };
    Some(match km_from_home {
        Some(d) if d > home_radius_km => format!("{what} · {} from home", km(d)),
        _ => what,
    })
}

/// A trip's place line: how far it went.
pub fn trip_line(farthest_km: f64) -> String {
    format!("up to {} from home", km(farthest_km))
}

/// Home as people say it: "Burbank, California", or "around 37.32° N, 121.95° W" where no town
/// is near.
pub fn home(place: Option<&Place>, centre: GeoPoint) -> String {
    match place {
        Some(p) => p.label(Some(p.country_code)),
        None => format!("around {}", coordinates(centre)),
    }
}

/// "43.47° N, 11.88° E".
pub fn coordinates(point: GeoPoint) -> String {
    let ns = if point.lat < 0.0 { 'S' } else { 'N' };
    let ew = if point.lon < 0.0 { 'W' } else { 'E' };
    format!("{:.2}° {ns}, {:.2}° {ew}", point.lat.abs(), point.lon.abs())
}

/// A time span as the plan shows it: "2008-10-11 Sat 10:02–16:40", or both ends in full when
/// it crosses midnight.
pub fn when(start: NaiveDateTime, end: NaiveDateTime) -> String {
    if start.date() == end.date() {
        format!(
            "{} {}–{}",
            start.format("%Y-%m-%d %a"),
            start.format("%H:%M"),
            end.format("%H:%M")
        )
    } else {
        format!(
            "{} – {}",
            start.format("%Y-%m-%d %a %H:%M"),
            end.format("%Y-%m-%d %a %H:%M")
        )
    }
}

/// "1 photo", "3 photos".
pub fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    /// A place as the gazetteer would give it; `km` 0 is in town.
    fn place(town: &'static str, region: &'static str, cc: &'static str, km: f64) -> Place {
        Place {
            town,
            region: (!region.is_empty()).then_some(region),
            country: crate::places::country_name(cc),
            country_code: cc,
            km,
        }
    }

    const AREZZO: (&str, &str, &str) = ("Arezzo", "Tuscany", "IT");
    const SIENA: (&str, &str, &str) = ("Siena", "Tuscany", "IT");
    const ROME: (&str, &str, &str) = ("Rome", "Lazio", "IT");
    const NICE: (&str, &str, &str) = ("Nice", "Provence-Alpes-Côte d'Azur", "FR");
    const MADRID: (&str, &str, &str) = ("Madrid", "Madrid", "ES");
    const LISBON: (&str, &str, &str) = ("Lisbon", "Lisbon", "PT");
    const BURBANK: (&str, &str, &str) = ("Burbank", "California", "US");

    fn p((town, region, cc): (&'static str, &'static str, &'static str)) -> Place {
        place(town, region, cc, 1.0)
    }

    #[test]
    fn event_titles() {
        let far_out = place("Takoradi", "Western", "GH", 40.0);
        let no_region = place("Vaduz", "", "LI", 60.0);
        let table: &[(&str, &str, Option<Place>, &str)] = &[
            (
                "2008-10-22 16:28",
                "2008-10-22 17:00",
                Some(p(AREZZO)),
                "Arezzo, October 2008",
            ),
            (
                "2008-09-30 08:00",
                "2008-10-02 09:00",
                Some(p(AREZZO)),
                "Arezzo, September – October 2008",
            ),
            (
                "2008-12-30 08:00",
                "2009-01-02 09:00",
                Some(p(AREZZO)),
                "Arezzo, December 2008 – January 2009",
            ),
            (
                "2009-11-20 13:06",
                "2019-05-18 09:23",
                Some(p(AREZZO)),
                "Arezzo, 2009 – 2019",
            ),
            (
                "2008-10-22 16:28",
                "2008-10-22 17:00",
                Some(far_out),
                "Western, October 2008",
            ),
            (
                "2008-10-22 16:28",
                "2008-10-22 17:00",
                Some(no_region),
                "Liechtenstein, October 2008",
            ),
            (
                "2008-10-22 16:28",
                "2008-10-22 17:00",
                None,
                "Wednesday afternoon",
            ),
            (
                "2008-10-22 21:28",
                "2008-10-23 01:00",
                None,
                "2 days in October",
            ),
            (
                "2008-09-30 08:00",
                "2008-10-02 09:00",
                None,
                "3 days in September",
            ),
            ("2009-11-20 13:06", "2019-05-18 09:23", None, "2009 to 2019"),
            ("2019-03-01 07:00", "2019-05-18 09:23", None, "March to May"),
            ("2019-03-01 04:00", "2019-03-01 04:30", None, "Friday night"),
        ];
        for (start, end, place, title) in table {
            assert_eq!(
                event(at(start), at(end), place.as_ref()),
                *title,
                "{start} – {end} at {place:?}"
            );
        }
    }

    #[test]
    fn date_lines() {
        let table = [
            ("2008-10-22 16:28", "2008-10-22 17:00", "22 October 2008"),
            ("2008-10-22 21:28", "2008-10-23 01:00", "22–23 October 2008"),
            (
                "2008-09-30 08:00",
                "2008-10-02 09:00",
                "30 September – 2 October 2008",
            ),
            (
                "2009-11-20 13:06",
                "2019-05-18 09:23",
                "20 November 2009 – 18 May 2019",
            ),
        ];
        for (start, end, line) in table {
            assert_eq!(dates(at(start), at(end)), line);
        }
    }

    #[test]
    fn trip_titles() {
        let table: &[(&[Place], i64, &str)] = &[
            (&[p(AREZZO), p(AREZZO)], 3, "Trip to Arezzo"),
            (&[p(AREZZO), p(SIENA), p(AREZZO)], 3, "Trip to Tuscany"),
            (&[p(AREZZO), p(ROME)], 5, "Trip to Italy"),
            // Near a town is not in it: a trip around it is named by its region.
            (
                &[p(AREZZO), place("Arezzo", "Tuscany", "IT", 30.0)],
                2,
                "Trip to Tuscany",
            ),
            (&[p(ROME), p(NICE), p(ROME)], 6, "Trip to Italy and France"),
            (
                &[p(ROME), p(NICE), p(MADRID)],
                9,
                "Trip to Italy, France and Spain",
            ),
            (
                &[p(ROME), p(NICE), p(MADRID), p(LISBON), p(BURBANK)],
                30,
                "Trip to Italy, France and 3 other countries",
            ),
            (&[], 1, "A day away"),
            (&[], 4, "4 days away"),
        ];
        for (places, days, title) in table {
            assert_eq!(trip(places, *days), *title, "{places:?}");
        }
    }

    #[test]
    fn people_and_on_this_day_titles() {
        assert_eq!(person(3, Some("Ada")), "With Ada");
        assert_eq!(person(3, None), "With person 3");
        assert_eq!(on_this_day(9), "This day, 9 years ago");
        assert_eq!(on_this_day(1), "This day, a year ago");
        assert_eq!(on_this_day(0), "This day");
    }

    #[test]
    fn place_lines_say_how_far_from_home_only_when_away() {
        let centre = GeoPoint {
            lat: 43.4672,
            lon: -11.882,
        };
        let home = p(BURBANK);
        /// The event's place, its distance from home, home, and the line.
        type Case<'a> = (
            Option<Place>,
            Option<f64>,
            Option<&'a Place>,
            Option<&'a str>,
        );
        let table: &[Case<'_>] = &[
            (
                Some(p(AREZZO)),
                Some(9897.4),
                Some(&home),
                Some("Arezzo, Italy · 9,897 km from home"),
            ),
            (
                Some(p(BURBANK)),
                Some(3.0),
                Some(&home),
                Some("Burbank, California"),
            ),
            (
                Some(place("Burbank", "California", "US", 40.0)),
                Some(40.0),
                Some(&home),
                Some("40 km from Burbank, California · 40 km from home"),
            ),
            (Some(p(AREZZO)), None, None, Some("Arezzo, Italy")),
            (
                None,
                Some(9897.4),
                Some(&home),
                Some("43.47° N, 11.88° W · 9,897 km from home"),
            ),
        ];
        for (place, from_home, home, line) in table {
            assert_eq!(
                place_line(place.as_ref(), Some(centre), *from_home, *home, 25.0).as_deref(),
                *line
            );
        }
        assert_eq!(place_line(None, None, None, None, 25.0), None);
        assert_eq!(trip_line(9897.4), "up to 9,897 km from home");
        assert_eq!(home_line_for(Some(&home)), "Burbank, California");
        assert_eq!(home_line_for(None), "around 43.47° N, 11.88° W");
    }

    fn home_line_for(place: Option<&Place>) -> String {
        home(
            place,
            GeoPoint {
                lat: 43.4672,
                lon: -11.882,
            },
        )
    }
}

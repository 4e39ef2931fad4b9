//! `index.html`: one page listing every memory with its poster, title, dates, place and movie.
//!
//! The page is self-contained (inline CSS, no scripts, no fonts, no network) and links only to
//! files beside it, so it works opened straight from the file system.

use std::fmt::Write as _;

/// One memory as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub dates: String,
    pub place: Option<String>,
    pub photos: usize,
    /// The poster's file name, beside the page.
    pub poster: String,
    /// The movie's file name beside the page, once one was written.
    pub movie: Option<String>,
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a file name for use in `src`/`poster`, so any name is a relative URL.
fn href(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const STYLE: &str = "body{margin:0;background:#15171a;color:#eceff1;\
font-family:system-ui,-apple-system,'Segoe UI',sans-serif}\
header{padding:24px 32px 8px}h1{margin:0;font-size:28px;font-weight:600}\
header p{margin:4px 0 0;color:#9aa3ab}\
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:24px;padding:16px 32px 40px}\
article{background:#1f2226;border-radius:10px;overflow:hidden}\
video,img{display:block;width:100%;aspect-ratio:16/9;background:#000}\
article div{padding:12px 16px 16px}h2{margin:0 0 4px;font-size:19px}\
article p{margin:2px 0;color:#b7c0c7;font-size:14px}.note{color:#8a939b;font-style:italic}";

/// The whole page for `entries`, in the order given.
pub fn html(folder_name: &str, entries: &[Entry]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Memories of {folder}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>Memories of {folder}</h1><p>{count}</p></header>\n<main>\n",
        folder = escape(folder_name),
        count = match entries.len() {
            0 => "No memories yet: no event has enough photos.".to_string(),
            1 => "1 memory".to_string(),
            n => format!("{n} memories"),
        }
    );
    for e in entries {
        let poster = href(&e.poster);
        let title = escape(&e.title);
        let _ = writeln!(out, "<article id=\"{}\">", escape(&e.id));
        match &e.movie {
            Some(movie) => {
                let _ = writeln!(
                    out,
                    "<video controls preload=\"metadata\" poster=\"{poster}\" src=\"{}\"></video>",
                    href(movie)
                );
            }
            None => {
                let _ = writeln!(out, "<img src=\"{poster}\" alt=\"{title}\">");
            }
        }
        let _ = write!(out, "<div><h2>{title}</h2><p>{}</p>", escape(&e.dates));
        if let Some(place) = &e.place {
            let _ = write!(out, "<p>{}</p>", escape(place));
        }
        let _ = write!(
            out,
            "<p>{} photo{}</p>",
            e.photos,
            if e.photos == 1 { "" } else { "s" }
        );
        if e.movie.is_none() {
            out.push_str("<p class=\"note\">The movie has not been rendered.</p>");
        }
        out.push_str("</div>\n</article>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, title: &str, movie: bool) -> Entry {
        Entry {
            id: id.into(),
            title: title.into(),
            dates: "22 October 2008".into(),
            place: Some("43.47° N, 11.88° E".into()),
            photos: 9,
            poster: format!("{id}.jpg"),
            movie: movie.then(|| format!("{id}.mp4")),
        }
    }

    #[test]
    fn lists_every_memory_offline() {
        let page = html(
            "Holiday <2008>",
            &[
                entry("event-0", "Wednesday afternoon", true),
                entry("event-3", "Fish & chips", false),
            ],
        );
        assert!(page.contains("Memories of Holiday &lt;2008&gt;"));
        assert!(page.contains(
            "<video controls preload=\"metadata\" poster=\"event-0.jpg\" src=\"event-0.mp4\">"
        ));
        assert!(page.contains("<h2>Wednesday afternoon</h2>"));
        assert!(page.contains("<img src=\"event-3.jpg\" alt=\"Fish &amp; chips\">"));
        assert!(page.contains("<h2>Fish &amp; chips</h2>"));
        assert!(page.contains("22 October 2008") && page.contains("43.47° N, 11.88° E"));
        assert!(!page.contains("http:") && !page.contains("https:") && !page.contains("//"));
        assert!(!page.contains("<script") && !page.contains("<link"));
        assert_eq!(page.matches("<article").count(), 2);
    }

    #[test]
    fn file_names_become_relative_urls() {
        assert_eq!(href("a b#?.jpg"), "a%20b%23%3F.jpg");
        assert_eq!(escape("\"'<&>"), "&quot;&#39;&lt;&amp;&gt;");
    }
}

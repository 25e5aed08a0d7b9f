//! The chart of a [`Report`]: an SVG bar chart (one group of bars per query,
//! one bar per configuration, median time with a min–max whisker) and a
//! self-contained HTML page holding it and the full table. No scripts, no
//! fonts or styles from the network: the file opens anywhere.

use std::fmt::Write as _;

use super::report::{Report, format_bytes};

/// Colours of the configurations' bars, in order (repeated after the last).
const COLORS: [&str; 8] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];
/// Width of the whole chart, in pixels.
const WIDTH: f64 = 960.0;
/// Width of the query-name column on the left.
const LABEL_WIDTH: f64 = 90.0;
/// Room on the right of the longest bar for its label.
const RIGHT_MARGIN: f64 = 150.0;
/// Height of one bar.
const BAR: f64 = 14.0;
/// Space between bars of one query.
const BAR_GAP: f64 = 2.0;
/// Space between queries.
const GROUP_GAP: f64 = 10.0;

/// The report's chart as a standalone SVG document.
pub fn svg(report: &Report) -> String {
    let configs = report.configs.len().max(1);
    let group_height = configs as f64 * (BAR + BAR_GAP) - BAR_GAP;
    let legend_height = 22.0 * configs as f64 + 10.0;
    let top = 40.0 + legend_height;
    let height = top + report.queries.len() as f64 * (group_height + GROUP_GAP) + 30.0;
    let longest =
        report.queries.iter().flat_map(|q| &q.results).filter_map(|r| r.seconds.map(|s| s.max)).fold(0.0_f64, f64::max);
    let plot_width = WIDTH - LABEL_WIDTH - RIGHT_MARGIN;
    let scale = if longest > 0.0 { plot_width / longest } else { 0.0 };

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ =
        writeln!(out, r#"<text x="10" y="20" font-size="14" font-weight="bold">{}</text>"#, escape(&report.title()));
    let _ = writeln!(
        out,
        r##"<text x="10" y="36" fill="#555">median time per query (bar), fastest and slowest run (whisker); shorter is better</text>"##
    );
    for (i, config) in report.configs.iter().enumerate() {
        let y = 50.0 + 22.0 * i as f64;
        let total = report.totals.get(i);
        let mut label = format!("{}: {:.2} s in all", config.name, total.map_or(0.0, |t| t.median_seconds));
        if let Some(ratio) = total.and_then(|t| t.ratio).filter(|_| i > 0) {
            let _ = write!(label, " ({ratio:.2}× {})", report.configs[0].name);
        }
        if !config.settings.is_empty() {
            let settings: Vec<String> = config.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = write!(label, " — {}", settings.join(", "));
        }
        let _ = writeln!(
            out,
            r#"<rect x="10" y="{:.0}" width="14" height="14" fill="{}"/><text x="30" y="{:.0}">{}</text>"#,
            y,
            color(i),
            y + 11.0,
            escape(&label)
        );
    }
    for (qi, query) in report.queries.iter().enumerate() {
        let y0 = top + qi as f64 * (group_height + GROUP_GAP);
        let _ = writeln!(
            out,
            r#"<text x="{:.0}" y="{:.1}" text-anchor="end" font-weight="bold">{}</text>"#,
            LABEL_WIDTH - 8.0,
            y0 + group_height / 2.0 + 4.0,
            escape(&query.name)
        );
        for (ci, result) in query.results.iter().enumerate() {
            let y = y0 + ci as f64 * (BAR + BAR_GAP);
            let Some(seconds) = result.seconds.filter(|_| result.error.is_none()) else {
                let _ = writeln!(
                    out,
                    r##"<text x="{LABEL_WIDTH}" y="{:.1}" fill="#c00">{}: failed</text>"##,
                    y + BAR - 3.0,
                    escape(&result.config)
                );
                continue;
            };
            let width = (seconds.median * scale).max(1.0);
            let _ = writeln!(
                out,
                r#"<rect x="{LABEL_WIDTH}" y="{y:.1}" width="{width:.1}" height="{BAR}" fill="{}"><title>{}</title></rect>"#,
                color(ci),
                escape(&format!(
                    "{} {}: median {:.1} ms, min {:.1} ms, max {:.1} ms, {} rows{}",
                    query.name,
                    result.config,
                    seconds.median * 1e3,
                    seconds.min * 1e3,
                    seconds.max * 1e3,
                    result.rows.unwrap_or(0),
                    result.peak_memory.map(|m| format!(", peak memory {}", format_bytes(m))).unwrap_or_default()
                ))
            );
            let (x_min, x_max) = (LABEL_WIDTH + seconds.min * scale, LABEL_WIDTH + seconds.max * scale);
            let mid = y + BAR / 2.0;
            let _ = writeln!(
                out,
                r##"<path d="M{x_min:.1} {mid:.1}H{x_max:.1}M{x_min:.1} {:.1}V{:.1}M{x_max:.1} {:.1}V{:.1}" stroke="#222" fill="none"/>"##,
                y + 3.0,
                y + BAR - 3.0,
                y + 3.0,
                y + BAR - 3.0
            );
            let mut label = format_ms(seconds.median);
            if let Some(ratio) = result.ratio.filter(|_| ci > 0) {
                let _ = write!(label, "  {ratio:.2}×");
            }
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
                LABEL_WIDTH + seconds.max.max(seconds.median) * scale + 6.0,
                y + BAR - 3.0,
                escape(&label)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// A self-contained HTML page: the chart, then every figure in a table.
pub fn html(report: &Report) -> String {
    let mut out = String::new();
    let title = escape(&report.title());
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>tarn bench: {title}</title>\n\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin-top:1.5em}}\
         td,th{{padding:2px 10px;text-align:right;border-bottom:1px solid #ddd}}td:first-child,th:first-child,\
         td:nth-child(2),th:nth-child(2){{text-align:left}}.err{{color:#c00;text-align:left}}</style>\n</head>\n<body>"
    );
    let _ = writeln!(out, "<h1>tarn bench</h1>\n<p>{title}</p>");
    let _ = writeln!(
        out,
        "<p>Catalog <code>{}</code>; peak memory: {}.</p>",
        escape(&report.catalog),
        escape(&report.peak_memory_measures)
    );
    out.push_str(&svg(report));
    out.push_str(
        "<table>\n<tr><th>query</th><th>config</th><th>min ms</th><th>median ms</th><th>max ms</th>\
         <th>rows</th><th>scanned</th><th>peak memory</th><th>ratio</th></tr>\n",
    );
    for query in &report.queries {
        for result in &query.results {
            let _ = write!(out, "<tr><td>{}</td><td>{}</td>", escape(&query.name), escape(&result.config));
            match result.cells() {
                Some(cells) => {
                    for cell in cells {
                        let _ = write!(out, "<td>{}</td>", escape(&cell));
                    }
                    out.push_str("</tr>\n");
                }
                None => {
                    let message = result.error.as_deref().unwrap_or("no timed run");
                    let _ = writeln!(out, "<td class=\"err\" colspan=\"7\">{}</td></tr>", escape(message));
                }
            }
        }
    }
    for total in &report.totals {
        let _ = writeln!(
            out,
            "<tr><th>total</th><th>{}</th><td></td><th>{:.1}</th><td></td><td></td><td></td><td></td><th>{}</th></tr>",
            escape(&total.config),
            total.median_seconds * 1e3,
            total.ratio.map_or("-".into(), |r| format!("{r:.2}"))
        );
    }
    out.push_str("</table>\n</body>\n</html>\n");
    out
}

/// The colour of configuration `index`.
fn color(index: usize) -> &'static str {
    COLORS[index % COLORS.len()]
}

/// Seconds as milliseconds (`812 ms`) or seconds (`2.31 s`).
fn format_ms(seconds: f64) -> String {
    match seconds {
        s if s >= 10.0 => format!("{s:.1} s"),
        s if s >= 1.0 => format!("{s:.2} s"),
        s => format!("{:.1} ms", s * 1e3),
    }
}

/// Escape text for XML and HTML.
fn escape(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests::sample;

    #[test]
    fn svg_has_a_bar_per_query_and_config() {
        let svg = svg(&sample());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        // 2 legend squares, 3 bars (q2 failed under "fast").
        assert_eq!(svg.matches("<rect x=").count(), 5, "{svg}");
        assert_eq!(svg.matches("<path ").count(), 3);
        assert!(svg.contains("fast: failed"));
        assert!(svg.contains("0.50×"));
        assert!(svg.contains("k=v"));
    }

    #[test]
    fn html_is_self_contained() {
        let html = html(&sample());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script") && !html.contains("http://") || html.contains("http://www.w3.org/2000/svg"));
        assert!(!html.contains("https://"));
        assert!(html.contains("<svg"));
        assert_eq!(html.matches("<tr><td>").count(), 4);
        assert!(html.contains("boom"));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(format_ms(0.0123), "12.3 ms");
        assert_eq!(format_ms(2.345), "2.35 s");
    }
}

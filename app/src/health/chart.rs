//! Line charts as SVG strings, drawn with plotters on the server and embedded in the page.

use super::ChartView;
use chrono::{DateTime, Utc};
use plotters::prelude::*;

pub struct Series {
    pub name: String,
    pub points: Vec<(DateTime<Utc>, f64)>,
}

const COLOURS: [RGBColor; 5] = [
    RGBColor(0x1f, 0x5f, 0xa8),
    RGBColor(0xc2, 0x41, 0x0c),
    RGBColor(0x2e, 0x7d, 0x32),
    RGBColor(0x6a, 0x1b, 0x9a),
    RGBColor(0x8d, 0x6e, 0x00),
];

/// Draws the series between `from` and `to`; `latest` is the current value in words, shown
/// under the chart and read out by screen readers.
pub fn render(
    title: &str,
    unit: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    series: &[Series],
    latest: String,
) -> ChartView {
    let svg = draw(unit, from, to, series).unwrap_or_else(|error| {
        tracing::warn!(%error, "drawing a chart failed");
        String::new()
    });
    ChartView {
        svg,
        title: title.to_owned(),
        latest,
    }
}

fn draw(
    unit: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    series: &[Series],
) -> Result<String, String> {
    let to = if to <= from {
        from + chrono::Duration::seconds(1)
    } else {
        to
    };
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max);
    let top = if max <= 0.0 { 1.0 } else { max * 1.15 };
    let span = (to - from).num_seconds();
    let format = if span > 2 * 86400 {
        "%d %b %H:%M"
    } else {
        "%H:%M"
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(64)
            .build_cartesian_2d(from..to, 0.0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&|t: &DateTime<Utc>| t.format(format).to_string())
            .y_label_formatter(&|v: &f64| {
                if *v >= 1000.0 {
                    format!("{:.0}k", v / 1000.0)
                } else if top < 10.0 {
                    format!("{v:.1}")
                } else {
                    format!("{v:.0}")
                }
            })
            .y_desc(unit)
            // One minor grid line between major ones: the default ten made every chart page
            // several times larger.
            .max_light_lines(1)
            .bold_line_style(RGBColor(0xe5, 0xe5, 0xe5))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, s) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|(t, v)| (*t, *v)),
                    colour.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(0xcc, 0xcc, 0xcc))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn draws_an_svg_with_a_line() {
        let t0 = Utc.timestamp_opt(1_800_000_000, 0).single().expect("time");
        let points = (0..10)
            .map(|i| (t0 + chrono::Duration::seconds(i * 5), i as f64))
            .collect();
        let view = render(
            "Messages per second",
            "msg/s",
            t0,
            t0 + chrono::Duration::seconds(45),
            &[Series {
                name: "orders".into(),
                points,
            }],
            "9 messages per second".into(),
        );
        assert!(
            view.svg.starts_with("<svg"),
            "{}",
            &view.svg[..40.min(view.svg.len())]
        );
        assert!(view.svg.contains("<polyline"));
        assert_eq!(view.latest, "9 messages per second");
    }
}

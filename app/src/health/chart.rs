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
        svg: crate::loaded::Markup::new(svg),
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
    let axis = Axis::up_to(max);
    let top = axis.top;
    let span = (to - from).num_seconds();
    let format = if span > 2 * 86400 {
        "%d %b %H:%M"
    } else {
        "%H:%M"
    };
    let mut svg = String::new();
    // Invisible targets over each point, each with its time and value as a tooltip.
    let mut targets = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 340)).into_drawing_area();
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
            .y_labels(axis.ticks())
            .x_label_formatter(&|t: &DateTime<Utc>| t.format(format).to_string())
            .y_label_formatter(&|v: &f64| axis.label(*v))
            .y_desc(unit)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 15))
            // One minor grid line between major ones: the default ten made every chart page
            // several times larger.
            .max_light_lines(1)
            .bold_line_style(RGBColor(0xe5, 0xe5, 0xe5))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, s) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            for (t, v) in &s.points {
                let (x, y) = chart.backend_coord(&(*t, *v));
                let name = if series.len() > 1 {
                    format!("{}: ", s.name)
                } else {
                    String::new()
                };
                targets.push_str(&format!(
                    "<circle cx=\"{x}\" cy=\"{y}\" r=\"7\" fill=\"transparent\"><title>{} {}{} {}</title></circle>",
                    t.format(format),
                    escape(&name),
                    axis.value(*v),
                    escape(unit)
                ));
            }
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
    if let Some(end) = svg.rfind("</svg>") {
        svg.insert_str(end, &format!("<g class=\"chart-points\">{targets}</g>"));
    }
    Ok(svg)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A value axis from zero with round steps (1, 2 or 5 times a power of ten), labelled with as
/// many decimals as the step needs: "0, 0.02, 0.04", never "0.0, 0.0, 0.1".
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    top: f64,
    step: f64,
    decimals: usize,
}

impl Axis {
    fn up_to(max: f64) -> Self {
        let max = if max.is_finite() && max > 0.0 {
            max
        } else {
            1.0
        };
        // About five steps up to the highest value.
        let rough = max / 5.0;
        let power = 10f64.powf(rough.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * power)
            .find(|s| *s >= rough)
            .unwrap_or(10.0 * power);
        let top = (max / step).ceil() * step;
        let top = if top <= max { top + step } else { top };
        let decimals = if step >= 1.0 {
            0
        } else {
            usize::try_from((-step.log10()).ceil() as i64).unwrap_or(0)
        };
        Self {
            top,
            step,
            decimals,
        }
    }

    fn ticks(&self) -> usize {
        ((self.top / self.step).round() as usize) + 1
    }

    fn label(&self, value: f64) -> String {
        if self.step >= 1000.0 {
            let k = value / 1000.0;
            if (k - k.round()).abs() < 1e-9 {
                format!("{k:.0}k")
            } else {
                format!("{k:.1}k")
            }
        } else {
            format!("{value:.*}", self.decimals)
        }
    }

    /// A value as exact as the axis, plus one decimal.
    fn value(&self, value: f64) -> String {
        format!("{value:.*}", self.decimals + 1)
    }
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
        // Each point tells its time and value under the pointer.
        assert_eq!(view.svg.matches("<title>").count(), 10);
        assert!(view.svg.contains("9.0 msg/s</title>"), "{}", &*view.svg);
    }

    #[test]
    fn axis_labels_are_round_and_distinct_at_every_scale() {
        for (max, top, labels) in [
            (0.13, 0.15, vec!["0.00", "0.05", "0.10", "0.15"]),
            (0.9, 1.0, vec!["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
            (7.0, 8.0, vec!["0", "2", "4", "6", "8"]),
            (20.0, 25.0, vec!["0", "5", "10", "15", "20", "25"]),
            (12_345.0, 15_000.0, vec!["0k", "5k", "10k", "15k"]),
        ] {
            let axis = Axis::up_to(max);
            assert!((axis.top - top).abs() < 1e-9, "{max}: {axis:?}");
            let shown: Vec<String> = (0..axis.ticks())
                .map(|i| axis.label(i as f64 * axis.step))
                .collect();
            assert_eq!(shown, labels, "{max}");
        }
        assert!(
            (Axis::up_to(0.0).top - 1.2).abs() < 1e-9,
            "an empty chart still has an axis"
        );
    }
}

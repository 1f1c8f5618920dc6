//! Charts as server-rendered SVG: horizontal bars with their values written beside them. A
//! chart is never the only place its figures are: every page puts a table with the same figures
//! beside it, and the chart's description says so.

use maud::{Markup, html};

pub struct Bar {
    pub label: String,
    pub value: f64,
    /// The value as the table writes it, e.g. "18.3%".
    pub shown: String,
}

const LABEL_WIDTH: f64 = 260.0;
const BAR_WIDTH: f64 = 360.0;
const VALUE_WIDTH: f64 = 80.0;
const ROW: f64 = 26.0;
const TOP: f64 = 8.0;

/// A bar chart titled `title`, scaled to `max` (the largest value when `None`), with an optional
/// reference line (a threshold, named by its label).
pub fn bars(
    id: &str,
    title: &str,
    description: &str,
    bars: &[Bar],
    max: Option<f64>,
    reference: Option<(f64, &str)>,
) -> Markup {
    let largest = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let max = max.unwrap_or(largest).max(largest).max(f64::EPSILON);
    let width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH;
    let reference_room = if reference.is_some() { 22.0 } else { 0.0 };
    let height = TOP + ROW * bars.len() as f64 + reference_room + 4.0;
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        figure.rollcall-chart {
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {width} {height}"))
                width="100%" role="img" aria-labelledby=(format!("{title_id} {desc_id}"))
                font-family="arial, sans-serif" font-size="14" {
                title id=(title_id) { (title) }
                desc id=(desc_id) { (description) }
                @for (i, bar) in bars.iter().enumerate() {
                    @let y = TOP + ROW * i as f64;
                    @let w = (bar.value.max(0.0) / max * BAR_WIDTH).max(if bar.value > 0.0 { 1.0 } else { 0.0 });
                    text x=(LABEL_WIDTH - 8.0) y=(y + 15.0) text-anchor="end" fill="#0b0c0c" {
                        (truncate(&bar.label, 34))
                    }
                    rect x=(LABEL_WIDTH) y=(y + 2.0) width=(format!("{w:.1}")) height="18" fill="#1d70b8" {}
                    text x=(LABEL_WIDTH + w + 6.0) y=(y + 15.0) fill="#0b0c0c" { (bar.shown) }
                }
                @if let Some((value, label)) = reference {
                    @let x = LABEL_WIDTH + (value / max).min(1.0) * BAR_WIDTH;
                    @let bottom = TOP + ROW * bars.len() as f64;
                    line x1=(format!("{x:.1}")) x2=(format!("{x:.1}")) y1=(TOP) y2=(bottom)
                        stroke="#d4351c" stroke-width="2" stroke-dasharray="4 3" {}
                    text x=(format!("{x:.1}")) y=(bottom + 16.0) text-anchor="middle" fill="#d4351c" { (label) }
                }
            }
        }
    }
}

fn truncate(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_owned()
    } else {
        let cut: String = label.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_labelled_and_scaled_to_its_largest_bar() {
        let svg = bars(
            "pa",
            "Persistent absence by school",
            "The same figures are in the table below.",
            &[
                Bar {
                    label: "Kenilworth Primary School".into(),
                    value: 20.0,
                    shown: "20.0%".into(),
                },
                Bar {
                    label: "Rugby <High> School".into(),
                    value: 10.0,
                    shown: "10.0%".into(),
                },
            ],
            None,
            Some((10.0, "10% threshold")),
        )
        .into_string();
        assert!(
            svg.contains(r#"role="img" aria-labelledby="pa-title pa-desc""#),
            "{svg}"
        );
        assert!(svg.contains("<title id=\"pa-title\">Persistent absence by school</title>"));
        assert!(
            svg.contains(r#"width="360.0""#),
            "the largest bar fills the width: {svg}"
        );
        assert!(
            svg.contains(r#"width="180.0""#),
            "half the value, half the width: {svg}"
        );
        assert!(
            svg.contains("Rugby &lt;High&gt; School"),
            "labels are escaped: {svg}"
        );
        assert!(svg.contains("10% threshold"));
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}

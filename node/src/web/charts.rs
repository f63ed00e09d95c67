//! Completion rates drawn on the server as SVG bar charts, readable at a glance and without
//! script: one horizontal bar per group, its rate written beside it in words ("8 of 12 · 67 %"),
//! small groups drawn grey and labelled as such, and the same numbers in a table underneath for
//! screen readers and for copying. Built with maud, so every label is escaped.

use super::i18n::Tr;
use crate::domain::reports::Rate;
use maud::{Markup, html};

/// One bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// What it counts (a pathway, a site, a group of learners).
    pub label: String,
    /// Learners who completed.
    pub completed: usize,
    /// Learners who attempted.
    pub attempted: usize,
    /// Fewer attempted than a rate can be trusted on.
    pub small: bool,
}

impl Bar {
    /// From a report row.
    pub fn of(label: String, r: &Rate) -> Bar {
        Bar {
            label,
            completed: r.completed,
            attempted: r.attempted,
            small: r.small_group,
        }
    }

    /// The rate, 0 to 1, when anyone attempted.
    fn rate(&self) -> Option<f64> {
        (self.attempted > 0).then(|| self.completed as f64 / self.attempted as f64)
    }
}

// Each bar has its label above it and its value in words to its right.
const WIDTH: u32 = 840;
const BAR: u32 = 440;
const ROW: u32 = 62;
const TOP: u32 = 24;

/// Shorten a label to fit above its bar (the whole label stays in the bar's title and the
/// table).
fn fit(label: &str) -> String {
    const MAX: usize = 80;
    if label.chars().count() <= MAX {
        label.to_string()
    } else {
        format!("{}…", label.chars().take(MAX - 1).collect::<String>())
    }
}

/// The words beside a bar.
fn value(tr: &Tr, b: &Bar) -> String {
    match b.rate() {
        None => tr.t("chart-nobody"),
        Some(r) => {
            let words = tr.a(
                "chart-value",
                &[
                    ("completed", b.completed.to_string()),
                    ("attempted", b.attempted.to_string()),
                    ("percent", format!("{}", (r * 100.0).round() as u32)),
                ],
            );
            if b.small {
                format!("{words} · {}", tr.t("chart-small"))
            } else {
                words
            }
        }
    }
}

/// A chart: a title, bars, and the numbers as a table.
pub fn chart(tr: &Tr, id: &str, title: &str, bars: &[Bar], small_below: usize) -> Markup {
    let height = ROW * bars.len() as u32 + 36;
    let title_id = format!("{id}-title");
    html! {
        figure.chart #(id) {
            figcaption { h3 { (title) } }
            @if bars.is_empty() {
                p.empty { (tr.t("chart-empty")) }
            } @else {
                svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby=(title_id)
                    viewBox=(format!("0 0 {WIDTH} {height}")) width=(WIDTH) height=(height)
                    font-family="system-ui, DejaVu Sans, sans-serif" font-size="16" {
                    title #(title_id) { (title) }
                    // The 0, 50 and 100 % guides.
                    @for (i, mark) in ["0 %", "50 %", "100 %"].iter().enumerate() {
                        @let x = 1 + (BAR - 2) * i as u32 / 2;
                        line x1=(x) x2=(x) y1="4" y2=(height - 28) stroke="#bbb" stroke-width="1" {}
                        text x=(x) y=(height - 8) text-anchor=(["start", "middle", "end"][i]) fill="#333" { (mark) }
                    }
                    @for (i, b) in bars.iter().enumerate() {
                        @let y = ROW * i as u32;
                        @let w = b.rate().map_or(0, |r| (r * BAR as f64).round() as u32);
                        g {
                            title { (b.label) ": " (value(tr, b)) }
                            text x="0" y=(y + 18) fill="#111" font-weight="600" { (fit(&b.label)) }
                            rect x="0" y=(y + TOP) width=(BAR) height=(ROW - TOP - 10) fill="#eef0f2" {}
                            rect x="0" y=(y + TOP) width=(w) height=(ROW - TOP - 10)
                                fill=(if b.small { "#8a8a8a" } else { "#17663a" }) {}
                            text x=(BAR + 12) y=(y + TOP + 20) fill="#111" { (value(tr, b)) }
                        }
                    }
                }
                @if bars.iter().any(|b| b.small) {
                    p.help { (tr.a("chart-small-help", &[("n", small_below.to_string())])) }
                }
                details {
                    summary { (tr.t("chart-table")) }
                    div.scroll { table {
                        thead { tr {
                            th scope="col" { (tr.t("chart-col-group")) }
                            th scope="col" { (tr.t("chart-col-completed")) }
                            th scope="col" { (tr.t("chart-col-attempted")) }
                            th scope="col" { (tr.t("chart-col-rate")) }
                        } }
                        tbody { @for b in bars {
                            tr {
                                th scope="row" { (b.label) }
                                td { (b.completed) }
                                td { (b.attempted) }
                                td { (value(tr, b)) }
                            }
                        } }
                    } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use proptest::prelude::*;

    fn bars(n: usize) -> Vec<Bar> {
        (0..n)
            .map(|i| Bar {
                label: format!("<b>{i}</b> & \"x\""),
                completed: i,
                attempted: 2 * i,
                small: i < 2,
            })
            .collect()
    }

    #[test]
    fn labels_are_escaped_and_small_groups_are_said_in_words() {
        let tr = Tr::new(Lang::En);
        let out = chart(&tr, "c", "Title <i>", &bars(3), 10).into_string();
        assert!(!out.contains("<b>"), "a label reached the page unescaped");
        assert!(!out.contains("<i>"));
        assert!(out.contains("&lt;b&gt;"));
        assert!(out.contains(&tr.t("chart-small")));
        assert!(
            out.contains(&tr.t("chart-nobody")),
            "the row nobody attempted"
        );
        assert!(!out.contains('⟦'));
    }

    proptest! {
        /// Whatever the counts, bars stay inside their track and the SVG is well formed XML.
        #[test]
        fn bars_stay_in_their_track(rows in proptest::collection::vec((0usize..1000, 0usize..1000, any::<bool>(), "\\PC{0,60}"), 0..12)) {
            let bars: Vec<Bar> = rows.into_iter().map(|(a, b, small, label)| {
                let (completed, attempted) = (a.min(b), a.max(b));
                Bar { label, completed, attempted, small }
            }).collect();
            let tr = Tr::new(Lang::Es);
            let out = chart(&tr, "c", "t", &bars, 10).into_string();
            for b in &bars {
                let w = b.rate().map_or(0, |r| (r * BAR as f64).round() as u32);
                prop_assert!(w <= BAR);
            }
            if let (Some(start), Some(end)) = (out.find("<svg"), out.find("</svg>")) {
                let svg = &out[start..end + 6];
                prop_assert!(roxmltree::Document::parse(svg).is_ok(), "{}", svg);
            }
        }
    }
}

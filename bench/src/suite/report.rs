//! The suite's table: its [`Row`], a row from a child scenario's
//! [`crate::headline::Headline`], the ratio column and the Markdown rendering.

/// One row of the table.
pub(super) struct Row {
    pub(super) scenario: String,
    pub(super) ours: String,
    pub(super) baseline: String,
    pub(super) ratio: String,
    pub(super) p50: String,
    pub(super) p99: String,
    pub(super) memory: String,
}

/// `ours / theirs` to two decimals, or `—` without a baseline figure.
pub(super) fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 && ours.is_finite() {
        format!("{:.2}", ours / theirs)
    } else {
        "—".into()
    }
}

/// The table as Markdown.
pub(super) fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | this project | baseline | ratio (ours / baseline) | p50 | p99 | peak memory (API RSS) |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.scenario, r.ours, r.baseline, r.ratio, r.p50, r.p99, r.memory
        ));
    }
    out
}

impl From<crate::headline::Headline> for Row {
    fn from(h: crate::headline::Headline) -> Self {
        let ms = |v: Option<f64>| v.map_or("—".into(), |v| format!("{} ms", crate::table::ms(v)));
        Row {
            scenario: h.scenario,
            ours: h.ours,
            baseline: h.baseline,
            ratio: h.ratio.map_or("—".into(), |r| {
                if r < 0.01 {
                    format!("{r:.4}")
                } else {
                    format!("{r:.2}")
                }
            }),
            p50: ms(h.p50_ms),
            p99: ms(h.p99_ms),
            memory: h.memory_mib.map_or("—".into(), |m| format!("{m} MiB")),
        }
    }
}

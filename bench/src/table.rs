//! Plain-text result tables and the statistics that fill them.
//!
//! Tables are fixed-width text rather than Markdown so they read well in a
//! terminal and paste unchanged into an issue inside a code block.

/// A table: the first column is left-aligned (names), the others right-aligned
/// (numbers).
pub struct Table {
    /// Column titles.
    headers: Vec<String>,
    /// Cells, one `Vec` per row; a row may be shorter than the header.
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders the table, columns separated by at least three spaces.
    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                let pad = widths[i] - cell.chars().count();
                if i == 0 {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str(&" ".repeat(pad + 3));
                    line.push_str(cell);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Latency percentiles of a sample, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values` (sorted in place). `None` when empty.
    pub fn of(values: &mut [f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least p% of the sample at or
        // below it, so p99 of 10,000 values is the 9,900th, never interpolated.
        let rank = |p: f64| {
            let index = (p * values.len() as f64).ceil() as usize;
            values[index.clamp(1, values.len()) - 1]
        };
        Some(Self {
            p50: rank(0.50),
            p99: rank(0.99),
            max: values[values.len() - 1],
        })
    }
}

/// A rate with no decimals and a thin thousands separator, e.g. `12 345`.
pub fn rate(per_second: f64) -> String {
    let digits = format!("{:.0}", per_second.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with precision that suits the magnitude (sub-millisecond Redis
/// round trips and multi-second backlogs in one column).
pub fn ms(value: f64) -> String {
    if value.abs() < 10.0 {
        format!("{value:.2}")
    } else if value.abs() < 1000.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut values: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let p = Percentiles::of(&mut values).unwrap();
        assert_eq!((p.p50, p.p99, p.max), (50.0, 99.0, 100.0));
        assert!(Percentiles::of(&mut []).is_none());
        let p = Percentiles::of(&mut [7.0]).unwrap();
        assert_eq!((p.p50, p.p99, p.max), (7.0, 7.0, 7.0));
    }

    #[test]
    fn numbers_are_formatted_for_reading() {
        assert_eq!(rate(1234567.4), "1 234 567");
        assert_eq!(rate(999.6), "1 000");
        assert_eq!(ms(0.1234), "0.12");
        assert_eq!(ms(45.67), "45.7");
        assert_eq!(ms(12345.6), "12346");
    }

    #[test]
    fn columns_align() {
        let mut t = Table::new(&["scenario", "jobs/s"]);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["longer name".into(), "12 345".into()]);
        assert_eq!(
            t.render(),
            "scenario      jobs/s\na                  1\nlonger name   12 345\n"
        );
    }
}

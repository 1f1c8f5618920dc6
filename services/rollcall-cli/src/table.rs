//! A plain aligned text table: numbers right-aligned, text left-aligned.

/// Renders rows under headers; a cell that parses as a number is right-aligned.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            let numeric = !cell.is_empty() && cell.trim_end_matches('%').parse::<f64>().is_ok();
            if numeric {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                if i + 1 < cells.len() {
                    out.push_str(&" ".repeat(pad));
                }
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(headers.to_vec());
    out.push_str(&line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A percentage with one decimal place, as LA reports show it.
pub fn perc(value: f64) -> String {
    format!("{value:.1}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_numbers_sit_right() {
        let table = render(
            &["urn", "name", "possible"],
            &[
                vec!["100001".into(), "Alpha".into(), "9".into()],
                vec!["100002".into(), "Beta Primary".into(), "1200".into()],
            ],
        );
        assert_eq!(
            table,
            "urn     name          possible\n\
             ------  ------------  --------\n\
             100001  Alpha                9\n\
             100002  Beta Primary      1200\n"
        );
    }
}

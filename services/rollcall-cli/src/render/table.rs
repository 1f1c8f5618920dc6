//! The plain aligned text tables the commands print (with comfy-table): a header, a line of
//! dashes under each column, two spaces between columns, numbers right-aligned and text
//! left-aligned, no trailing spaces.

use comfy_table::{Cell, CellAlignment, Table, presets::NOTHING};

/// Renders rows under headers; a cell that reads as a number (or a percentage) is
/// right-aligned.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut table = Table::new();
    table.load_preset(NOTHING).set_header(headers.to_vec());
    for row in rows {
        table.add_row(row.iter().map(|text| {
            let cell = Cell::new(text);
            if is_number(text) {
                cell.set_alignment(CellAlignment::Right)
            } else {
                cell
            }
        }));
    }
    // The dashes are the header cells' second line, as wide as the widest cell of the column.
    let widths = table.column_max_content_widths();
    table.set_header(
        headers
            .iter()
            .zip(widths)
            .map(|(header, width)| format!("{header}\n{}", "-".repeat(usize::from(width)))),
    );
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table.trim_fmt() + "\n"
}

fn is_number(cell: &str) -> bool {
    !cell.is_empty() && cell.trim_end_matches('%').parse::<f64>().is_ok()
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

    #[test]
    fn empty_cells_keep_their_column_and_a_table_may_have_no_rows() {
        let table = render(
            &["urn", "school", "possible"],
            &[
                vec!["100001".into(), "Alpha".into(), "90.5%".into()],
                vec![String::new(), "total".into(), "12".into()],
            ],
        );
        assert_eq!(
            table,
            "urn     school  possible\n\
             ------  ------  --------\n\
             100001  Alpha      90.5%\n\
             \x20       total         12\n"
        );
        assert_eq!(render(&["at", "who"], &[]), "at  who\n--  ---\n");
    }
}

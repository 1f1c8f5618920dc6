//! Progress of the long commands (submitting, waiting for the pipeline, exports, the demo) on
//! stderr with indicatif. A bar is drawn only when stderr is a terminal, so scripts and logs see
//! only the commands' own lines.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` steps, drawn with `template` (indicatif's template language).
fn bar(len: u64, template: &str) -> ProgressBar {
    let style = ProgressStyle::with_template(template)
        .expect("the templates are valid")
        .progress_chars("#.");
    ProgressBar::new(len).with_style(style)
}

/// Feeds going by: `<doing> [####......] 120/640 feeds`.
pub fn feeds(len: u64, doing: &str) -> ProgressBar {
    bar(len, &format!("{doing} [{{bar:30}}] {{pos}}/{{len}} feeds"))
}

/// Something of unknown length: a spinner with what is happening.
pub fn spinner(doing: String) -> ProgressBar {
    let spinner = ProgressBar::new_spinner().with_message(doing);
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

/// A bar the client library moves: an export's schools and rows, or the feeds waited for.
pub struct Bar {
    bar: ProgressBar,
    /// Leave the bar's last state on screen when done (an export's), rather than clear it.
    keep: bool,
}

impl Bar {
    /// An export: `[#####.....] 3/10 schools, 1234 rows`, left on screen when done.
    pub fn export() -> Bar {
        let bar = bar(0, "[{bar:30}] {pos}/{len} schools, {msg} rows");
        bar.set_message("0");
        Bar { bar, keep: true }
    }

    /// Receipts waited for: `waiting for the pipeline [###.......] 120/640 feeds`.
    pub fn receipts() -> Bar {
        Bar {
            bar: feeds(0, "waiting for the pipeline"),
            keep: false,
        }
    }
}

impl rollcall_client::progress::Progress for Bar {
    fn start(&self, total: u64) {
        self.bar.set_length(total);
    }

    fn advance(&self, done: u64, items: u64) {
        self.bar.set_position(done);
        self.bar.set_message(items.to_string());
    }

    fn finish(&self) {
        if self.keep {
            self.bar.abandon();
        } else {
            self.bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use rollcall_client::progress::Progress as _;

    use super::*;

    #[test]
    fn every_bar_builds_and_moves_hidden_off_a_terminal() {
        let sending = feeds(3, "sending");
        sending.inc(2);
        assert_eq!(sending.position(), 2);
        sending.finish_and_clear();
        let export = Bar::export();
        export.start(10);
        export.advance(4, 1_234);
        assert_eq!(
            (
                export.bar.position(),
                export.bar.length(),
                export.bar.message()
            ),
            (4, Some(10), "1234".to_owned())
        );
        export.finish();
        let receipts = Bar::receipts();
        receipts.start(2);
        receipts.advance(2, 0);
        receipts.finish();
        assert!(receipts.bar.is_finished());
        spinner("sending".into()).finish_and_clear();
    }
}

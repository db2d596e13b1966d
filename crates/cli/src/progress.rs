//! Progress display on stderr: an indicatif bar (frames done/total, fps, ETA) on a terminal, a
//! plain line every few seconds when stderr is not a terminal, nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use std::cell::RefCell;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use upframe::{Hooks, JobStart, Progress};

/// How often the plain (non-terminal) progress line is printed.
const PLAIN_INTERVAL: Duration = Duration::from_secs(5);

pub enum ProgressDisplay {
    Hidden,
    Bar(ProgressBar),
    Plain { last: Option<Instant> },
}

impl ProgressDisplay {
    pub fn new(quiet: bool) -> Self {
        if quiet {
            ProgressDisplay::Hidden
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} frames  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            ProgressDisplay::Bar(bar)
        } else {
            ProgressDisplay::Plain { last: None }
        }
    }

    /// Announces the job (terminal and plain modes).
    pub fn start(&mut self, message: &str, total: Option<u64>) {
        match self {
            ProgressDisplay::Hidden => {}
            ProgressDisplay::Bar(bar) => {
                if let Some(t) = total {
                    bar.set_length(t);
                }
                bar.println(message);
            }
            ProgressDisplay::Plain { last } => {
                eprintln!("{message}");
                *last = Some(Instant::now());
            }
        }
    }

    pub fn update(&mut self, p: &Progress) {
        match self {
            ProgressDisplay::Hidden => {}
            ProgressDisplay::Bar(bar) => {
                if let Some(t) = p.frames_total {
                    if bar.length() != Some(t.max(p.frames_done)) {
                        bar.set_length(t.max(p.frames_done));
                    }
                }
                bar.set_position(p.frames_done);
                bar.set_message(format!("{:.2} fps  ETA {}", p.fps, eta_text(p)));
            }
            ProgressDisplay::Plain { last } => {
                let due = last.is_none_or(|t| t.elapsed() >= PLAIN_INTERVAL);
                if due {
                    *last = Some(Instant::now());
                    eprintln!("upframe: {}", plain_line(p));
                }
            }
        }
    }

    pub fn finish(self) {
        if let ProgressDisplay::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn eta_text(p: &Progress) -> String {
    match p.eta {
        Some(eta) => {
            let s = eta.as_secs();
            format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
        }
        None => "?".to_string(),
    }
}

/// `frames 120/795 (15.1%), 9.87 fps, ETA 0:01:08`
pub fn plain_line(p: &Progress) -> String {
    let total = match p.frames_total {
        Some(t) if t > 0 => format!("/{t} ({:.1}%)", 100.0 * p.frames_done as f64 / t as f64),
        _ => String::new(),
    };
    format!(
        "frames {}{total}, {:.2} fps, ETA {}",
        p.frames_done,
        p.fps,
        eta_text(p)
    )
}

/// Runs `run` with hooks that show the job's start line (`start_line`) and its progress on
/// stderr, cancelled by this process's Ctrl-C / SIGTERM token, notices as `upframe:` lines.
pub fn with_display<T>(
    quiet: bool,
    start_line: &dyn Fn(&JobStart<'_>) -> String,
    run: impl FnOnce(&mut Hooks<'_>) -> T,
) -> T {
    let display = RefCell::new(ProgressDisplay::new(quiet));
    let result = {
        let mut hooks = Hooks {
            cancel: crate::job_options::cancel_token(),
            notice: upframe::Notice::new(|m| eprintln!("upframe: {m}")),
            on_start: Some(Box::new(|s: &JobStart<'_>| {
                display.borrow_mut().start(&start_line(s), s.frames)
            })),
            on_progress: Some(Box::new(|p: &Progress| display.borrow_mut().update(p))),
        };
        run(&mut hooks)
    };
    display.into_inner().finish();
    result
}

//! Options every video job shares (encoder, time window, stream passthrough, decode-error
//! policy, output safety, progress, JSON summary), their translation into a [`VideoJob`] with
//! a Ctrl-C/SIGTERM cancellation flag, and the small parsers and readings the commands share.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::sync::OnceLock;

use anyhow::{anyhow, bail, Result};
use clap::{ArgMatches, Args, ValueEnum};
use upframe_media::{DecodeErrorPolicy, DecodeOptions, EncodeOptions, MediaError};
use upframe_models::registry;
use upframe_pipeline::journal::{JobKey, JournalError};
use upframe_pipeline::timing::parse_fps;
use upframe_pipeline::{
    kept_segments, resume_hint, JobError, Notice, SegmentOptions, VideoJob, DEFAULT_MAX_PIXELS,
};

use crate::Interrupted;

/// What to do when a frame cannot be decoded or the input holds less than it declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnDecodeError {
    /// Stop with an error naming the frame (or saying where the input ends early).
    Abort,
    /// Drop the frame, count it, and go on; accept a short input with a warning.
    Skip,
}

/// Encoder, window, passthrough and output options of `upscale`, `interpolate` and `enhance`.
#[derive(Debug, Args)]
pub struct JobOptions {
    /// Video encoder (FFmpeg name: libx264, libx265, libvpx-vp9, ffv1, prores_ks, ...).
    /// Default: from the output extension (.mp4/.mkv → libx264, 10-bit → libx265, .webm → VP9).
    #[arg(long, value_name = "C")]
    pub codec: Option<String>,
    /// Constant rate factor (quality; lower is better). Default 18 for x264/x265.
    #[arg(long, value_name = "N")]
    pub crf: Option<f32>,
    /// Target bit rate instead of CRF, e.g. 8M or 2500k.
    #[arg(long, value_name = "B", value_parser = parse_bitrate)]
    pub bitrate: Option<u64>,
    /// Encoder preset (x264/x265: ultrafast ... veryslow). Default medium.
    #[arg(long, value_name = "P")]
    pub preset: Option<String>,
    /// Output pixel format (yuv420p, yuv444p, yuv420p10le, ...). Default: from the input.
    #[arg(long, value_name = "F")]
    pub pix_fmt: Option<String>,
    /// Start at this time: seconds (12.5) or [HH:]MM:SS[.ms].
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub start: Option<f64>,
    /// Process this long: seconds or [HH:]MM:SS[.ms].
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub duration: Option<f64>,
    /// Process at most N frames.
    #[arg(long, value_name = "N")]
    pub frames: Option<u64>,
    /// Do not copy audio streams.
    #[arg(long)]
    pub no_audio: bool,
    /// Do not copy subtitle streams.
    #[arg(long)]
    pub no_subtitles: bool,
    /// Replace the output if it exists.
    #[arg(long)]
    pub overwrite: bool,
    /// What to do with frames that cannot be decoded, and with an input that ends before
    /// what its container declares (a truncated file) or a numbered frame sequence with a
    /// gap: `abort` stops with an error; `skip` drops undecodable frames and keeps what
    /// exists, with a warning (copied audio is cut where the video ends).
    #[arg(long, value_enum, value_name = "abort|skip", default_value = "abort")]
    pub on_decode_error: OnDecodeError,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print a JSON summary on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// Output frames per resumable segment (video outputs). Default: about 10 s of output;
    /// 0 writes the file directly, without segments (no resume).
    #[arg(long, value_name = "N")]
    pub segment_frames: Option<u64>,
    /// Start over, discarding the segments an earlier interrupted run left for this output.
    #[arg(long)]
    pub restart: bool,
    /// Frame rate of an image-sequence input (a folder of frames or a pattern such as
    /// frames/%06d.png): 30, 29.97, 30000/1001. Default 25, as FFmpeg's image2 `-framerate`.
    #[arg(long, value_name = "F")]
    pub framerate: Option<String>,
    /// Refuse input or output frames of more than N pixels (default 16384x16384; a frame that
    /// size takes 3 GiB in memory as RGB floats).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
}

impl JobOptions {
    /// The encoder settings.
    fn encode_options(&self) -> EncodeOptions {
        EncodeOptions {
            codec: self.codec.clone(),
            crf: self.crf,
            bitrate: self.bitrate,
            preset: self.preset.clone(),
            pix_fmt: self.pix_fmt.clone(),
            options: Vec::new(),
        }
    }

    /// Refuses, in a moment and before any model is loaded, a job that cannot work: missing
    /// input, an output that is or would write over the input, a taken output, a format that
    /// cannot hold the result, an unwritable folder ([`VideoJob::preflight`]).
    pub fn preflight(&self, input: &Path, output: &Path) -> Result<()> {
        self.job(input, output)?
            .preflight()
            .map_err(|e| job_error(e, input, output))
    }

    /// Checks the options and builds the job from `input` to `output`, with a cancellation flag
    /// that Ctrl-C and SIGTERM set.
    pub fn video_job(&self, input: &Path, output: &Path) -> Result<VideoJob> {
        let job = self.job(input, output)?;
        install_signal_handler(job.cancel.clone());
        Ok(job)
    }

    /// The job from `input` to `output`, its options checked; no signal handler (a process
    /// installs one, in [`JobOptions::video_job`]).
    fn job(&self, input: &Path, output: &Path) -> Result<VideoJob> {
        if let Some(0) = self.frames {
            bail!("--frames must be at least 1");
        }
        if let Some(d) = self.duration {
            if d <= 0.0 {
                bail!("--duration must be greater than 0");
            }
        }
        let sequence_frame_rate = match &self.framerate {
            None => DecodeOptions::default().sequence_frame_rate,
            Some(text) => {
                let (num, den) = parse_fps(text).map_err(|e| anyhow!("--framerate: {e}"))?;
                let g = gcd(num, den).max(1);
                let (num, den) = (num / g, den / g);
                match (i32::try_from(num), i32::try_from(den)) {
                    (Ok(n), Ok(d)) if n > 0 && d > 0 => (n, d),
                    _ => bail!("--framerate {text}: out of range"),
                }
            }
        };
        let mut job = VideoJob::new(input, output);
        job.decode = DecodeOptions {
            start_s: self.start,
            duration_s: self.duration,
            max_frames: self.frames,
            on_decode_error: match self.on_decode_error {
                OnDecodeError::Abort => DecodeErrorPolicy::Abort,
                OnDecodeError::Skip => DecodeErrorPolicy::Skip,
            },
            sequence_frame_rate,
            ..DecodeOptions::default()
        };
        job.encode = self.encode_options();
        job.overwrite = self.overwrite;
        job.audio = !self.no_audio;
        job.subtitles = !self.no_subtitles;
        job.segments = Some(SegmentOptions {
            frames: self.segment_frames,
            restart: self.restart,
            key: COMMAND_KEY.get().cloned().unwrap_or_default(),
        });
        job.notice = Notice::new(|m| eprintln!("upframe: {m}"));
        job.max_pixels = self.max_pixels;
        Ok(job)
    }
}

/// The command's options that make up a resumable job's key (see [`record_command_key`]).
static COMMAND_KEY: OnceLock<JobKey> = OnceLock::new();

/// Options that do not change the output: where it goes, how it is reported, whether to
/// resume. Everything else the user typed (or left at its default) is part of the job's key.
const NOT_IN_KEY: &[&str] = &[
    "input",
    "output",
    "quiet",
    "json",
    "overwrite",
    "skip_existing",
    "restart",
    // See the pipeline's job key: a short input finishes with `skip` on the same segments.
    "on_decode_error",
    "segment_frames",
    "model_dir",
    "max_pixels",
];

/// Records the subcommand's arguments as the key of a resumable job: `option.ID=value` for
/// every argument, plus `model.ID.sha256` for every model argument that names a weight file
/// (so replaced weights refuse to resume).
pub fn record_command_key(command: &clap::Command, matches: &ArgMatches) {
    let mut key = JobKey::new();
    key.push("command", command.get_name());
    let model_dir = matches
        .try_get_one::<std::path::PathBuf>("model_dir")
        .ok()
        .flatten()
        .cloned();
    // Every argument the command has, given or not, so that giving one later reads as
    // "changed (default -> 20)".
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if NOT_IN_KEY.contains(&id) || id == "help" || id == "version" {
            continue;
        }
        let value = match matches.try_get_raw(id) {
            Ok(Some(raw)) => raw
                .map(|v| v.to_string_lossy().replace(['\n', '\r'], " "))
                .collect::<Vec<_>>()
                .join(","),
            // Not given and no default value.
            Ok(None) => "default".to_string(),
            Err(_) => continue,
        };
        // Weight files: by content. A name that resolves to no file (lanczos, a typo) has
        // none; the job itself reports a missing model.
        let weights = match id {
            "model" | "interp_model" => Some(value.as_str()),
            // --denoise-strength mixes in the companion weights.
            "denoise_strength" if value != "default" => Some("realesr-general-wdn-x4v3"),
            _ => None,
        };
        if let Some(name) = weights {
            if let Ok(resolved) = registry::resolve(name, model_dir.as_deref()) {
                // The embedded copy hashes like the official file it is.
                let hash = resolved.sha256().map(|(h, _)| h).unwrap_or_else(|e| {
                    format!("unreadable ({})", e.to_string().replace('\n', " "))
                });
                key.push(format!("model.{id}.sha256"), hash);
            }
        }
        key.push(format!("option.{id}"), value);
    }
    let _ = COMMAND_KEY.set(key);
}

/// The user-facing error for a failed or interrupted job: one line naming the file, plus what
/// was kept for a re-run when complete segments exist.
pub fn job_error(e: JobError, input: &Path, output: &Path) -> anyhow::Error {
    let mut hint = resume_hint(output);
    if e.is_cancelled() {
        return Interrupted { hint }.into();
    }
    // The same command would stop at the same place: say how to keep what exists instead.
    if matches!(&e, JobError::Media(MediaError::ShortInput(_))) {
        hint = kept_segments(output).map(|kept| {
            format!(
                "{kept}; add --on-decode-error skip to the same command to write the frames that exist (it resumes after them)"
            )
        });
    }
    let err: anyhow::Error = match e {
        JobError::Media(m) => m.into(),
        JobError::Pipeline(p) => anyhow!("{}: {p}", input.display()),
        // A refusal to resume gives the exact command that starts over.
        JobError::Journal(JournalError::Changed { output, what, .. }) => {
            return anyhow!(
                "cannot resume {}: {what}; to start over, run: {}",
                output.display(),
                restart_command()
            )
        }
        JobError::Journal(JournalError::Damaged {
            output,
            path,
            reason,
        }) => {
            return anyhow!(
                "cannot resume {}: the journal {} is damaged ({reason}); to start over, run: {}",
                output.display(),
                path.display(),
                restart_command()
            )
        }
        // Other journal errors (locked, I/O) say themselves what is wrong.
        JobError::Journal(j) => return j.into(),
    };
    match hint {
        Some(h) => anyhow!("{err}; {h}"),
        None => err,
    }
}

/// Says, even with `--quiet`, that the output holds less than the input declares (accepted
/// under `--on-decode-error skip`); the same words for the JSON summary.
pub fn short_input_note(short: Option<&impl std::fmt::Display>) -> Option<String> {
    let text = short.map(|s| s.to_string())?;
    eprintln!("upframe: warning: {text}");
    Some(text)
}

/// `, N of them from the interrupted run` for a resumed job's final line.
pub fn resumed_note(frames_resumed: u64) -> String {
    if frames_resumed > 0 {
        format!(", {frames_resumed} of them from the interrupted run")
    } else {
        String::new()
    }
}

/// The JSON summary's `resume` object: how a resumed job reached its first new frame (`null`
/// when it was not resumed). `frames_decoded_before_first_new` compares with the
/// `frames_decoded` of an uninterrupted run.
pub fn resume_json(resume: Option<&upframe_pipeline::ResumeReport>) -> serde_json::Value {
    match resume {
        None => serde_json::Value::Null,
        Some(r) => serde_json::json!({
            "first_frame": r.first_frame,
            "seeked": r.seek.seeked,
            "frames_decoded_before_first_new": r.frames_decoded_before_first_new,
            "fallback": r.seek.fallback,
        }),
    }
}

/// This process's command line with `--restart` added, quoted for a POSIX shell.
pub fn restart_command() -> String {
    // Lossy, not `args()`: a name that is not UTF-8 must not panic here (the command shown
    // then has U+FFFD where those bytes were).
    let mut words: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if !words.iter().any(|w| w == "--restart") {
        words.push("--restart".into());
    }
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` as a POSIX shell reads it back: unchanged when it holds only safe characters, else in
/// single quotes.
fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+%@".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

/// Seconds from `12.5`, `1:02.5` or `01:01:02.5`.
pub fn parse_time(s: &str) -> Result<f64, String> {
    let bad = || format!("invalid time '{s}': use seconds (12.5) or [HH:]MM:SS[.ms]");
    let parts: Vec<&str> = s.trim().split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let mut total = 0.0;
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let v: f64 = if last {
            p.parse().map_err(|_| bad())?
        } else {
            p.parse::<u32>().map_err(|_| bad())? as f64
        };
        total = total * 60.0 + v;
    }
    if !total.is_finite() || total < 0.0 {
        return Err(bad());
    }
    Ok(total)
}

/// Bits per second from `8M`, `2500k` or `1500000`.
pub fn parse_bitrate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('k') | Some('K') => (&t[..t.len() - 1], 1e3),
        Some('m') | Some('M') => (&t[..t.len() - 1], 1e6),
        Some('g') | Some('G') => (&t[..t.len() - 1], 1e9),
        _ => (t, 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok((v * mult).round() as u64),
        _ => Err(format!(
            "invalid bit rate '{s}': use e.g. 8M, 2500k or 1500000"
        )),
    }
}

/// Peak resident memory of this process in bytes (`VmHWM` of /proc/self/status).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn install_signal_handler(cancel: Arc<AtomicBool>) {
    // First signal: the job stops after the frame in flight, drops the segment it was writing
    // and keeps the complete ones. Second signal: the user insists; leave now. Nothing is
    // under the output name yet (a half-joined file stays under its temporary name), and the
    // journal only lists complete segments, so the next run still resumes.
    let result = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            eprintln!(
                "upframe: stopped at once; complete segments are kept: run the same command again to resume"
            );
            std::process::exit(130);
        }
        eprintln!("upframe: stopping after the current frame (press Ctrl-C again to stop at once)");
    });
    if let Err(e) = result {
        tracing::warn!("cannot install the Ctrl-C handler: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("12.5"), Ok(12.5));
        assert_eq!(parse_time("1:02.5"), Ok(62.5));
        assert_eq!(parse_time("01:01:02"), Ok(3662.0));
        assert!(parse_time("").is_err());
        assert!(parse_time("-3").is_err());
        assert!(parse_time("1::2").is_err());
        assert!(parse_time("abc").is_err());
    }

    #[test]
    fn shell_words_quote() {
        assert_eq!(shell_quote("out.mp4"), "out.mp4");
        assert_eq!(shell_quote("my film.mkv"), "'my film.mkv'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn bitrates_parse() {
        assert_eq!(parse_bitrate("8M"), Ok(8_000_000));
        assert_eq!(parse_bitrate("2500k"), Ok(2_500_000));
        assert_eq!(parse_bitrate("1500000"), Ok(1_500_000));
        assert!(parse_bitrate("0").is_err());
        assert!(parse_bitrate("fast").is_err());
    }
}

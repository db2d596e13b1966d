//! The command-line face of the options every video job shares (encoder, time window,
//! stream passthrough, decode-error policy, output safety, progress, JSON summary): their
//! parsing into [`upframe::JobOptions`] (the time and bit-rate syntax read by the library's
//! parsers through [`LibraryParser`], the choice words of every command through
//! [`ChoiceParser`], every value validated by the library, not here), the
//! Ctrl-C / SIGTERM handler that cancels a job, and how a library error is shown (with the exact
//! command that starts over when a job cannot be resumed).

use anyhow::{anyhow, Result};
use std::ffi::OsStr;

use std::marker::PhantomData;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::Args;
use upframe::options::Choice;
use upframe::{CancelToken, Error as UpframeError, DEFAULT_MAX_PIXELS};

use crate::Interrupted;

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
    #[arg(long, value_name = "B", value_parser = LibraryParser(upframe::options::parse_bitrate))]
    pub bitrate: Option<u64>,
    /// Encoder preset (x264/x265: ultrafast ... veryslow). Default medium.
    #[arg(long, value_name = "P")]
    pub preset: Option<String>,
    /// Output pixel format (yuv420p, yuv444p, yuv420p10le, ...). Default: from the input.
    #[arg(long, value_name = "F")]
    pub pix_fmt: Option<String>,
    /// Start at this time: seconds (12.5) or [HH:]MM:SS[.ms].
    #[arg(long, value_name = "T", value_parser = LibraryParser(|s| upframe::options::parse_time("--start", s)))]
    pub start: Option<f64>,
    /// Process this long: seconds or [HH:]MM:SS[.ms].
    #[arg(long, value_name = "T", value_parser = LibraryParser(|s| upframe::options::parse_time("--duration", s)))]
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
    #[arg(long, value_name = "abort|skip", default_value = "abort")]
    #[arg(value_parser = ChoiceParser::<upframe::OnDecodeError>::new())]
    pub on_decode_error: upframe::OnDecodeError,
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
    /// The networks' arithmetic: fp32 (the reference results), bf16 (AMX or AVX-512 BF16;
    /// emulated, slowly, elsewhere), or auto: bf16 only where this CPU multiplies bf16
    /// natively and the model family measured faster within its quality bar (see --json
    /// `precision` for the choice and the reason).
    #[arg(long, value_name = "auto|fp32|bf16", default_value = "fp32")]
    pub precision: upframe::PrecisionChoice,
    /// Where the networks (Real-ESRGAN and RIFE) run: cpu, gpu (the best adapter, a software
    /// one included), gpu:N (see `upframe devices`), or auto (a discrete or integrated GPU when
    /// there is one, else the CPU). On a GPU, f16 storage unless --precision fp32 (the
    /// default).
    #[arg(long, value_name = "auto|cpu|gpu|gpu:N", default_value = "cpu")]
    pub device: upframe::Device,
}

impl JobOptions {
    /// The library's options for these arguments (checked when a job is built).
    pub fn to_options(&self) -> upframe::JobOptions {
        upframe::JobOptions {
            codec: self.codec.clone(),
            crf: self.crf,
            bitrate: self.bitrate,
            preset: self.preset.clone(),
            pix_fmt: self.pix_fmt.clone(),
            start: self.start,
            duration: self.duration,
            frames: self.frames,
            audio: !self.no_audio,
            subtitles: !self.no_subtitles,
            overwrite: self.overwrite,
            on_decode_error: self.on_decode_error,
            segment_frames: self.segment_frames,
            restart: self.restart,
            framerate: self.framerate.clone(),
            max_pixels: self.max_pixels,
        }
    }
}

/// This process's cancellation token: Ctrl-C and SIGTERM set it (the handler is installed
/// on first use; every job of the process shares it).
pub fn cancel_token() -> CancelToken {
    static TOKEN: std::sync::OnceLock<CancelToken> = std::sync::OnceLock::new();
    TOKEN
        .get_or_init(|| {
            let token = CancelToken::new();
            install_signal_handler(&token);
            token
        })
        .clone()
}

/// A library error as the program reports it: an interrupted job exits 130 with what was
/// kept; a job that cannot be resumed gives the exact command that starts over.
pub fn job_error(e: UpframeError) -> anyhow::Error {
    match e {
        UpframeError::Interrupted { kept } => Interrupted { hint: kept }.into(),
        UpframeError::CannotResume { output, reason } => anyhow!(
            "cannot resume {}: {reason}; to start over, run: {}",
            output.display(),
            restart_command()
        ),
        other => other.into(),
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

/// A clap value parser that is one of the library's option parsers
/// ([`upframe::options::parse_time`], [`upframe::options::parse_bitrate`]): the syntax is
/// the library's, and so is the error, shown as it is (it names the option and the accepted
/// syntax already, so clap's "invalid value for" wrapping would say it twice).
#[derive(Clone)]
pub struct LibraryParser<T>(pub fn(&str) -> Result<T, UpframeError>);

impl<T: Clone + Send + Sync + 'static> TypedValueParser for LibraryParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let text = value
            .to_str()
            .ok_or_else(|| clap::Error::new(ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        // `format` adds the usage line and the `--help` tip, as clap's own value errors have.
        (self.0)(text)
            .map_err(|e| clap::Error::raw(ErrorKind::ValueValidation, e).format(&mut cmd.clone()))
    }
}

/// Reads an option whose values are the library's [`Choice`] words (`--alpha`, `--on-cut`,
/// `--order`, `--on-decode-error`), so the words live once, in the library: `--help` lists
/// them with each one's [`Choice::help`], and a word not in the list gets clap's own error
/// (the list, a similar value, the usage line), as a `ValueEnum` would.
#[derive(Clone, Copy, Debug)]
pub struct ChoiceParser<T>(PhantomData<fn() -> T>);

impl<T: Choice> ChoiceParser<T> {
    pub fn new() -> Self {
        ChoiceParser(PhantomData)
    }

    fn values() -> impl Iterator<Item = PossibleValue> {
        T::ALL.iter().map(|v| {
            let value = PossibleValue::new(v.word());
            match v.help() {
                Some(help) => value.help(help),
                None => value,
            }
        })
    }
}

impl<T: Choice + Send + Sync> TypedValueParser for ChoiceParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        // Text that is not UTF-8 is an unknown word, named lossily (as `ValueEnum` does).
        let text = value.to_string_lossy();
        let word = PossibleValuesParser::new(Self::values()).parse_ref(
            cmd,
            arg,
            OsStr::new(text.as_ref()),
        )?;
        T::parse(&word)
            .map_err(|e| clap::Error::raw(ErrorKind::InvalidValue, e).format(&mut cmd.clone()))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Self::values()))
    }
}

/// The `stages` object of a `--json` summary: each stage's busy time and their overlap.
pub fn stages_json(summary: &upframe::Summary) -> serde_json::Value {
    match &summary.stages {
        Some(st) => serde_json::json!({
            "decode_busy_s": st.decode_busy.as_secs_f64(),
            "process_busy_s": st.process_busy.as_secs_f64(),
            "encode_busy_s": st.encode_busy.as_secs_f64(),
            "overlap": st.overlap,
        }),
        None => serde_json::Value::Null,
    }
}

/// The `precision` array of a `--json` summary, and (unless `quiet`) a note for each network
/// that does not run in the default fp32 by request.
pub fn precision_json(summary: &upframe::Summary, quiet: bool) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = summary
        .precision
        .iter()
        .map(|(model, p)| {
            if !quiet && p.choice != upframe::PrecisionChoice::Fp32 {
                eprintln!("upframe: {model} precision: {} ({})", p.precision, p.reason);
            }
            serde_json::json!({
                "model": model,
                "precision": p.precision.to_string(),
                "requested": p.choice.name(),
                "reason": p.reason,
            })
        })
        .collect();
    serde_json::Value::Array(entries)
}

/// The `device` object of a `--json` summary (`null` on the CPU by default).
pub fn device_json(summary: &upframe::Summary) -> serde_json::Value {
    match &summary.device {
        Some(d) => serde_json::json!({
            "device": d.device,
            "adapter": d.adapter,
            "precision": d.precision,
            "fallback": d.fallback,
        }),
        None => serde_json::Value::Null,
    }
}

/// Peak resident memory of this process in bytes (`VmHWM` of /proc/self/status).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn install_signal_handler(token: &CancelToken) {
    let cancel = token.flag();
    // First signal: the job stops after the frame in flight, drops the segment it was writing
    // and keeps the complete ones. Second signal: the user insists; leave now. Nothing is
    // under the output name yet (a half-joined file stays under its temporary name), and the
    // journal only lists complete segments, so the next run still resumes.
    let result = ctrlc::set_handler(move || {
        if cancel.swap(true, std::sync::atomic::Ordering::SeqCst) {
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
    fn shell_words_quote() {
        assert_eq!(shell_quote("out.mp4"), "out.mp4");
        assert_eq!(shell_quote("my film.mkv"), "'my film.mkv'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        job: JobOptions,
    }

    /// `--start`, `--duration` and `--bitrate` are read by the library's parsers, and their
    /// errors are the library's messages (naming the option and the syntax) as they are.
    #[test]
    fn library_parsers_read_times_and_bitrates() {
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "upframe",
            "--start",
            "1:02.5",
            "--duration",
            "3",
            "--bitrate",
            "2500k",
        ])
        .unwrap();
        assert_eq!(cli.job.start, Some(62.5));
        assert_eq!(cli.job.duration, Some(3.0));
        assert_eq!(cli.job.bitrate, Some(2_500_000));
        let e = Cli::try_parse_from(["upframe", "--duration", "1:xx"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ValueValidation);
        let text = e.to_string();
        assert!(
            text.starts_with(
                "error: --duration '1:xx': invalid time: use seconds (12.5) or [HH:]MM:SS[.ms]"
            ),
            "{text}"
        );
        let text = Cli::try_parse_from(["upframe", "--bitrate", "0"])
            .unwrap_err()
            .to_string();
        assert!(
            text.starts_with("error: --bitrate '0': invalid bit rate: use e.g. 8M"),
            "{text}"
        );
    }

    /// `--on-decode-error` takes the library's words (the default too), lists each with its
    /// help line, and refuses another word with clap's invalid-value error and a suggestion.
    #[test]
    fn choice_options_read_the_librarys_words() {
        use clap::{CommandFactory, Parser};
        let cli = Cli::try_parse_from(["upframe"]).unwrap();
        assert_eq!(cli.job.on_decode_error, upframe::OnDecodeError::Abort);
        let cli = Cli::try_parse_from(["upframe", "--on-decode-error", "skip"]).unwrap();
        assert_eq!(cli.job.on_decode_error, upframe::OnDecodeError::Skip);
        let e = Cli::try_parse_from(["upframe", "--on-decode-error", "Skip"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue);
        let text = e.to_string();
        assert!(
            text.contains("[possible values: abort, skip]")
                && text.contains("a similar value exists: 'skip'"),
            "{text}"
        );
        let help = Cli::command().render_long_help().to_string();
        for v in <upframe::OnDecodeError as Choice>::ALL {
            let line = format!("- {}:", v.word());
            let at = help
                .find(&line)
                .unwrap_or_else(|| panic!("{line} not in {help}"));
            let rest = help[at + line.len()..].trim_start();
            assert!(rest.starts_with(v.help().unwrap()), "{help}");
        }
    }
}

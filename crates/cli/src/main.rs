//! The `upframe` command-line program: argument parsing, subcommand dispatch, and the one-line
//! error / exit-code convention (1 on errors, 2 on usage errors, 130 when interrupted).

mod batch_cmd;
mod bench_cmd;
mod devices_cmd;
mod distributed_cmd;
mod enhance_cmd;
mod interpolate_cmd;
mod job_options;
mod malloc_tuning;
mod model_cmd;
mod models_cmd;
mod probe_cmd;
mod progress;
mod upscale_cmd;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// upframe: upscale videos and images (Real-ESRGAN, a built-in model by default; Lanczos) and
/// interpolate frames (RIFE) natively, with FFmpeg in-process, keeping timing, colour,
/// rotation, alpha, audio and subtitles.
#[derive(Debug, Parser)]
#[command(name = "upframe", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
// Parsed once per run; boxing the upscale arguments would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Upscale (or resize) a video, an image or an image sequence.
    Upscale(upscale_cmd::UpscaleArgs),
    /// Interpolate frames with RIFE: --factor N, --fps F or --slowmo N.
    Interpolate(interpolate_cmd::InterpolateArgs),
    /// Upscale and interpolate in one pass.
    Enhance(enhance_cmd::EnhanceArgs),
    /// Describe a media file: streams, frame count, frame rate / VFR, pixel format, colour, rotation.
    Probe(probe_cmd::ProbeArgs),
    /// Run a raw network on tensors, or describe a weight file.
    Model(model_cmd::ModelArgs),
    /// The model registry and the local model cache.
    Models(models_cmd::ModelsArgs),
    /// Time upframe's engine against the PyTorch reference.
    Bench(bench_cmd::BenchArgs),
    /// List the GPU adapters (name, vendor, backend, type, f16, limits) for --device gpu:N.
    Devices(devices_cmd::DevicesArgs),
    /// Cut a job into chunks for many machines: writes a plan file (see run-chunk, join).
    Plan(distributed_cmd::PlanArgs),
    /// Make one chunk of a plan (on any machine that shares the work directory).
    RunChunk(distributed_cmd::RunChunkArgs),
    /// Check every chunk of a plan and join them into the output.
    Join(distributed_cmd::JoinArgs),
}

/// Marks an error as "the user interrupted the run" so `main` exits with 130; `hint` says what
/// was kept for a re-run (complete segments), if anything.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted {
    pub hint: Option<String>,
}

fn main() -> ExitCode {
    malloc_tuning::keep_frame_buffers_out_of_malloc_arenas();
    // Real-ESRGAN users type `-dn 0.5`; clap has no two-letter short options.
    let command = Cli::command();
    let matches = command
        .clone()
        .get_matches_from(std::env::args_os().map(|a| {
            if a == "-dn" {
                "--denoise-strength".into()
            } else {
                a
            }
        }));
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Upscale(args) => upscale_cmd::run(args),
        Command::Interpolate(args) => interpolate_cmd::run(args),
        Command::Enhance(args) => enhance_cmd::run(args),
        Command::Probe(args) => probe_cmd::run(args),
        Command::Model(args) => model_cmd::run(args),
        Command::Models(args) => models_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Devices(args) => devices_cmd::run(args),
        Command::Plan(args) => distributed_cmd::plan(args),
        Command::RunChunk(args) => distributed_cmd::run_chunk(args),
        Command::Join(args) => distributed_cmd::join(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<Interrupted>().is_some() => {
            match err
                .downcast_ref::<Interrupted>()
                .and_then(|i| i.hint.as_ref())
            {
                Some(hint) => eprintln!("upframe: interrupted; {hint}"),
                None => eprintln!("upframe: interrupted; no output was written"),
            }
            ExitCode::from(130)
        }
        Err(err) => {
            eprintln!("upframe: error: {}", one_line(&err));
            ExitCode::from(1)
        }
    }
}

/// The error chain as one line joined with ": " (contexts name the file first). A cause whose
/// text an outer error already quotes (library errors often embed their source) is left out, so
/// the file and the problem each appear once.
fn one_line(err: &anyhow::Error) -> String {
    upframe::one_line(err.as_ref())
}

//! Which precision a model family runs in: the user's choice ([`PrecisionChoice`]: `auto`,
//! `fp32`, `bf16`) resolved against this CPU's bf16 support and a per-family table of
//! measurements ([`resolve_precision`]), with the reason for the verbose log, `--json` and the
//! resume key.

use std::fmt;
use std::str::FromStr;

use upframe_models::Upscaler;
use upframe_nn::{bf16_support, Bf16Support, Precision};

/// What the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PrecisionChoice {
    /// bf16 where this CPU multiplies bf16 natively and the family's measurements say it is
    /// both faster than fp32 and within the quality bar; fp32 elsewhere.
    Auto,
    /// fp32 throughout (the results of earlier versions).
    #[default]
    Fp32,
    /// bf16 for the heavy convolutions, even where the CPU must emulate it (slow).
    Bf16,
}

impl PrecisionChoice {
    pub fn name(self) -> &'static str {
        match self {
            PrecisionChoice::Auto => "auto",
            PrecisionChoice::Fp32 => "fp32",
            PrecisionChoice::Bf16 => "bf16",
        }
    }
}

impl fmt::Display for PrecisionChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown precision name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown precision `{0}` (expected auto, fp32 or bf16)")]
pub struct UnknownPrecision(pub String);

impl FromStr for PrecisionChoice {
    type Err = UnknownPrecision;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(PrecisionChoice::Auto),
            "fp32" | "f32" | "float32" => Ok(PrecisionChoice::Fp32),
            "bf16" | "bfloat16" => Ok(PrecisionChoice::Bf16),
            _ => Err(UnknownPrecision(s.to_string())),
        }
    }
}

/// The model families `auto` has measurements for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelFamily {
    /// SRVGGNetCompact (realesr-animevideov3, realesr-general-x4v3).
    Srvgg,
    /// RRDBNet (RealESRGAN_x4plus, x4plus_anime_6B, x2plus).
    Rrdb,
    /// IFNet (RIFE v4.x).
    Rife,
}

impl ModelFamily {
    pub fn of_upscaler(net: &Upscaler) -> Self {
        match net {
            Upscaler::Srvgg(_) => ModelFamily::Srvgg,
            Upscaler::Rrdb(_) => ModelFamily::Rrdb,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ModelFamily::Srvgg => "SRVGGNetCompact",
            ModelFamily::Rrdb => "RRDBNet",
            ModelFamily::Rife => "RIFE",
        }
    }
}

/// The precision a job runs in and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPrecision {
    pub precision: Precision,
    /// What was asked for.
    pub choice: PrecisionChoice,
    /// One sentence: the CPU capability and the measurement behind the choice.
    pub reason: String,
}

/// Whether `auto` picks bf16 for a family on a CPU with the given bf16 support, and the
/// measurement that says so.
///
/// Measured with `upframe bench --runs 3` (2 threads) on the project's machine (Xeon, KVM, 2
/// vCPUs with AMX; load average 14–18 from other builds, so CPU time per forward, which the load
/// hardly changes, is the figure compared; wall times in the same runs agree in direction).
/// Quality: `crates/pipeline/tests/bf16_quality.rs` (bf16 vs fp32 8-bit PSNR on Set14 crops).
///
/// | family (case), two sittings | fp32 CPU ms | bf16 AMX CPU ms | PyTorch bf16 CPU ms |
/// |---|---:|---:|---:|
/// | SRVGG (realesr-animevideov3 1×3×270×480) | 424 / 476 | 307 / 300 | 702 / 729 |
/// | RRDB (RealESRGAN_x4plus_anime_6B 1×3×270×480) | 5,818 / 6,640 | 3,018 / 3,093 | 7,509 / 7,812 |
/// | RIFE 4.25 (1×6×640×960) | 649 / 674 | 609 / 647 | — |
///
/// - SRVGG and RRDB with AMX: bf16 is 1.4–1.6× / 1.9–2.1× less CPU than fp32, at 58.9–59.1 / 53.4–56.5
///   dB PSNR to fp32 on Set14 crops, 2.3–4.3 dB above PyTorch's own bf16 on the same crops:
///   bf16.
/// - AVX-512 BF16 without AMX: the `vdpbf16ps` direct convolution takes 94–127 ms CPU for a
///   64→64 3×3 layer at 270×480 against 22–24 ms for the fp32 Winograd kernel (5× fewer
///   multiplies): fp32.
/// - RIFE: 4–6 % less CPU in bf16 (its stride-2, transposed and few-channel layers, warps and
///   resizes stay fp32), under the 1.3× a switch should earn: fp32.
fn auto_table(family: ModelFamily, support: Bf16Support) -> (bool, &'static str) {
    match (family, support) {
        (ModelFamily::Srvgg, Bf16Support::Amx) => (
            true,
            "AMX bf16 measured 1.4-1.6x less CPU than fp32 at ~59 dB PSNR to fp32",
        ),
        (ModelFamily::Rrdb, Bf16Support::Amx) => (
            true,
            "AMX bf16 measured 1.9-2.1x less CPU than fp32 at >= 53 dB PSNR to fp32",
        ),
        (ModelFamily::Srvgg | ModelFamily::Rrdb, Bf16Support::Avx512Bf16) => (
            false,
            "AVX-512 BF16 without AMX measured 4-5x slower than the fp32 Winograd kernels",
        ),
        (ModelFamily::Rife, Bf16Support::Amx | Bf16Support::Avx512Bf16) => (
            false,
            "RIFE's time is mostly in layers that stay fp32; bf16 measured only 4-6% less CPU",
        ),
        (_, Bf16Support::None) => (false, "no bf16 arithmetic on this CPU"),
    }
}

/// Resolves `choice` for `family` on this CPU.
pub fn resolve_precision(choice: PrecisionChoice, family: ModelFamily) -> ResolvedPrecision {
    let cap = bf16_support();
    let (precision, reason) = match choice {
        PrecisionChoice::Fp32 => (Precision::Fp32, "fp32 requested".to_string()),
        PrecisionChoice::Bf16 => (
            Precision::Bf16,
            match cap.support {
                Bf16Support::None => format!(
                    "bf16 requested; {} — emulated in fp32 arithmetic, slower than fp32",
                    cap.reason
                ),
                s => format!("bf16 requested; running on {}", s.name()),
            },
        ),
        PrecisionChoice::Auto => {
            let (bf16, why) = auto_table(family, cap.support);
            (
                if bf16 {
                    Precision::Bf16
                } else {
                    Precision::Fp32
                },
                format!(
                    "auto for {}: {} ({}: {})",
                    family.name(),
                    if bf16 { "bf16" } else { "fp32" },
                    why,
                    cap.reason
                ),
            )
        }
    };
    ResolvedPrecision {
        precision,
        choice,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for c in [
            PrecisionChoice::Auto,
            PrecisionChoice::Fp32,
            PrecisionChoice::Bf16,
        ] {
            assert_eq!(c.name().parse::<PrecisionChoice>(), Ok(c));
        }
        assert!("fp16".parse::<PrecisionChoice>().is_err());
    }

    #[test]
    fn explicit_choices_are_kept_and_explained() {
        let r = resolve_precision(PrecisionChoice::Fp32, ModelFamily::Srvgg);
        assert_eq!(r.precision, Precision::Fp32);
        let r = resolve_precision(PrecisionChoice::Bf16, ModelFamily::Rife);
        assert_eq!(r.precision, Precision::Bf16);
        assert!(!r.reason.is_empty());
    }

    #[test]
    fn auto_follows_the_table() {
        let cap = bf16_support();
        for family in [ModelFamily::Srvgg, ModelFamily::Rrdb, ModelFamily::Rife] {
            let r = resolve_precision(PrecisionChoice::Auto, family);
            let (bf16, _) = auto_table(family, cap.support);
            assert_eq!(r.precision == Precision::Bf16, bf16, "{}", r.reason);
            assert!(r.reason.contains(family.name()));
        }
        assert!(!auto_table(ModelFamily::Srvgg, Bf16Support::None).0);
        assert!(auto_table(ModelFamily::Rrdb, Bf16Support::Amx).0);
    }
}

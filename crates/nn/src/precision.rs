//! Numeric precision of the engine's heavy convolutions ([`Precision`]), the CPU's bf16
//! capability ([`bf16_support`]: AMX tiles, AVX-512 BF16 or none, with the reason), the Linux
//! tile-state permission request AMX needs, and bf16 rounding (`f32` ↔ bf16 bit patterns).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// The arithmetic a layer's heavy convolutions run in. Everything else (epilogues, resizes,
/// warps, the few-channel convolutions) stays `f32` in both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    /// IEEE single precision throughout (the reference behaviour).
    #[default]
    Fp32,
    /// Weights and input activations rounded to bfloat16 (round to nearest even), products
    /// accumulated in `f32`, outputs and epilogues in `f32`.
    Bf16,
}

impl Precision {
    /// `"fp32"` / `"bf16"`: the names the CLI, `--json` output and resume keys use.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which bf16 multiply the CPU (and OS) offers, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bf16Support {
    /// AMX tiles (`amx_tile` + `amx_bf16`, tile state granted by the kernel) and AVX-512 BF16
    /// for the conversions: `tdpbf16ps`, 16×16×32 multiply-adds per instruction.
    Amx,
    /// AVX-512 BF16 (`vdpbf16ps`): 16 lanes × 2 products per instruction.
    Avx512Bf16,
    /// No bf16 arithmetic: bf16 layers run an emulation (bf16-rounded values multiplied in
    /// `f32`), which is correct but slower than the `f32` kernels.
    None,
}

impl Bf16Support {
    pub fn name(self) -> &'static str {
        match self {
            Bf16Support::Amx => "amx",
            Bf16Support::Avx512Bf16 => "avx512-bf16",
            Bf16Support::None => "none",
        }
    }
}

/// The detected capability and why (which CPU flags were found, whether the OS granted AMX).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bf16Capability {
    pub support: Bf16Support,
    pub reason: String,
}

/// Set by tests to run as if the CPU had no bf16 arithmetic (or no AMX).
static DISABLE_ALL: AtomicBool = AtomicBool::new(false);
static DISABLE_AMX: AtomicBool = AtomicBool::new(false);

/// Process-wide test switch: `true` makes [`bf16_support`] report [`Bf16Support::None`] (so
/// bf16 layers run the portable emulation and `auto` precision picks fp32).
pub(crate) fn set_disabled(disabled: bool) {
    DISABLE_ALL.store(disabled, Ordering::Relaxed);
}

/// Process-wide test switch: `true` hides AMX only (AVX-512 BF16 stays if present).
pub(crate) fn set_amx_disabled(disabled: bool) {
    DISABLE_AMX.store(disabled, Ordering::Relaxed);
}

/// The best bf16 arithmetic this process can use, detected once (CPUID, plus the Linux
/// `arch_prctl` request for the AMX tile state), then filtered by the test switches.
pub fn bf16_support() -> Bf16Capability {
    let detected = detected();
    if DISABLE_ALL.load(Ordering::Relaxed) {
        return Bf16Capability {
            support: Bf16Support::None,
            reason: "bf16 kernels disabled for testing".into(),
        };
    }
    if detected.support == Bf16Support::Amx && DISABLE_AMX.load(Ordering::Relaxed) {
        return Bf16Capability {
            support: if avx512_bf16() {
                Bf16Support::Avx512Bf16
            } else {
                Bf16Support::None
            },
            reason: "AMX disabled for testing".into(),
        };
    }
    detected.clone()
}

/// Whether this process may run AMX tile instructions (CPU support and OS permission), whatever
/// the test switches say.
pub(crate) fn amx_usable() -> bool {
    detected().support == Bf16Support::Amx
}

fn detected() -> &'static Bf16Capability {
    static DETECTED: OnceLock<Bf16Capability> = OnceLock::new();
    DETECTED.get_or_init(detect)
}

/// AVX-512F/BW/VL + AVX-512 BF16 (the conversions, masked bf16 stores and `vdpbf16ps`).
pub(crate) fn avx512_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn detect() -> Bf16Capability {
    #[cfg(target_arch = "x86_64")]
    {
        let avx = avx512_bf16();
        // CPUID.(EAX=7, ECX=0):EDX bit 22 = AMX-BF16, bit 24 = AMX-TILE.
        // CPUID leaf 7 returns zeros where a CPU lacks it.
        let edx = std::arch::x86_64::__cpuid_count(7, 0).edx;
        let amx = edx & (1 << 22) != 0 && edx & (1 << 24) != 0;
        if amx && avx {
            match request_tile_permission() {
                Ok(()) => {
                    return Bf16Capability {
                        support: Bf16Support::Amx,
                        reason: "CPU has amx_tile, amx_bf16 and avx512_bf16; the OS granted \
                                 the AMX tile state"
                            .into(),
                    }
                }
                Err(why) => {
                    return Bf16Capability {
                        support: Bf16Support::Avx512Bf16,
                        reason: format!("CPU has AMX but {why}; using avx512_bf16"),
                    }
                }
            }
        }
        if avx {
            return Bf16Capability {
                support: Bf16Support::Avx512Bf16,
                reason: "CPU has avx512_bf16 but no AMX tiles".into(),
            };
        }
        if amx {
            return Bf16Capability {
                support: Bf16Support::None,
                reason: "CPU has AMX tiles but not the avx512_bf16 conversions the kernels use"
                    .into(),
            };
        }
        Bf16Capability {
            support: Bf16Support::None,
            reason: "CPU has neither AMX (amx_tile + amx_bf16) nor avx512_bf16".into(),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Bf16Capability {
            support: Bf16Support::None,
            reason: "not an x86-64 CPU (no AMX or AVX-512 BF16)".into(),
        }
    }
}

/// Asks Linux for permission to use the AMX tile data state (`XFEATURE_XTILEDATA`), which the
/// kernel grants per process (all threads, present and future) since Linux 5.16. Without it the
/// first tile instruction faults.
#[cfg(target_arch = "x86_64")]
fn request_tile_permission() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        const SYS_ARCH_PRCTL: usize = 158;
        const ARCH_REQ_XCOMP_PERM: usize = 0x1023;
        const XFEATURE_XTILEDATA: usize = 18;
        let ret: isize;
        // SAFETY: the arch_prctl system call with ARCH_REQ_XCOMP_PERM only changes the
        // process's permitted xsave features; it reads no memory of ours. `syscall` clobbers
        // rcx and r11.
        unsafe {
            std::arch::asm!(
                "syscall",
                inlateout("rax") SYS_ARCH_PRCTL as isize => ret,
                in("rdi") ARCH_REQ_XCOMP_PERM,
                in("rsi") XFEATURE_XTILEDATA,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        if ret == 0 {
            Ok(())
        } else {
            Err(format!(
                "the kernel refused the AMX tile state (arch_prctl errno {})",
                -ret
            ))
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err("AMX tile state requests are only implemented for Linux".into())
    }
}

/// Rounds `x` to bfloat16 the way `vcvtne2ps2bf16` does: round to nearest even, denormal inputs
/// treated as zero (sign kept), NaN stays a (quiet) NaN.
#[inline]
pub fn f32_to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        return ((b >> 16) | 0x40) as u16;
    }
    if b & 0x7f80_0000 == 0 {
        return ((b >> 16) & 0x8000) as u16;
    }
    let round = 0x7fff + ((b >> 16) & 1);
    (b.wrapping_add(round) >> 16) as u16
}

/// The `f32` value of a bfloat16 bit pattern (exact).
#[inline]
pub fn bf16_to_f32(v: u16) -> f32 {
    f32::from_bits((v as u32) << 16)
}

/// `x` rounded to the nearest bfloat16, as an `f32`.
#[inline]
pub fn round_bf16(x: f32) -> f32 {
    bf16_to_f32(f32_to_bf16(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_nearest_even() {
        assert_eq!(round_bf16(1.0), 1.0);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0).
        assert_eq!(round_bf16(1.0 + 1.0 / 256.0), 1.0);
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even (1 + 2^-6).
        assert_eq!(round_bf16(1.0 + 3.0 / 256.0), 1.0 + 1.0 / 64.0);
        assert_eq!(round_bf16(1.0 + 1.5 / 256.0), 1.0 + 1.0 / 128.0);
        assert_eq!(round_bf16(-2.5), -2.5);
        assert_eq!(round_bf16(f32::MAX), f32::INFINITY);
        assert!(round_bf16(f32::NAN).is_nan());
        assert_eq!(round_bf16(1e-40).to_bits(), 0);
        assert_eq!(round_bf16(-1e-40).to_bits(), 0x8000_0000);
    }

    #[test]
    fn detection_gives_a_reason() {
        let cap = bf16_support();
        assert!(!cap.reason.is_empty());
    }
}

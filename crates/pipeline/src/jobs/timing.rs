//! Output frame times of an interpolation job (pure arithmetic, no frames).
//!
//! Every output frame gets an exact integer timestamp in an output time base chosen so that
//! both the source's timestamps and the output grid are representable:
//!
//! - `Factor(k)`: output time base = source time base / k. Between source frames at `t0` and
//!   `t1` come `k` output frames at `t0·k + j·(t1 − t0)`, `j = 0..k`, timestep `j / k` (VFR
//!   sources get their `k − 1` new frames evenly spaced in each of their own intervals). The
//!   last source frame is held for its duration (the previous interval): it is repeated `k`
//!   times, so **N input frames give N·k output frames** and the output lasts exactly as long
//!   as the input.
//! - `Fps(num/den)`: output time base `1/L`, `L = lcm(q, v)` where `p/q` is the source time
//!   base and `u/v = den/num` the output frame duration, both in lowest terms. Output frame
//!   `m` is at `t_first + m·den/num` seconds; it comes from the pair `(i, i+1)` with
//!   `t_i ≤ T < t_{i+1}` at timestep `(T − t_i)/(t_{i+1} − t_i)` (timestep 0 = copy of frame
//!   `i`). The last frame covers `[t_last, t_last + its duration)`, so the output has
//!   `ceil(input duration · fps)` frames and ends within one output frame of the input.
//! - `Slowmo(k)`: the frames of `Factor(k)` with the source's time base kept, so time is
//!   stretched by `k` and every source frame's content stays (audio cannot follow; the job
//!   drops it).
//!
//! Output timestamps stay on the source's timeline (first output frame at the first source
//! frame's time) so copied audio stays in sync.

use thiserror::Error;

/// How output frames are placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rate {
    /// `k − 1` new frames between each pair (k ≥ 2).
    Factor(u32),
    /// A fixed output rate `num / den` frames per second.
    Fps { num: i64, den: i64 },
    /// `k − 1` new frames between each pair and time stretched by `k`.
    Slowmo(u32),
}

impl std::fmt::Display for Rate {
    /// `factor 2`, `60 fps`, `60000/1001 fps`, `slow motion 4x`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Rate::Factor(k) => write!(f, "factor {k}"),
            Rate::Fps { num, den: 1 } => write!(f, "{num} fps"),
            Rate::Fps { num, den } => write!(f, "{num}/{den} fps"),
            Rate::Slowmo(k) => write!(f, "slow motion {k}x"),
        }
    }
}

/// Invalid rates or timestamps.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TimingError {
    #[error("invalid factor {0}: must be an integer of at least 2")]
    Factor(u32),
    #[error("invalid frame rate {0}: give a positive number like 60, 59.94 or 60000/1001")]
    Fps(String),
    #[error("invalid source time base {0}/{1}")]
    TimeBase(i32, i32),
    #[error("frame timestamps do not increase ({0} then {1}); cannot place in-between frames")]
    NotIncreasing(i64, i64),
    #[error("the output time base for this rate does not fit in 32 bits")]
    Overflow,
}

/// One output frame: its timestamp (output time base) and where its picture comes from, as
/// a timestep between the current pair's first frame (0) and second frame (1). Timestep 0 is
/// an exact copy of the first frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slot {
    pub pts: i64,
    pub timestep: f64,
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn reduce(num: i64, den: i64) -> (i64, i64) {
    let g = gcd(num, den).max(1);
    (num / g, den / g)
}

/// Parses a frame rate: an integer, a decimal (`23.976`, `59.94`; common NTSC rates map to
/// their exact `/1001` form) or a fraction `num/den`.
pub fn parse_fps(text: &str) -> Result<(i64, i64), TimingError> {
    let bad = || TimingError::Fps(text.to_string());
    let text = text.trim();
    let (num, den) = if let Some((n, d)) = text.split_once('/') {
        let n: i64 = n.trim().parse().map_err(|_| bad())?;
        let d: i64 = d.trim().parse().map_err(|_| bad())?;
        (n, d)
    } else {
        let v: f64 = text.parse().map_err(|_| bad())?;
        if !v.is_finite() || v <= 0.0 {
            return Err(bad());
        }
        // 23.976, 29.97, 59.94, 119.88 are the /1001 NTSC rates.
        let ntsc = v * 1001.0 / 1000.0;
        if (ntsc - ntsc.round()).abs() < 0.01 && (ntsc.round() * 1000.0 / 1001.0 - v).abs() < 5e-3 {
            let n = ntsc.round() as i64;
            if v.fract() != 0.0 {
                return Ok((n * 1000, 1001));
            }
        }
        let den = 1_000_000i64;
        ((v * den as f64).round() as i64, den)
    };
    if num <= 0 || den <= 0 || num > 1_000_000_000 || den > 1_000_000_000 {
        return Err(bad());
    }
    Ok(reduce(num, den))
}

/// Places output frames as source frames arrive (streaming: one interval at a time).
#[derive(Clone, Debug)]
pub struct Retimer {
    rate: Rate,
    out_tb: (i32, i32),
    /// Output ticks per source tick.
    src_to_out: i64,
    /// Fps mode: output ticks per output frame, and the next output frame's time.
    step: i64,
    next: Option<i64>,
}

impl Retimer {
    /// A retimer for a source whose timestamps are in `source_tb` (seconds = pts·num/den).
    pub fn new(rate: Rate, source_tb: (i32, i32)) -> Result<Self, TimingError> {
        let (sa, sb) = (i64::from(source_tb.0), i64::from(source_tb.1));
        if sa <= 0 || sb <= 0 {
            return Err(TimingError::TimeBase(source_tb.0, source_tb.1));
        }
        let (p, q) = reduce(sa, sb);
        let fits = |a: i64, b: i64| -> Result<(i32, i32), TimingError> {
            let (a, b) = reduce(a, b);
            Ok((
                i32::try_from(a).map_err(|_| TimingError::Overflow)?,
                i32::try_from(b).map_err(|_| TimingError::Overflow)?,
            ))
        };
        let (out_tb, src_to_out, step) = match rate {
            Rate::Factor(k) | Rate::Slowmo(k) => {
                if k < 2 {
                    return Err(TimingError::Factor(k));
                }
                let k = i64::from(k);
                let tb = if matches!(rate, Rate::Factor(_)) {
                    // Keep the tick unreduced so that output ticks = source ticks · k.
                    (p, q.checked_mul(k).ok_or(TimingError::Overflow)?)
                } else {
                    (p, q)
                };
                let tb = (
                    i32::try_from(tb.0).map_err(|_| TimingError::Overflow)?,
                    i32::try_from(tb.1).map_err(|_| TimingError::Overflow)?,
                );
                (tb, k, 0)
            }
            Rate::Fps { num, den } => {
                if num <= 0 || den <= 0 {
                    return Err(TimingError::Fps(format!("{num}/{den}")));
                }
                let (u, v) = reduce(den, num);
                let l = q / gcd(q, v) * v;
                let tb = fits(1, l)?;
                (tb, p * (l / q), u * (l / v))
            }
        };
        Ok(Retimer {
            rate,
            out_tb,
            src_to_out,
            step,
            next: None,
        })
    }

    /// The time base of the output timestamps.
    pub fn output_time_base(&self) -> (i32, i32) {
        self.out_tb
    }

    /// The output's nominal frame rate for a source of nominal rate `source_rate`.
    pub fn output_frame_rate(&self, source_rate: (i32, i32)) -> (i32, i32) {
        match self.rate {
            Rate::Factor(k) => {
                let (n, d) = reduce(
                    i64::from(source_rate.0) * i64::from(k),
                    i64::from(source_rate.1),
                );
                (
                    n.clamp(1, i32::MAX as i64) as i32,
                    d.clamp(1, i32::MAX as i64) as i32,
                )
            }
            Rate::Slowmo(_) => source_rate,
            Rate::Fps { num, den } => (
                num.clamp(1, i32::MAX as i64) as i32,
                den.clamp(1, i32::MAX as i64) as i32,
            ),
        }
    }

    /// The output frames between source frames at `t0` and `t1` (source ticks): those with
    /// times in `[t0, t1)`, in order.
    pub fn interval(&mut self, t0: i64, t1: i64) -> Result<Vec<Slot>, TimingError> {
        if t1 <= t0 {
            return Err(TimingError::NotIncreasing(t0, t1));
        }
        Ok(self.place(t0, t1, true))
    }

    /// The output frames of the last source frame at `t`, held for `duration` source ticks
    /// (all copies of it: timestep 0).
    pub fn last(&mut self, t: i64, duration: i64) -> Vec<Slot> {
        self.place(t, t + duration.max(1), false)
    }

    fn place(&mut self, t0: i64, t1: i64, between: bool) -> Vec<Slot> {
        match self.rate {
            Rate::Factor(k) | Rate::Slowmo(k) => {
                let d = t1 - t0;
                (0..i64::from(k))
                    .map(|j| Slot {
                        pts: t0 * self.src_to_out + j * d,
                        timestep: if between {
                            j as f64 / f64::from(k)
                        } else {
                            0.0
                        },
                    })
                    .collect()
            }
            Rate::Fps { .. } => {
                let a = t0 * self.src_to_out;
                let b = t1 * self.src_to_out;
                let mut next = *self.next.get_or_insert(a);
                let mut out = Vec::new();
                while next < b {
                    // A frame before the pair (timestamps that jumped back) is placed at its start.
                    let timestep = if between && next > a {
                        (next - a) as f64 / (b - a) as f64
                    } else {
                        0.0
                    };
                    out.push(Slot {
                        pts: next,
                        timestep,
                    });
                    next += self.step;
                }
                self.next = Some(next);
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_render_in_words() {
        assert_eq!(Rate::Factor(2).to_string(), "factor 2");
        assert_eq!(Rate::Fps { num: 60, den: 1 }.to_string(), "60 fps");
        assert_eq!(
            Rate::Fps {
                num: 60000,
                den: 1001
            }
            .to_string(),
            "60000/1001 fps"
        );
        assert_eq!(Rate::Slowmo(4).to_string(), "slow motion 4x");
    }

    #[test]
    fn parses_rates() {
        assert_eq!(parse_fps("60").unwrap(), (60, 1));
        assert_eq!(parse_fps("23.976").unwrap(), (24000, 1001));
        assert_eq!(parse_fps("59.94").unwrap(), (60000, 1001));
        assert_eq!(parse_fps("60000/1001").unwrap(), (60000, 1001));
        assert_eq!(parse_fps("12.5").unwrap(), (25, 2));
        assert!(parse_fps("0").is_err());
        assert!(parse_fps("-3").is_err());
        assert!(parse_fps("abc").is_err());
        assert!(parse_fps("1/0").is_err());
    }

    #[test]
    fn factor_places_evenly_and_holds_the_last_frame() {
        let mut r = Retimer::new(Rate::Factor(2), (1, 1000)).unwrap();
        assert_eq!(r.output_time_base(), (1, 2000));
        // VFR: intervals of 40 and 60 ms.
        let a = r.interval(0, 40).unwrap();
        let b = r.interval(40, 100).unwrap();
        let c = r.last(100, 60);
        let pts: Vec<i64> = a.iter().chain(&b).chain(&c).map(|s| s.pts).collect();
        assert_eq!(pts, vec![0, 40, 80, 140, 200, 260]);
        let ts: Vec<f64> = a.iter().chain(&b).chain(&c).map(|s| s.timestep).collect();
        assert_eq!(ts, vec![0.0, 0.5, 0.0, 0.5, 0.0, 0.0]);
        // 3 input frames → 6 output frames; output ends at 320/2000 s = 160 ms = input end.
        assert_eq!(r.output_frame_rate((25, 1)), (50, 1));
    }

    #[test]
    fn fps_grid_is_exact_for_ntsc_to_60() {
        // Megamind: time base 1001/24000 (one tick per frame), 23.976 → 60 fps.
        let mut r = Retimer::new(Rate::Fps { num: 60, den: 1 }, (1001, 24000)).unwrap();
        let (n, d) = r.output_time_base();
        let mut slots = Vec::new();
        let frames = 48i64;
        for i in 0..frames - 1 {
            slots.extend(r.interval(i, i + 1).unwrap());
        }
        slots.extend(r.last(frames - 1, 1));
        // Input lasts 48·1001/24000 s = 2.002 s → ceil(2.002·60) = 121 frames.
        assert_eq!(slots.len(), 121);
        for (m, s) in slots.iter().enumerate() {
            // Exactly m/60 s.
            assert_eq!(
                s.pts as i128 * i128::from(n) * 60,
                m as i128 * i128::from(d)
            );
            let src_t = m as f64 / 60.0 * 24000.0 / 1001.0;
            let expected = if src_t >= 47.0 { 0.0 } else { src_t.fract() };
            assert!((s.timestep - expected).abs() < 1e-9, "{m}: {s:?}");
        }
    }

    #[test]
    fn fps_starts_at_the_first_frame_and_slowmo_stretches() {
        let mut r = Retimer::new(Rate::Fps { num: 30, den: 1 }, (1, 90000)).unwrap();
        assert_eq!(r.output_time_base(), (1, 90000));
        let s = r.interval(9000, 12000).unwrap();
        // One 30 fps frame per 100 ms interval; the next starts the next interval.
        assert_eq!(s.iter().map(|s| s.pts).collect::<Vec<_>>(), vec![9000]);
        let mut r = Retimer::new(Rate::Slowmo(4), (1, 25)).unwrap();
        assert_eq!(r.output_time_base(), (1, 25));
        let s = r.interval(10, 11).unwrap();
        assert_eq!(s[1].timestep, 0.25);
        assert_eq!(
            s.iter().map(|s| s.pts).collect::<Vec<_>>(),
            vec![40, 41, 42, 43]
        );
        assert_eq!(r.output_frame_rate((25, 1)), (25, 1));
        assert!(Retimer::new(Rate::Factor(1), (1, 25)).is_err());
        assert!(r.interval(5, 5).is_err());
    }
}

//! Turning a decoded buffer of any layout into interleaved mono or stereo `f32`.
//!
//! Opus is encoded here as mono or stereo only (the browser players we serve are stereo), so
//! surround sources are folded down with the usual ITU-R BS.775 weights: centre and surround
//! channels at -3 dB into both or their own side, LFE dropped.

use symphonia::core::audio::{Channels, GenericAudioBufferRef};

/// -3 dB, the weight of a centre or surround channel folded into a side.
const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// Bit positions (symphonia's `Position`, WAVE order) of channels that belong to each side.
const LEFT_BITS: [u32; 9] = [0, 4, 6, 9, 12, 15, 19, 22, 24];
const RIGHT_BITS: [u32; 9] = [1, 5, 7, 10, 14, 17, 20, 23, 25];
const LFE_BITS: [u32; 2] = [3, 18];

/// How a source layout maps onto the output.
#[derive(Debug, Clone)]
pub(crate) enum Downmix {
    /// Mono or stereo: copied as is.
    Passthrough {
        /// 1 or 2.
        channels: usize,
    },
    /// More than two channels: each input channel's (left, right) weight, normalised so a
    /// full-scale signal on every channel cannot clip.
    ToStereo {
        /// One (left, right) pair per input channel, in buffer order.
        gains: Vec<(f32, f32)>,
    },
}

impl Downmix {
    /// The mapping for a source layout with `count` channels (`count` already validated > 0).
    pub(crate) fn for_layout(layout: Option<&Channels>, count: usize) -> Self {
        if count <= 2 {
            return Downmix::Passthrough { channels: count };
        }
        let mut gains: Vec<(f32, f32)> = match layout {
            Some(Channels::Positioned(positions)) => {
                let bits = positions.bits();
                (0..32)
                    .filter(|b| bits & (1 << b) != 0)
                    .map(position_gain)
                    .collect()
            }
            // Unlabelled channels: alternate sides, the common L R L R... convention.
            _ => (0..count)
                .map(|i| if i % 2 == 0 { (1.0, 0.0) } else { (0.0, 1.0) })
                .collect(),
        };
        gains.resize(count, (MINUS_3DB, MINUS_3DB));
        normalise(&mut gains);
        Downmix::ToStereo { gains }
    }

    /// Channels written to the output (1 or 2).
    pub(crate) fn output_channels(&self) -> usize {
        match self {
            Downmix::Passthrough { channels } => *channels,
            Downmix::ToStereo { .. } => 2,
        }
    }

    /// Writes `buf` into `out` (cleared first) as interleaved frames; `planes` is scratch space.
    pub(crate) fn apply(
        &self,
        buf: &GenericAudioBufferRef<'_>,
        planes: &mut Vec<Vec<f32>>,
        out: &mut Vec<f32>,
    ) {
        out.clear();
        match self {
            Downmix::Passthrough { .. } => buf.copy_to_vec_interleaved(out),
            Downmix::ToStereo { gains } => {
                buf.copy_to_vecs_planar(planes);
                fold_to_stereo(planes, gains, buf.frames(), out);
            }
        }
    }
}

fn position_gain(bit: u32) -> (f32, f32) {
    if LEFT_BITS.contains(&bit) {
        (if bit == 0 { 1.0 } else { MINUS_3DB }, 0.0)
    } else if RIGHT_BITS.contains(&bit) {
        (0.0, if bit == 1 { 1.0 } else { MINUS_3DB })
    } else if LFE_BITS.contains(&bit) {
        (0.0, 0.0)
    } else {
        (MINUS_3DB, MINUS_3DB)
    }
}

fn normalise(gains: &mut [(f32, f32)]) {
    let left: f32 = gains.iter().map(|g| g.0).sum();
    let right: f32 = gains.iter().map(|g| g.1).sum();
    let scale = left.max(right);
    if scale > 1.0 {
        gains
            .iter_mut()
            .for_each(|g| *g = (g.0 / scale, g.1 / scale));
    }
}

fn fold_to_stereo(planes: &[Vec<f32>], gains: &[(f32, f32)], frames: usize, out: &mut Vec<f32>) {
    out.resize(frames * 2, 0.0);
    for (plane, &(gl, gr)) in planes.iter().zip(gains) {
        for (frame, &s) in out.chunks_exact_mut(2).zip(plane.iter().take(frames)) {
            frame[0] += s * gl;
            frame[1] += s * gr;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_one_folds_without_clipping_and_drops_lfe() {
        // FL FR FC LFE RL RR
        let gains: Vec<_> = [0, 1, 2, 3, 4, 5].into_iter().map(position_gain).collect();
        let mut gains = gains;
        normalise(&mut gains);
        assert_eq!(gains[3], (0.0, 0.0));
        let left: f32 = gains.iter().map(|g| g.0).sum();
        assert!(left <= 1.0 + f32::EPSILON);
        let planes: Vec<Vec<f32>> = (0..6).map(|_| vec![1.0; 4]).collect();
        let mut out = Vec::new();
        fold_to_stereo(&planes, &gains, 4, &mut out);
        assert!(out.iter().all(|s| *s <= 1.0 + 1e-6 && *s > 0.9));
    }
}

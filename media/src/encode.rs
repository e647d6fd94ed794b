//! Encoding 48 kHz audio into every Opus rendition at once.
//!
//! All renditions share one frame grid (20 ms packets from sample 0) and one pre-skip, so
//! packet `n` starts at the same media time in every quality: that is what lets a player
//! switch quality at any segment boundary.

use std::time::Duration;

use opus::{Application, Bitrate, Channels, Encoder, Signal};

use super::resample::OUTPUT_RATE;
use super::source::PcmSink;
use super::{MediaError, Quality};

/// Samples per channel in one 20 ms packet at 48 kHz.
pub(crate) const FRAME_SAMPLES: usize = 960;

/// Ceiling for one 20 ms packet (RFC 6716 allows at most 1275 bytes per frame).
const MAX_PACKET_BYTES: usize = 1500;

/// One quality's packets, stored back to back to avoid an allocation per packet.
#[derive(Debug)]
pub(crate) struct PacketStream {
    /// The rung this stream encodes.
    pub(crate) quality: Quality,
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl PacketStream {
    /// Packet `index`, or `None` past the end.
    pub(crate) fn packet(&self, index: usize) -> Option<&[u8]> {
        let end = *self.ends.get(index)?;
        let start = index.checked_sub(1).map_or(0, |prev| self.ends[prev]);
        self.data.get(start..end)
    }

    /// Number of packets.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Total payload bytes.
    pub(crate) fn payload_bytes(&self) -> usize {
        self.data.len()
    }
}

/// Every rendition of a track, plus what their containers must say about it.
#[derive(Debug)]
pub(crate) struct EncodedTrack {
    /// 1 or 2.
    pub(crate) channels: u8,
    /// Samples the decoder drops at the start (the encoder's look-ahead).
    pub(crate) pre_skip: u16,
    /// Track length in 48 kHz samples, excluding pre-skip and end padding.
    pub(crate) frames: u64,
    /// One stream per requested quality, in request order.
    pub(crate) streams: Vec<PacketStream>,
}

impl EncodedTrack {
    /// The exact track duration.
    pub(crate) fn duration(&self) -> Duration {
        frames_to_duration(self.frames)
    }
}

/// Converts 48 kHz samples to a duration, exactly to the nanosecond.
pub(crate) fn frames_to_duration(frames: u64) -> Duration {
    let nanos = u128::from(frames) * 1_000_000_000 / u128::from(OUTPUT_RATE);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// A [`PcmSink`] at 48 kHz feeding one libopus encoder per quality.
pub(crate) struct Ladder {
    encoders: Vec<(Encoder, PacketStream)>,
    channels: usize,
    /// Samples of the frame being filled.
    frame: Vec<f32>,
    pre_skip: u16,
    frames_in: u64,
}

impl std::fmt::Debug for Ladder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ladder")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl Ladder {
    /// Encoders for `qualities` over `channels` (1 or 2) channels.
    pub(crate) fn new(qualities: &[Quality], channels: usize) -> Result<Self, MediaError> {
        let layout = if channels == 1 {
            Channels::Mono
        } else {
            Channels::Stereo
        };
        let mut encoders = Vec::with_capacity(qualities.len());
        let mut pre_skip = None;
        for &quality in qualities {
            let mut encoder = new_encoder(layout, quality)?;
            let lookahead = encoder
                .get_lookahead()
                .map_err(|e| MediaError::opus("lookahead", e))?;
            let lookahead = u16::try_from(lookahead)
                .map_err(|_| MediaError::Encoder("bad lookahead".into()))?;
            // Equal pre-skips keep the renditions sample-aligned; libopus guarantees it for one
            // rate and application, and we check rather than assume.
            if *pre_skip.get_or_insert(lookahead) != lookahead {
                return Err(MediaError::Encoder(
                    "renditions disagree on pre-skip".into(),
                ));
            }
            encoders.push((
                encoder,
                PacketStream {
                    quality,
                    data: Vec::new(),
                    ends: Vec::new(),
                },
            ));
        }
        Ok(Ladder {
            encoders,
            channels,
            frame: Vec::with_capacity(FRAME_SAMPLES * channels),
            pre_skip: pre_skip.unwrap_or(0),
            frames_in: 0,
        })
    }

    /// Pads the last packet with silence (covering the pre-skip too) and returns the streams.
    pub(crate) fn finish(mut self) -> Result<EncodedTrack, MediaError> {
        let frames = self.frames_in;
        let needed = frames + u64::from(self.pre_skip);
        let packets = usize::try_from(needed.div_ceil(FRAME_SAMPLES as u64))
            .map_err(|_| MediaError::Encoder("too many packets".into()))?;
        let silence = vec![0.0; FRAME_SAMPLES * self.channels];
        while self
            .encoders
            .first()
            .is_some_and(|(_, s)| s.len() < packets)
        {
            let room = silence.len() - self.frame.len();
            self.push_samples(&silence[..room])?;
        }
        Ok(EncodedTrack {
            channels: u8::try_from(self.channels).unwrap_or(2),
            pre_skip: self.pre_skip,
            frames,
            streams: self.encoders.into_iter().map(|(_, s)| s).collect(),
        })
    }

    fn push_samples(&mut self, mut samples: &[f32]) -> Result<(), MediaError> {
        let frame_len = FRAME_SAMPLES * self.channels;
        while !samples.is_empty() {
            let take = (frame_len - self.frame.len()).min(samples.len());
            self.frame.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            if self.frame.len() == frame_len {
                self.encode_frame()?;
            }
        }
        Ok(())
    }

    fn encode_frame(&mut self) -> Result<(), MediaError> {
        for (encoder, stream) in &mut self.encoders {
            let start = stream.data.len();
            stream.data.resize(start + MAX_PACKET_BYTES, 0);
            let written = encoder
                .encode_float(&self.frame, &mut stream.data[start..])
                .map_err(|e| MediaError::opus("encode", e))?;
            stream.data.truncate(start + written);
            stream.ends.push(stream.data.len());
        }
        self.frame.clear();
        Ok(())
    }
}

impl PcmSink for Ladder {
    fn push(&mut self, interleaved: &[f32]) -> Result<(), MediaError> {
        self.frames_in += (interleaved.len() / self.channels) as u64;
        self.push_samples(interleaved)
    }
}

fn new_encoder(layout: Channels, quality: Quality) -> Result<Encoder, MediaError> {
    let err = |e| MediaError::opus("encoder setup", e);
    let mut encoder = Encoder::new(OUTPUT_RATE, layout, Application::Audio).map_err(err)?;
    let bitrate =
        i32::try_from(quality.bitrate()).map_err(|_| MediaError::Encoder("bitrate".into()))?;
    encoder.set_bitrate(Bitrate::Bits(bitrate)).map_err(err)?;
    // Constrained VBR: VBR's quality at a bitrate that stays near the target, so a rung's
    // bandwidth is predictable for adaptive switching.
    encoder.set_vbr(true).map_err(err)?;
    encoder.set_vbr_constraint(true).map_err(err)?;
    encoder.set_signal(Signal::Music).map_err(err)?;
    encoder.set_complexity(10).map_err(err)?;
    Ok(encoder)
}

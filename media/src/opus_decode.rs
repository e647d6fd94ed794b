//! Decoding Opus sources (Ogg Opus, WebM Opus) with libopus, since symphonia has no Opus codec.
//!
//! symphonia demuxes the packets and reports the end trim from the last granule position; the
//! pre-skip comes from the OpusHead in the codec's extra data and is applied here.

use symphonia::core::packet::Packet;

use super::MediaError;

/// Longest Opus packet: 120 ms at 48 kHz.
const MAX_PACKET_FRAMES: usize = 5760;

/// The fields of an OpusHead (RFC 7845 §5.1) that decoding needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpusHeadInfo {
    /// Output channels.
    pub(crate) channels: u8,
    /// Samples (at 48 kHz) to drop from the start of the decoded stream.
    pub(crate) pre_skip: u16,
    /// Gain to apply, Q7.8 dB.
    pub(crate) output_gain: i16,
    /// Channel mapping family (0 = mono/stereo, one stream).
    pub(crate) mapping_family: u8,
}

impl OpusHeadInfo {
    /// Parses an OpusHead packet; `None` if it is not one.
    pub(crate) fn parse(head: &[u8]) -> Option<Self> {
        let fixed: &[u8; 19] = head.get(..19)?.try_into().ok()?;
        if &fixed[..8] != b"OpusHead" || fixed[8] >> 4 != 0 {
            return None;
        }
        Some(OpusHeadInfo {
            channels: fixed[9],
            pre_skip: u16::from_le_bytes([fixed[10], fixed[11]]),
            output_gain: i16::from_le_bytes([fixed[16], fixed[17]]),
            mapping_family: fixed[18],
        })
    }
}

/// A libopus decoder that hands back only the samples that belong to the track.
pub(crate) struct OpusPacketDecoder {
    decoder: opus::Decoder,
    channels: usize,
    /// Pre-skip samples not yet dropped.
    skip_left: usize,
    out: Vec<f32>,
}

impl std::fmt::Debug for OpusPacketDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusPacketDecoder")
            .field("channels", &self.channels)
            .finish()
    }
}

impl OpusPacketDecoder {
    /// A decoder for the stream whose OpusHead is `extra_data`.
    pub(crate) fn new(extra_data: Option<&[u8]>) -> Result<Self, MediaError> {
        let head = extra_data
            .and_then(OpusHeadInfo::parse)
            .ok_or(MediaError::NotAudio)?;
        let channels = match (head.mapping_family, head.channels) {
            (0, 1) => opus::Channels::Mono,
            (0, 2) => opus::Channels::Stereo,
            _ => {
                // The `opus` crate binds no multistream decoder; such files are rare for music.
                return Err(MediaError::UnsupportedCodec {
                    codec: "multichannel opus".into(),
                });
            }
        };
        let mut decoder =
            opus::Decoder::new(48_000, channels).map_err(|e| MediaError::opus("decoder", e))?;
        decoder
            .set_gain(i32::from(head.output_gain))
            .map_err(|e| MediaError::opus("decoder gain", e))?;
        Ok(OpusPacketDecoder {
            decoder,
            channels: usize::from(head.channels),
            skip_left: usize::from(head.pre_skip),
            out: vec![0.0; MAX_PACKET_FRAMES * usize::from(head.channels)],
        })
    }

    /// Channels of the decoded audio.
    pub(crate) fn channels(&self) -> usize {
        self.channels
    }

    /// Decodes one packet to interleaved samples, with pre-skip and end trim removed.
    pub(crate) fn decode(&mut self, packet: &Packet) -> Result<&[f32], opus::Error> {
        let frames = self
            .decoder
            .decode_float(&packet.data, &mut self.out, false)?;
        let skip = self.skip_left.min(frames);
        self.skip_left -= skip;
        let trim_end = usize::try_from(packet.trim_end.get()).unwrap_or(usize::MAX);
        let end = frames.saturating_sub(trim_end).max(skip);
        Ok(&self.out[skip * self.channels..end * self.channels])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_head_fields_are_read_little_endian() {
        let mut head = b"OpusHead".to_vec();
        head.extend([1, 2, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0x00, 0x01, 0]);
        let info = OpusHeadInfo::parse(&head);
        assert_eq!(
            info,
            Some(OpusHeadInfo {
                channels: 2,
                pre_skip: 312,
                output_gain: 256,
                mapping_family: 0
            })
        );
        assert_eq!(OpusHeadInfo::parse(b"OpusTags and more bytes"), None);
    }
}

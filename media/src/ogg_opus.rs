//! The progressive rendition: one Ogg Opus file (RFC 7845), served with HTTP Range.

use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use super::MediaError;
use super::encode::{EncodedTrack, FRAME_SAMPLES, PacketStream};

/// Audio packets per page: 50 × 20 ms = 1 s, the granularity browsers seek to by bisection.
const PACKETS_PER_PAGE: usize = 50;

/// Writes `stream` as an Ogg Opus file with the given headers.
///
/// Granule positions count 48 kHz samples including pre-skip; the last page's granule is
/// `pre_skip + track frames`, which tells decoders to drop the end padding.
pub(crate) fn write_ogg(
    track: &EncodedTrack,
    stream: &PacketStream,
    opus_head: &[u8],
    opus_tags: &[u8],
    serial: u32,
) -> Result<Vec<u8>, MediaError> {
    let io = |e: std::io::Error| MediaError::Encoder(format!("ogg writer: {e}"));
    let payload = stream.payload_bytes();
    // Pages add 27 bytes plus one lacing byte per 255 payload bytes: reserve a little more.
    let mut writer = PacketWriter::new(Vec::with_capacity(payload + payload / 50 + 4096));
    writer
        .write_packet(opus_head, serial, PacketWriteEndInfo::EndPage, 0)
        .map_err(io)?;
    writer
        .write_packet(opus_tags, serial, PacketWriteEndInfo::EndPage, 0)
        .map_err(io)?;
    let end_granule = u64::from(track.pre_skip) + track.frames;
    let last = stream.len().saturating_sub(1);
    for index in 0..stream.len() {
        let packet = stream
            .packet(index)
            .ok_or_else(|| MediaError::Encoder("missing packet".into()))?;
        let granule = ((index as u64 + 1) * FRAME_SAMPLES as u64).min(end_granule);
        let end = if index == last {
            PacketWriteEndInfo::EndStream
        } else if (index + 1) % PACKETS_PER_PAGE == 0 {
            PacketWriteEndInfo::EndPage
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        writer
            .write_packet(packet, serial, end, granule)
            .map_err(io)?;
    }
    Ok(writer.into_inner())
}

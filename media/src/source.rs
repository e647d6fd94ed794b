//! Probing a source file and decoding its audio track to interleaved mono/stereo `f32`.
//!
//! symphonia demuxes every container and decodes every codec but Opus, which goes to libopus
//! ([`OpusPacketDecoder`]). Decoded audio streams into a [`PcmSink`] packet by packet, so
//! memory stays bounded by the output, not by the length of the source.

use std::io::Cursor;
use std::time::Duration;

use symphonia::core::codecs::audio::CODEC_ID_NULL_AUDIO;
use symphonia::core::codecs::audio::well_known as codec;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoder, AudioDecoderOptions};
use symphonia::core::common::Limit;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::packet::Packet;

use super::completeness::{is_open_ended_matroska, is_truncated_ogg};
use super::downmix::Downmix;
use super::opus_decode::OpusPacketDecoder;
use super::tags::{CoverArt, TagReader, TrackMetadata};
use super::{Limits, MediaError};

/// Undecodable packets tolerated before the file counts as corrupt (MP3s often start with one).
const MAX_BAD_PACKETS: usize = 8;

/// Somewhere decoded audio goes: interleaved frames at the source's rate and channel count.
pub(crate) trait PcmSink {
    /// Takes the next frames; `interleaved.len()` is a multiple of the channel count.
    fn push(&mut self, interleaved: &[f32]) -> Result<(), MediaError>;
}

/// What decoding the whole track produced besides the audio.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// Frames (samples per channel) at the source rate.
    pub(crate) frames: u64,
    /// The track's tags.
    pub(crate) tags: TrackMetadata,
    /// Embedded cover art.
    pub(crate) cover: Option<CoverArt>,
}

enum TrackDecoder {
    Symphonia(Box<dyn AudioDecoder>),
    Opus(OpusPacketDecoder),
}

/// An opened source: the demuxer, the decoder for its audio track and the output layout.
pub(crate) struct Source<'a> {
    bytes: &'a [u8],
    format: Box<dyn FormatReader + 'a>,
    decoder: TrackDecoder,
    track_id: u32,
    rate: u32,
    in_channels: usize,
    downmix: Downmix,
    declared_frames: Option<u64>,
}

impl std::fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("rate", &self.rate)
            .field("in_channels", &self.in_channels)
            .finish_non_exhaustive()
    }
}

impl<'a> Source<'a> {
    /// Probes `bytes` (a whole file) and prepares to decode its default audio track.
    pub(crate) fn open(
        bytes: &'a [u8],
        name_hint: &str,
        limits: &Limits,
    ) -> Result<Self, MediaError> {
        let format = probe(bytes, name_hint)?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or(MediaError::NotAudio)?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or(MediaError::NotAudio)?;
        if params.codec == CODEC_ID_NULL_AUDIO {
            return Err(MediaError::NotAudio);
        }
        let (decoder, in_channels) = if params.codec == codec::CODEC_ID_OPUS {
            let opus = OpusPacketDecoder::new(params.extra_data.as_deref())?;
            let channels = opus.channels();
            (TrackDecoder::Opus(opus), channels)
        } else {
            let decoder = symphonia::default::get_codecs()
                .make_audio_decoder(params, &AudioDecoderOptions::default())
                .map_err(|_| MediaError::UnsupportedCodec {
                    codec: codec_name(params.codec),
                })?;
            (
                TrackDecoder::Symphonia(decoder),
                params.channels.as_ref().map_or(0, |c| c.count()),
            )
        };
        let rate = params.sample_rate.unwrap_or(0);
        check_format(rate, in_channels, limits)?;
        let downmix = Downmix::for_layout(params.channels.as_ref(), in_channels);
        Ok(Source {
            bytes,
            track_id: track.id,
            declared_frames: track.num_frames,
            format,
            decoder,
            rate,
            in_channels,
            downmix,
        })
    }

    /// Source sample rate in Hz.
    pub(crate) fn rate(&self) -> u32 {
        self.rate
    }

    /// Channels the source declares.
    pub(crate) fn input_channels(&self) -> usize {
        self.in_channels
    }

    /// Channels handed to the sink: 1 or 2.
    pub(crate) fn output_channels(&self) -> usize {
        self.downmix.output_channels()
    }

    /// Decodes the whole track into `sink`, then reads the tags gathered along the way.
    pub(crate) fn decode_into(
        mut self,
        sink: &mut dyn PcmSink,
        limits: &Limits,
    ) -> Result<Decoded, MediaError> {
        let max_frames = limits
            .max_duration
            .as_secs()
            .saturating_mul(u64::from(self.rate));
        let mut run = DecodeRun {
            frames: 0,
            bad_packets: 0,
            rate: self.rate,
            ..DecodeRun::default()
        };
        while let Some(packet) = self.next_packet(&run)? {
            if packet.track_id == self.track_id {
                run.decode(
                    &packet,
                    &mut self.decoder,
                    &self.downmix,
                    self.in_channels,
                    sink,
                )?;
                if run.frames > max_frames {
                    return Err(MediaError::TooLong {
                        max: limits.max_duration,
                    });
                }
            }
        }
        self.check_complete(&run)?;
        let (tags, cover) = self.read_tags().finish(limits.max_cover_bytes)?;
        Ok(Decoded {
            frames: run.frames,
            tags,
            cover,
        })
    }

    fn next_packet(&mut self, run: &DecodeRun) -> Result<Option<Packet>, MediaError> {
        match self.format.next_packet() {
            Ok(packet) => Ok(packet),
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                if is_open_ended_matroska(self.bytes) {
                    return Ok(None);
                }
                Err(MediaError::Truncated {
                    decoded: run.decoded(),
                })
            }
            // A chained Ogg file: the next link is another track; keep the first.
            Err(SymphoniaError::ResetRequired) => Ok(None),
            Err(e) => Err(MediaError::Corrupt {
                decoded: run.decoded(),
                reason: e.to_string(),
            }),
        }
    }

    /// Fails when the data stops early: an Ogg file without its end-of-stream page, or audio
    /// ending well before the length the container declared. An Ogg file that does end
    /// properly yet comes up short lost pages in the middle (bad CRCs): corrupt, not cut.
    fn check_complete(&self, run: &DecodeRun) -> Result<(), MediaError> {
        let decoded = run.decoded();
        if is_truncated_ogg(self.bytes) {
            return Err(MediaError::Truncated { decoded });
        }
        let slack = u64::from(self.rate) / 2;
        if let Some(declared) = self.declared_frames.filter(|&d| run.frames + slack < d) {
            if !self.bytes.starts_with(b"OggS") {
                return Err(MediaError::Truncated { decoded });
            }
            let lost = frames_to_duration(declared - run.frames, self.rate);
            return Err(MediaError::Damaged { lost });
        }
        if run.frames == 0 {
            return Err(MediaError::NoAudio);
        }
        Ok(())
    }

    fn read_tags(&mut self) -> TagReader {
        let mut reader = TagReader::default();
        let mut log = self.format.metadata();
        if let Some(rev) = log.current() {
            reader.merge(rev, self.track_id);
        }
        while log.pop().is_some() {
            if let Some(rev) = log.current() {
                reader.merge(rev, self.track_id);
            }
        }
        reader
    }
}

/// The running state of one decode: counters and scratch buffers reused for every packet.
#[derive(Default)]
struct DecodeRun {
    frames: u64,
    bad_packets: usize,
    rate: u32,
    planes: Vec<Vec<f32>>,
    interleaved: Vec<f32>,
}

impl DecodeRun {
    fn decoded(&self) -> Duration {
        frames_to_duration(self.frames, self.rate)
    }

    fn decode(
        &mut self,
        packet: &Packet,
        decoder: &mut TrackDecoder,
        downmix: &Downmix,
        in_channels: usize,
        sink: &mut dyn PcmSink,
    ) -> Result<(), MediaError> {
        let out_channels = downmix.output_channels();
        let samples: &[f32] = match decoder {
            TrackDecoder::Opus(opus) => match opus.decode(packet) {
                Ok(samples) => samples,
                Err(e) => return self.skip_bad_packet(e.to_string()),
            },
            TrackDecoder::Symphonia(decoder) => match decoder.decode(packet) {
                Ok(buf) => {
                    let spec = buf.spec();
                    if spec.rate() != self.rate || spec.channels().count() != in_channels {
                        return Err(MediaError::FormatChange {
                            decoded: self.decoded(),
                        });
                    }
                    downmix.apply(&buf, &mut self.planes, &mut self.interleaved);
                    &self.interleaved
                }
                Err(SymphoniaError::DecodeError(e)) => return self.skip_bad_packet(e.to_owned()),
                Err(SymphoniaError::IoError(e)) => return self.skip_bad_packet(e.to_string()),
                Err(e) => {
                    return Err(MediaError::Corrupt {
                        decoded: self.decoded(),
                        reason: e.to_string(),
                    });
                }
            },
        };
        let frames = (samples.len() / out_channels) as u64;
        sink.push(samples)?;
        self.frames += frames;
        Ok(())
    }

    fn skip_bad_packet(&mut self, reason: String) -> Result<(), MediaError> {
        self.bad_packets += 1;
        if self.bad_packets > MAX_BAD_PACKETS {
            return Err(MediaError::Corrupt {
                decoded: self.decoded(),
                reason,
            });
        }
        Ok(())
    }
}

/// `frames` at `rate` Hz as a duration.
fn frames_to_duration(frames: u64, rate: u32) -> Duration {
    Duration::from_secs_f64(frames as f64 / f64::from(rate.max(1)))
}

fn probe<'a>(bytes: &'a [u8], name_hint: &str) -> Result<Box<dyn FormatReader + 'a>, MediaError> {
    let mut hint = Hint::new();
    if let Some(ext) = std::path::Path::new(name_hint)
        .extension()
        .and_then(|e| e.to_str())
    {
        hint.with_extension(ext);
    }
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    // Pictures are bounded by the file size limit; their own limit is checked after reading so
    // that an oversized cover is an error rather than silently dropped.
    let meta_opts = MetadataOptions::default().limit_visual_bytes(Limit::None);
    symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), meta_opts)
        .map_err(|_| MediaError::NotAudio)
}

fn check_format(rate: u32, channels: usize, limits: &Limits) -> Result<(), MediaError> {
    let (min, max) = limits.sample_rates;
    if !(min..=max).contains(&rate) {
        return Err(MediaError::SampleRate { rate, min, max });
    }
    if channels == 0 || channels > limits.max_channels {
        return Err(MediaError::Channels {
            channels,
            max: limits.max_channels,
        });
    }
    Ok(())
}

/// A short human name for codecs we can demux but not decode.
fn codec_name(id: AudioCodecId) -> String {
    let known = [
        (codec::CODEC_ID_AAC, "aac"),
        (codec::CODEC_ID_ALAC, "alac"),
        (codec::CODEC_ID_AC3, "ac3"),
        (codec::CODEC_ID_EAC3, "eac3"),
        (codec::CODEC_ID_DCA, "dts"),
        (codec::CODEC_ID_WMA, "wma"),
        (codec::CODEC_ID_SPEEX, "speex"),
        (codec::CODEC_ID_WAVPACK, "wavpack"),
        (codec::CODEC_ID_MONKEYS_AUDIO, "ape"),
        (codec::CODEC_ID_TRUEHD, "truehd"),
        (codec::CODEC_ID_ATRAC3, "atrac3"),
        (codec::CODEC_ID_MP1, "mp1"),
        (codec::CODEC_ID_MP2, "mp2"),
        (codec::CODEC_ID_ADPCM_MS, "adpcm"),
        (codec::CODEC_ID_ADPCM_IMA_WAV, "adpcm"),
    ];
    known
        .iter()
        .find(|(known_id, _)| *known_id == id)
        .map_or_else(|| format!("unknown ({id})"), |(_, name)| (*name).to_owned())
}

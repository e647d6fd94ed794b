//! Streaming sample-rate conversion to 48 kHz, Opus's native rate.
//!
//! rubato's FFT resampler (synchronous, windowed-sinc anti-aliasing) runs chunk by chunk as
//! decoded audio arrives; its start-up delay is dropped and its tail flushed so the output
//! holds exactly `round(input × 48000 / rate)` frames, keeping the duration exact.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::MediaError;
use super::source::PcmSink;

/// Opus's native rate, which every rendition uses.
pub(crate) const OUTPUT_RATE: u32 = 48_000;

/// Input frames per resampler call; small enough to keep buffers tiny, big enough for speed.
const CHUNK_FRAMES: usize = 1024;

/// A [`PcmSink`] that converts to 48 kHz and feeds `S`.
pub(crate) struct Resampling<S> {
    sink: S,
    channels: usize,
    /// `None` when the source is already at 48 kHz: audio passes straight through.
    resampler: Option<Fft<f32>>,
    /// Input waiting for a whole chunk.
    pending: Vec<f32>,
    /// Output scratch buffer, sized for one call.
    out: Vec<f32>,
    /// Output frames still to drop for the resampler's delay.
    delay_left: usize,
    in_frames: u64,
    out_frames: u64,
    rate: u32,
}

impl<S> std::fmt::Debug for Resampling<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampling")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl<S: PcmSink> Resampling<S> {
    /// Converts `channels`-channel audio at `rate` Hz into `sink` at 48 kHz.
    pub(crate) fn new(sink: S, rate: u32, channels: usize) -> Result<Self, MediaError> {
        let resampler = if rate == OUTPUT_RATE {
            None
        } else {
            let fft = Fft::new(
                rate as usize,
                OUTPUT_RATE as usize,
                CHUNK_FRAMES,
                channels,
                FixedSync::Input,
            )
            .map_err(|e| MediaError::Encoder(format!("resampler: {e}")))?;
            Some(fft)
        };
        let (delay_left, out_len) = resampler.as_ref().map_or((0, 0), |r| {
            (r.output_delay(), r.output_frames_max() * channels)
        });
        Ok(Resampling {
            sink,
            channels,
            resampler,
            pending: Vec::with_capacity(CHUNK_FRAMES * channels * 2),
            out: vec![0.0; out_len],
            delay_left,
            in_frames: 0,
            out_frames: 0,
            rate,
        })
    }

    /// Flushes the resampler and returns the sink and the frames it received at 48 kHz.
    pub(crate) fn finish(mut self) -> Result<(S, u64), MediaError> {
        let Some(mut resampler) = self.resampler.take() else {
            return Ok((self.sink, self.out_frames));
        };
        let expected = (self.in_frames as u128 * u128::from(OUTPUT_RATE)
            + u128::from(self.rate) / 2)
            / u128::from(self.rate);
        let expected = u64::try_from(expected).unwrap_or(u64::MAX);
        // The last partial chunk, then silence until the delayed tail is out.
        let mut partial = self.pending.len() / self.channels;
        while self.out_frames < expected {
            self.run_chunk(&mut resampler, Some(partial), expected)?;
            partial = 0;
        }
        Ok((self.sink, self.out_frames))
    }

    /// Resamples one chunk from `pending` and forwards at most up to `limit` output frames.
    fn run_chunk(
        &mut self,
        resampler: &mut Fft<f32>,
        partial: Option<usize>,
        limit: u64,
    ) -> Result<(), MediaError> {
        let needed = resampler.input_frames_next();
        if self.pending.len() < needed * self.channels {
            // Only the final, partial chunk is short; rubato reads `partial_len` frames of it.
            self.pending.resize(needed * self.channels, 0.0);
        }
        let input = InterleavedSlice::new(&self.pending[..], self.channels, needed)
            .map_err(resample_err)?;
        let out_capacity = self.out.len() / self.channels;
        let mut output = InterleavedSlice::new_mut(&mut self.out[..], self.channels, out_capacity)
            .map_err(resample_err)?;
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let (_, produced) = resampler
            .process_into_buffer(&input, &mut output, indexing.as_ref())
            .map_err(|e| MediaError::Encoder(format!("resampler: {e}")))?;
        match partial {
            Some(_) => self.pending.clear(),
            None => drop(self.pending.drain(..needed * self.channels)),
        }
        let skip = self.delay_left.min(produced);
        self.delay_left -= skip;
        let room = usize::try_from(limit.saturating_sub(self.out_frames)).unwrap_or(usize::MAX);
        let end = produced.min(skip.saturating_add(room));
        self.out_frames += (end - skip) as u64;
        self.sink
            .push(&self.out[skip * self.channels..end * self.channels])
    }
}

impl<S: PcmSink> PcmSink for Resampling<S> {
    fn push(&mut self, interleaved: &[f32]) -> Result<(), MediaError> {
        self.in_frames += (interleaved.len() / self.channels) as u64;
        let Some(mut resampler) = self.resampler.take() else {
            self.out_frames = self.in_frames;
            return self.sink.push(interleaved);
        };
        self.pending.extend_from_slice(interleaved);
        let mut result = Ok(());
        while result.is_ok() && self.pending.len() >= resampler.input_frames_next() * self.channels
        {
            result = self.run_chunk(&mut resampler, None, u64::MAX);
        }
        self.resampler = Some(resampler);
        result
    }
}

fn resample_err(e: impl std::fmt::Display) -> MediaError {
    MediaError::Encoder(format!("resampler buffer: {e}"))
}

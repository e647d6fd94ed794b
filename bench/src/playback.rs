//! Playback of a simulated listener of progressive audio over HTTP `Range`: it plays in real
//! time, keeps `ahead` seconds buffered by fetching `chunk` bytes whenever it has less, and
//! may seek or switch to another quality once during its play, as real players do. A stutter
//! is the playhead catching up with the downloaded bytes.

use std::time::{Duration, Instant};

/// One progressive file as a target serves it.
#[derive(Debug, Clone)]
pub struct File {
    /// Its URL at the target.
    pub url: String,
    /// Bytes in the file.
    pub size: u64,
    /// Bytes per second of audio.
    pub rate: f64,
}

impl File {
    /// Seconds of audio in the file.
    pub fn seconds(&self) -> f64 {
        self.size as f64 / self.rate
    }
}

/// What one listener does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What it plays first.
    pub file: File,
    /// `(after, to)`: after `after` seconds of play it seeks to audio second `to`.
    pub seek: Option<(f64, f64)>,
    /// `(after, file)`: after `after` seconds of play it fetches the rest from `file` (the
    /// same track at another quality), from where its buffer ends.
    pub switch: Option<(f64, File)>,
    /// The bearer token, for the gateway.
    pub bearer: Option<String>,
    /// Longest it plays, in wall-clock seconds.
    pub seconds: f64,
    /// Seconds of audio it keeps buffered.
    pub ahead: f64,
    /// Bytes per `Range` request.
    pub chunk: u64,
}

/// What one listener saw.
#[derive(Debug, Default)]
pub struct Listened {
    /// From its first request to the first byte, connection set-up included.
    pub first_byte: Option<Duration>,
    /// From its seek to the first byte at the new position.
    pub seek_byte: Option<Duration>,
    /// Times the playhead caught up with the bytes.
    pub stutters: u32,
    /// `Range` requests sent.
    pub requests: u32,
    /// Bytes received.
    pub bytes: u64,
    /// Whether it heard its track to the end.
    pub whole: bool,
    /// Why it stopped early, if it failed.
    pub error: Option<String>,
}

/// Where the download stands: `file` from byte `at`, which is audio second `audio`.
struct Position {
    file: File,
    at: u64,
    /// Audio second of byte `base` of `file`.
    base_audio: f64,
    base: u64,
}

impl Position {
    /// Audio seconds downloaded.
    fn audio(&self) -> f64 {
        self.base_audio + (self.at - self.base) as f64 / self.file.rate
    }

    /// From audio second `audio` of `file` on.
    fn at_audio(file: File, audio: f64) -> Self {
        let at = ((audio * file.rate) as u64).min(file.size.saturating_sub(1));
        Self {
            base_audio: at as f64 / file.rate,
            base: at,
            at,
            file,
        }
    }
}

/// Plays `plan` with `client` (one HTTP/1.1 connection of its own).
pub async fn listen(client: &reqwest::Client, plan: Plan) -> Listened {
    let mut heard = Listened::default();
    let duration = plan.file.seconds();
    let end = Instant::now() + Duration::from_secs_f64(plan.seconds);
    let (mut seek, mut switch) = (plan.seek, plan.switch.clone());
    let mut pos = Position::at_audio(plan.file.clone(), 0.0);
    let mut playhead = Playhead::default();
    let mut seeking: Option<Instant> = None;
    while Instant::now() < end {
        let now = Instant::now();
        let played = playhead.played(now);
        if let Some((_, to)) = seek.take_if(|(after, _)| played >= *after) {
            pos = Position::at_audio(pos.file.clone(), to);
            playhead.jump(to);
            seeking = Some(now);
            continue;
        }
        if let Some((_, file)) = switch.take_if(|(after, _)| played >= *after) {
            pos = Position::at_audio(file, pos.audio());
            continue;
        }
        if pos.at >= pos.file.size {
            // Everything is downloaded: it plays out from the buffer.
            let left = playhead.at(now).map_or(0.0, |at| duration - at);
            let until = now + Duration::from_secs_f64(left.max(0.0));
            tokio::time::sleep_until(until.min(end).into()).await;
            heard.whole = until <= end;
            break;
        }
        if let Some(at) = playhead.at(now) {
            let buffered = pos.audio() - at;
            if buffered > plan.ahead {
                let wake = now + Duration::from_secs_f64(buffered - plan.ahead);
                // Wake for a seek or a switch due before then.
                let due = [seek.map(|s| s.0), switch.as_ref().map(|s| s.0)]
                    .into_iter()
                    .flatten()
                    .map(|after| now + Duration::from_secs_f64((after - played).max(0.0)))
                    .min()
                    .unwrap_or(wake);
                tokio::time::sleep_until(wake.min(due).min(end).into()).await;
                continue;
            }
        }
        let last = (pos.at + plan.chunk).min(pos.file.size) - 1;
        let mut request = client
            .get(&pos.file.url)
            .header("range", format!("bytes={}-{last}", pos.at));
        if let Some(token) = &plan.bearer {
            request = request.bearer_auth(token);
        }
        let sent = Instant::now();
        heard.requests += 1;
        let deadline = end + Duration::from_secs(10);
        let fetched = tokio::time::timeout_at(deadline.into(), async {
            let mut response = request.send().await.map_err(|e| e.to_string())?;
            if response.status() != 206 {
                return Err(format!("answered {}", response.status()));
            }
            while let Some(bytes) = response.chunk().await.map_err(|e| e.to_string())? {
                let now = Instant::now();
                if heard.first_byte.is_none() {
                    heard.first_byte = Some(now.duration_since(sent));
                }
                if seeking.take().is_some() {
                    heard.seek_byte = Some(now.duration_since(sent));
                }
                heard.stutters += playhead.arrive(now, pos.audio());
                pos.at += bytes.len() as u64;
                heard.bytes += bytes.len() as u64;
            }
            Ok(())
        })
        .await;
        match fetched {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                heard.error = Some(error);
                break;
            }
            Err(_) => {
                heard.error = Some("no answer 10 s after the listener's end".to_owned());
                break;
            }
        }
    }
    // Cut off by the end of its time: did the playhead catch up before then?
    if !heard.whole && heard.error.is_none() && playhead.started.is_some() {
        let now = Instant::now().max(end);
        heard.stutters += playhead.arrive(now, pos.audio().min(duration));
    }
    heard
}

/// A listener's playback: it starts with the first byte and halts while nothing is buffered.
#[derive(Debug, Default)]
pub struct Playhead {
    started: Option<Instant>,
    /// Audio second it started from (0, or where it seeked to).
    origin: f64,
    /// Seconds spent halted, not played.
    stalled: f64,
    /// Seconds played before the last seek.
    before_jump: f64,
    /// Whether the last arrival found the playhead halted.
    stalling: bool,
}

impl Playhead {
    /// Audio second of the playhead at `now`, once started.
    pub fn at(&self, now: Instant) -> Option<f64> {
        self.started
            .map(|start| self.origin + now.duration_since(start).as_secs_f64() - self.stalled)
    }

    /// Seconds of audio played by `now`, across seeks.
    pub fn played(&self, now: Instant) -> f64 {
        self.before_jump + self.at(now).map_or(0.0, |at| at - self.origin)
    }

    /// A seek to audio second `to`: it halts until the first bytes there arrive, and that
    /// wait is the seek's latency, not a stutter.
    pub fn jump(&mut self, to: f64) {
        self.before_jump = self.played(Instant::now());
        *self = Self {
            origin: to,
            before_jump: self.before_jump,
            ..Self::default()
        };
    }

    /// Bytes arrive at `now` with audio up to second `had` downloaded before them: 1 when
    /// this begins a stutter (the playhead had caught up with the bytes), else 0.
    pub fn arrive(&mut self, now: Instant, had: f64) -> u32 {
        let Some(at) = self.at(now) else {
            self.started = Some(now);
            return 0;
        };
        if at > had {
            self.stalled += at - had;
            let new = !self.stalling;
            self.stalling = true;
            u32::from(new)
        } else {
            self.stalling = false;
            0
        }
    }
}

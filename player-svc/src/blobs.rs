//! Media blobs: the store is the runtime's (`tunemesh_runtime::blobs`), shared with the
//! gateway's direct audio reads. Layout, per track and quality, under
//! `tracks/<track id>/<content hash prefix>/`: `<quality>/audio.ogg` (progressive Ogg Opus)
//! and `<quality>/audio.webm` (the init segment followed by every media segment; the manifest
//! records their offsets). The hash in the path means a changed source writes beside the old
//! renditions, and the catalogue row switches to the new ones in one commit. Covers are
//! `covers/<hash>`.

pub(crate) use tunemesh_runtime::blobs::Blobs;

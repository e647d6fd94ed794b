//! Reads of a local blob directory that skip the blocking pool when they can.
//!
//! `object_store`'s local reads open the file, read and close it on tokio's blocking pool:
//! two thread hand-offs and three system calls for every 64 KiB of audio, where a file
//! server like nginx reads from the page cache without leaving its event loop. Here the
//! files stay open (blobs never change: a path names one version), and a read is first tried
//! on the calling thread with `preadv2(RWF_NOWAIT)`, which the kernel answers only from the
//! page cache and refuses (EAGAIN) rather than wait for the disk: a hit costs one system
//! call and no hop; whatever is not cached is read on the blocking pool as before. (An
//! `fstat` per read notices a deleted file; it reads the kernel's inode, never the disk.)

use std::fs::File;
use std::io::IoSliceMut;
use std::ops::Range;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use moka::sync::Cache;
use object_store::local::LocalFileSystem;
use object_store::path::Path as BlobPath;
use rustix::io::{ReadWriteFlags, preadv2};

/// Files kept open at most; the least used are closed first.
const OPEN_FILES: u64 = 1024;

/// Open files of one local blob directory.
#[derive(Debug)]
pub(super) struct LocalReads {
    fs: Arc<LocalFileSystem>,
    files: Cache<BlobPath, Arc<File>>,
}

impl LocalReads {
    pub(super) fn new(fs: Arc<LocalFileSystem>) -> Self {
        Self {
            fs,
            files: Cache::builder()
                .max_capacity(OPEN_FILES)
                .time_to_idle(Duration::from_secs(60))
                .build(),
        }
    }

    /// `range` of the blob at `path`.
    pub(super) async fn get_range(
        &self,
        path: &BlobPath,
        range: Range<u64>,
    ) -> object_store::Result<Bytes> {
        let file = self.open(path).await?;
        let len =
            usize::try_from(range.end.saturating_sub(range.start)).map_err(|e| generic(path, e))?;
        let mut buf = vec![0_u8; len];
        let cached = preadv2(
            &*file,
            &mut [IoSliceMut::new(&mut buf)],
            range.start,
            ReadWriteFlags::NOWAIT,
        )
        .unwrap_or(0);
        if cached == len {
            return Ok(Bytes::from(buf));
        }
        // Not all of it in memory: the rest is read where waiting for the disk is fine.
        let at = range.start + cached as u64;
        let read = tokio::task::spawn_blocking(move || {
            file.read_exact_at(&mut buf[cached..], at).map(|()| buf)
        })
        .await
        .map_err(|e| generic(path, e))?;
        read.map(Bytes::from).map_err(|e| generic(path, e))
    }

    /// The open file at `path`, opened on the blocking pool the first time. A kept file that
    /// was deleted since (no links left: a re-ingested track's old rendition) is gone, as it
    /// would be to a fresh open, and is dropped.
    async fn open(&self, path: &BlobPath) -> object_store::Result<Arc<File>> {
        if let Some(file) = self.files.get(path) {
            if file.metadata().is_ok_and(|m| m.nlink() > 0) {
                return Ok(file);
            }
            self.files.invalidate(path);
        }
        let on_disk = self.fs.path_to_filesystem(path)?;
        let opened = tokio::task::spawn_blocking(move || File::open(on_disk))
            .await
            .map_err(|e| generic(path, e))?;
        let file = match opened {
            Ok(file) => Arc::new(file),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(object_store::Error::NotFound {
                    path: path.to_string(),
                    source: Box::new(error),
                });
            }
            Err(error) => return Err(generic(path, error)),
        };
        self.files.insert(path.clone(), file.clone());
        Ok(file)
    }
}

fn generic(
    path: &BlobPath,
    error: impl std::error::Error + Send + Sync + 'static,
) -> object_store::Error {
    object_store::Error::Generic {
        store: "LocalFileSystem",
        source: format!("{path}: {error}").into(),
    }
}

//! The cover beside a library file (`cover.jpg`, `folder.jpg`, ...), for tracks whose tags
//! carry none: how most ripped and downloaded albums keep their art. Blocking file reads:
//! called on the transcoding threads, never on tokio's.

use std::path::Path;

use bytes::Bytes;

use crate::media::CoverArt;
use crate::media::tags::sniff_media_type;

/// File stems looked for, most specific first.
const STEMS: [&str; 4] = ["cover", "folder", "front", "album"];
/// Extensions looked for, per stem.
const EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "webp"];

/// The first picture in `dir` named as [`STEMS`] and [`EXTENSIONS`] say (any case), of at
/// most `max_bytes` and really an image (its magic bytes say so); `None` when there is none.
/// Unreadable folders and files are skipped: a missing cover never fails an ingest.
pub(super) fn find(dir: &Path, max_bytes: usize) -> Option<CoverArt> {
    let mut candidates: Vec<(usize, std::path::PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_lowercase();
            let (stem, ext) = name.rsplit_once('.')?;
            let rank = STEMS.iter().position(|s| *s == stem)? * EXTENSIONS.len()
                + EXTENSIONS.iter().position(|e| *e == ext)?;
            Some((rank, entry.path()))
        })
        .collect();
    candidates.sort();
    candidates
        .into_iter()
        .find_map(|(_, path)| read(&path, max_bytes))
}

fn read(path: &Path, max_bytes: usize) -> Option<CoverArt> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || usize::try_from(meta.len()).map_or(true, |len| len > max_bytes) {
        tracing::debug!(path = %path.display(), "folder cover skipped: not a file or too large");
        return None;
    }
    let data = std::fs::read(path).ok()?;
    let mime_type = sniff_media_type(&data);
    if mime_type == "application/octet-stream" || data.len() > max_bytes {
        return None;
    }
    Some(CoverArt {
        mime_type: mime_type.to_owned(),
        data: Bytes::from(data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

    #[test]
    fn cover_wins_over_folder_any_case_and_non_images_are_skipped() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        assert_eq!(find(dir.path(), 1024), None);
        std::fs::write(dir.path().join("Folder.JPG"), JPEG)?;
        std::fs::write(dir.path().join("cover.png"), b"not a picture")?;
        std::fs::write(dir.path().join("notes.jpg"), PNG)?;
        let found = find(dir.path(), 1024).map(|c| c.mime_type);
        assert_eq!(
            found.as_deref(),
            Some("image/jpeg"),
            "cover.png is no image"
        );
        std::fs::write(dir.path().join("cover.png"), PNG)?;
        let found = find(dir.path(), 1024).map(|c| c.mime_type);
        assert_eq!(found.as_deref(), Some("image/png"));
        assert_eq!(
            find(dir.path(), 4).map(|c| c.mime_type),
            None,
            "over the limit"
        );
        Ok(())
    }
}

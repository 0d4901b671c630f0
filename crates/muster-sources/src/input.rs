//! Opening source files: resolving configured paths against the configuration's folder,
//! naming files in messages, and hashing every byte read so a saved plan can tell that the
//! source changed underneath it.

use crate::error::SourceError;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// A file named in the configuration.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    /// The path as the administrator wrote it; used in locations and messages.
    pub shown: String,
    /// The path actually opened.
    pub path: PathBuf,
}

impl SourceFile {
    pub(crate) fn new(base_dir: &Path, configured: &Path) -> Self {
        Self {
            shown: configured.display().to_string(),
            path: base_dir.join(configured),
        }
    }

    pub(crate) fn open(&self) -> Result<File, SourceError> {
        File::open(&self.path).map_err(|e| self.io(e))
    }

    pub(crate) fn read_all(&self) -> Result<Vec<u8>, SourceError> {
        std::fs::read(&self.path).map_err(|e| self.io(e))
    }

    pub(crate) fn io(&self, source: io::Error) -> SourceError {
        SourceError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// `persons.csv:17`
    pub(crate) fn at(&self, line: u64) -> String {
        format!("{}:{line}", self.shown)
    }
}

/// The UTF-8 byte order mark, which Excel writes at the start of "CSV UTF-8" files.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Skips every leading byte order mark (a doubled one appears when exports are concatenated).
pub(crate) fn strip_boms(mut bytes: &[u8]) -> &[u8] {
    while let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        bytes = rest;
    }
    bytes
}

/// Refuses UTF-16 and UTF-32 files (Excel's "Unicode text") with a message that says what to do.
pub(crate) fn refuse_wide_encodings(file: &SourceFile, head: &[u8]) -> Result<(), SourceError> {
    if head.starts_with(b"\xFF\xFE")
        || head.starts_with(b"\xFE\xFF")
        || head.starts_with(b"\0\0\xFE\xFF")
    {
        return Err(SourceError::Encoding {
            file: file.shown.clone(),
            line: Some(1),
            detail: "the file is UTF-16 or UTF-32 (it starts with that byte order mark); \
                     save the export as UTF-8"
                .into(),
        });
    }
    Ok(())
}

/// A reader that hashes everything read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// Reads whatever is left, so the hash covers the whole file, and returns the hash.
    pub(crate) fn finish(mut self) -> io::Result<[u8; 32]> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(self.hasher.finalize().into())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The digest of a whole source read: SHA-256 over the SHA-256 of each file, in the order read.
#[derive(Default)]
pub(crate) struct SourceDigest(Sha256);

impl SourceDigest {
    pub(crate) fn add(&mut self, file_hash: [u8; 32]) {
        self.0.update(file_hash);
    }

    pub(crate) fn hex(self) -> String {
        hex(&self.0.finalize())
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_reader_matches_a_direct_hash() {
        let data = b"ExternalId;Name\n1;Anouk\n".repeat(1000);
        let mut r = HashingReader::new(&data[..]);
        let mut first = [0u8; 10];
        r.read_exact(&mut first).unwrap();
        assert_eq!(r.finish().unwrap(), sha256(&data));
    }

    #[test]
    fn hex_is_lowercase_and_complete() {
        assert_eq!(hex(&[0x00, 0xAB, 0x0F]), "00ab0f");
    }

    #[test]
    fn relative_paths_resolve_against_the_base_and_show_as_written() {
        let f = SourceFile::new(Path::new("/etc/muster"), Path::new("hr/persons.csv"));
        assert_eq!(f.path, Path::new("/etc/muster/hr/persons.csv"));
        assert_eq!(f.at(17), "hr/persons.csv:17");
        let abs = SourceFile::new(Path::new("/etc/muster"), Path::new("/data/p.csv"));
        assert_eq!(abs.path, Path::new("/data/p.csv"));
    }
}

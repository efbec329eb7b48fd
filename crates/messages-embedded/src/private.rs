//! The embedded backend's files are for this user alone: every message, its
//! text and its timeline are in them, so a folder the backend makes is
//! `0700` and the database file `0600` (SQLite gives its `-wal` and `-shm`
//! files the database file's mode).

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of a folder the backend makes.
pub const DIR_MODE: u32 = 0o700;
/// The mode of the database file.
pub const FILE_MODE: u32 = 0o600;

/// Makes `path` and any missing parent `0700`. A folder that exists is
/// left as it is (it may be shared, or not ours), with a warning when others
/// can read it.
pub fn create_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)?;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", mode & 0o777),
            "other users can look into DATA_DIR, which holds every message: chmod 700 it"
        );
    }
    Ok(())
}

/// Makes the file at `path` `0600` if it is not there, and takes away what
/// others may do with it if it is (a file made by an earlier version).
pub fn create_file(path: &Path) -> io::Result<()> {
    if tighten(path)? {
        return Ok(());
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)
        .map(drop)
}

/// Takes away what others may do with the file at `path`, if it is there:
/// `true` when it is. SQLite keeps the mode of a `-wal` or `-shm` file it
/// finds, so an earlier version's must be tightened too. A file whose mode
/// cannot be changed (a read-only mount) is left as it is, with a warning:
/// it still serves reads.
pub fn tighten(path: &Path) -> io::Result<bool> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    let mode = metadata.permissions().mode();
    if mode & 0o077 != 0
        && let Err(error) = std::fs::set_permissions(path, Permissions::from_mode(mode & 0o700))
    {
        tracing::warn!(path = %path.display(), %error, "other users can read the embedded database, and its mode cannot be changed: chmod 600 it");
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn a_new_folder_is_the_users_alone_and_an_old_file_is_tightened() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let data = dir.path().join("a/b");
        create_dir(&data).expect("made");
        assert_eq!(mode(&data), DIR_MODE);
        assert_eq!(mode(&dir.path().join("a")), DIR_MODE);
        let file = data.join("f");
        create_file(&file).expect("made");
        assert_eq!(mode(&file), FILE_MODE);
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).expect("chmod");
        create_file(&file).expect("opened");
        assert_eq!(mode(&file), FILE_MODE);
        let wal = data.join("f-wal");
        std::fs::write(&wal, b"").expect("write");
        std::fs::set_permissions(&wal, Permissions::from_mode(0o644)).expect("chmod");
        assert!(tighten(&wal).expect("tightened"));
        assert_eq!(mode(&wal), FILE_MODE);
        assert!(!tighten(&data.join("absent")).expect("nothing to do"));
    }
}

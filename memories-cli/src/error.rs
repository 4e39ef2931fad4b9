//! What stops a `memories` command. Problems with single photos are not errors: they are
//! reported and the run goes on.

use std::path::{Path, PathBuf};

use memories_library::config::ConfigError;
use memories_library::indexing::IndexingError;
use memories_library::people::BookError;
use memories_movie::MovieError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AppError {
    #[error(transparent)]
    Indexing(#[from] IndexingError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    People(#[from] BookError),
    #[error(
        "output {} is inside the photo folder, which memories never writes to; choose a path outside it",
        path.display()
    )]
    OutputInsideFolder { path: PathBuf },
    #[error(transparent)]
    Write(#[from] memories_fs::WriteError),
    #[error(transparent)]
    Movie(#[from] MovieError),
}

/// Refuses to write `path` if it is inside the photo folder `root`.
pub fn check_output(path: &Path, root: &Path) -> Result<(), AppError> {
    if memories_fs::file_inside_folder(path, root) {
        return Err(AppError::OutputInsideFolder {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

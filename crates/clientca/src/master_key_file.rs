//! Where the master key comes from: `CLIENTCA_MASTER_KEY` (hex), else a key file, generated with
//! mode 0600 on first start.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, bail};
use authority::MasterKey;

pub const ENV_VAR: &str = "CLIENTCA_MASTER_KEY";

/// Load the key; when `create_if_missing` and neither source exists, generate the file.
pub fn load(path: &Path, create_if_missing: bool) -> anyhow::Result<Option<MasterKey>> {
    if let Ok(hex) = std::env::var(ENV_VAR) {
        return Ok(Some(MasterKey::from_hex(&hex).with_context(|| {
            format!("{ENV_VAR} is not a valid master key")
        })?));
    }
    if path.exists() {
        let mode = fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "master key file {} is readable by others (mode {mode:o}); run chmod 600 on it",
                path.display()
            );
        }
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(Some(MasterKey::from_hex(&text).with_context(|| {
            format!("{} is not a valid master key", path.display())
        })?));
    }
    if !create_if_missing {
        return Ok(None);
    }
    create(path).map(Some)
}

/// Generate a key into a new file (mode 0600; refuses to overwrite).
pub fn create(path: &Path) -> anyhow::Result<MasterKey> {
    let key = MasterKey::generate()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Owner-only, like the database directory it usually is.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "{}", key.to_hex())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated a new master key; back it up: CA keys cannot be recovered without it");
    Ok(key)
}

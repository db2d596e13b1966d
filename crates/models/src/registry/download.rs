//! Downloading a known model into the model directory: HTTP(S) with timeouts, redirects and the
//! usual proxy variables, streamed to a temporary file next to the destination, checked against
//! the official size and sha256, then renamed into place atomically. A failed or mismatching
//! download never leaves a file behind.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{hex, sha256_file, KnownModel, RegistryError, Source, BASE_URL_ENV};

/// Upper bound on a download whose official size is unknown (only with `allow_unverified`).
const MAX_UNKNOWN_SIZE: u64 = 4 << 30;
const READ_CHUNK: usize = 256 << 10;
const TEMP_PREFIX: &str = ".upframe-download-";
const TEMP_SUFFIX: &str = ".part";
/// A temporary download untouched for this long belongs to a killed process.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Knobs of [`fetch`].
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Download again even if the file is already cached.
    pub force: bool,
    /// Accept a model whose official sha256 is unknown (the file is then unverified).
    pub allow_unverified: bool,
    /// Replace the official host: `<base_url>/<official file name>` is fetched instead.
    pub base_url: Option<String>,
}

/// What [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The file was downloaded, checked and moved into place.
    Downloaded {
        path: PathBuf,
        url: String,
        bytes: u64,
        sha256: String,
        verified: bool,
    },
    /// The file was already cached (and matches the official hash when one is known).
    AlreadyCached { path: PathBuf },
}

/// Receives download progress (the CLI draws a progress bar from it).
pub trait FetchProgress {
    /// The response arrived; `total` is its length when the server sent one.
    fn start(&mut self, _url: &str, _total: Option<u64>) {}
    /// `bytes` more bytes were written.
    fn advance(&mut self, _bytes: u64) {}
    /// The body ended (successfully or not).
    fn finish(&mut self) {}
}

/// A [`FetchProgress`] that ignores everything.
pub struct NoProgress;
impl FetchProgress for NoProgress {}

/// `UPFRAME_MODEL_BASE_URL`, when set and non-empty.
pub fn base_url_from_env() -> Option<String> {
    std::env::var(BASE_URL_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// Downloads `model` into `model_dir` (see the module doc for the guarantees).
pub fn fetch(
    model: &'static KnownModel,
    model_dir: &Path,
    options: &FetchOptions,
    progress: &mut dyn FetchProgress,
) -> Result<FetchOutcome, RegistryError> {
    let destination = model_dir.join(model.cache_path);
    let official_url = match model.source {
        Source::Release { url } => url,
        Source::Manual { page, instructions } => {
            return Err(RegistryError::ManualDownload {
                name: model.name,
                page,
                instructions,
                destination,
            })
        }
    };
    if model.sha256.is_none() && !options.allow_unverified {
        return Err(RegistryError::UnverifiedRefused { name: model.name });
    }
    if destination.is_file() && !options.force {
        if let Some(expected) = model.sha256 {
            let (actual, _) = sha256_file(&destination)?;
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(RegistryError::CachedMismatch {
                    name: model.name,
                    path: destination,
                    expected,
                    actual,
                });
            }
        }
        return Ok(FetchOutcome::AlreadyCached { path: destination });
    }
    let url = match &options.base_url {
        Some(base) => rebase(official_url, base),
        None => official_url.to_string(),
    };
    let parent = destination.parent().unwrap_or(model_dir);
    std::fs::create_dir_all(parent).map_err(|e| RegistryError::io(parent, e))?;

    // Both errors say where a file downloaded by other means goes (no network here), as an
    // absolute path so it can be pasted from anywhere.
    let manual_destination = std::path::absolute(&destination).unwrap_or(destination.clone());
    let http_error = |message: String| RegistryError::Http {
        name: model.name,
        url: url.clone(),
        message: message.replace(['\n', '\r'], " "),
        official_url,
        destination: manual_destination.clone(),
    };
    let response = agent_for(&url).get(&url).call().map_err(|e| match e {
        ureq::Error::StatusCode(status) => RegistryError::HttpStatus {
            name: model.name,
            url: url.clone(),
            status,
            official_url,
            destination: manual_destination.clone(),
        },
        other => http_error(other.to_string()),
    })?;
    let declared = response.body().content_length();
    if let (Some(expected), Some(declared)) = (model.size, declared) {
        if expected != declared {
            return Err(RegistryError::SizeMismatch {
                name: model.name,
                url,
                expected,
                actual: declared,
            });
        }
    }
    // One byte over the expected size is enough to tell that the body is too long.
    let limit = model.size.map_or(MAX_UNKNOWN_SIZE, |s| s + 1);
    let mut body = response
        .into_body()
        .into_with_config()
        .limit(limit)
        .reader();

    // The temporary file lives next to the destination so the final rename stays on one
    // filesystem (atomic); it is deleted when dropped on any error path below.
    remove_stale_downloads(parent);
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(parent)
        .map_err(|e| RegistryError::io(parent, e))?;
    progress.start(&url, declared.or(model.size));
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut buffer = vec![0u8; READ_CHUNK];
    let streamed: Result<(), RegistryError> = loop {
        let n = match body.read(&mut buffer) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(http_error(e.to_string())),
        };
        if let Err(e) = temp.write_all(&buffer[..n]) {
            break Err(RegistryError::io(temp.path(), e));
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
        progress.advance(n as u64);
    };
    progress.finish();
    streamed?;
    if let Some(expected) = model.size {
        if bytes != expected {
            return Err(RegistryError::SizeMismatch {
                name: model.name,
                url,
                expected,
                actual: bytes,
            });
        }
    }
    let sha256 = hex(&hasher.finalize());
    if let Some(expected) = model.sha256 {
        if !sha256.eq_ignore_ascii_case(expected) {
            return Err(RegistryError::HashMismatch {
                name: model.name,
                url,
                expected,
                actual: sha256,
            });
        }
    }
    temp.as_file()
        .sync_all()
        .map_err(|e| RegistryError::io(temp.path(), e))?;
    // Temporary files are created owner-only; a cached model is an ordinary readable file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let readable = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(temp.path(), readable)
            .map_err(|e| RegistryError::io(temp.path(), e))?;
    }
    temp.persist(&destination)
        .map_err(|e| RegistryError::io(&destination, e.error))?;
    Ok(FetchOutcome::Downloaded {
        path: destination,
        url,
        bytes,
        sha256,
        verified: model.sha256.is_some(),
    })
}

/// Deletes temporary downloads left by killed processes (not modified for [`STALE_AFTER`]);
/// a download in progress keeps writing, so its file stays fresh. Best effort.
fn remove_stale_downloads(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        if age.is_some_and(|age| age > STALE_AFTER) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `<base>/<last path segment of the official URL>`.
fn rebase(official_url: &str, base: &str) -> String {
    let file_name = official_url.rsplit('/').next().unwrap_or(official_url);
    format!("{}/{}", base.trim_end_matches('/'), file_name)
}

fn agent_for(url: &str) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .user_agent(concat!("upframe/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        // A stalled transfer fails instead of hanging; a slow but moving one may take as long
        // as it needs.
        .timeout_per_read(Some(Duration::from_secs(60)))
        .max_redirects(10)
        .http_status_as_error(true);
    // The proxy comes from HTTPS_PROXY/HTTP_PROXY/ALL_PROXY (honouring NO_PROXY), except for a
    // loopback host, which a proxy could not reach anyway.
    let config = if is_loopback(url) {
        config.proxy(None)
    } else {
        config
    };
    config.build().into()
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if let Some(bracketed) = host.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebase_keeps_the_official_file_name() {
        let url =
            "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth";
        assert_eq!(
            rebase(url, "http://127.0.0.1:9/m/"),
            "http://127.0.0.1:9/m/RealESRGAN_x4plus.pth"
        );
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:8080/x"));
        assert!(is_loopback("http://localhost/x"));
        assert!(is_loopback("http://[::1]:80/x"));
        assert!(!is_loopback("https://github.com/xinntao"));
        assert!(!is_loopback("http://10.0.0.1/x"));
    }
}

//! `fetch` against a local HTTP server serving the real `realesr-animevideov3.pth`: a good
//! download verifies and lands atomically; corrupted, truncated or short bodies fail and leave
//! nothing in the cache; 404s and redirect loops give one-line errors; redirects are followed.

mod registry_support;

use std::path::Path;

use registry_support::{shared_models_dir, TestServer};
use upframe_models::registry::{
    self, fetch, FetchOptions, FetchOutcome, KnownModel, NoProgress, RegistryError, Source,
};

const ANIME_SHA256: &str = "b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d";

fn anime() -> &'static KnownModel {
    registry::lookup("realesr-animevideov3").expect("catalogue has realesr-animevideov3")
}

/// The real weight file and a server with room for `connections` requests.
fn setup(connections: usize) -> Option<(Vec<u8>, TestServer)> {
    let dir = shared_models_dir()?;
    let body = std::fs::read(dir.join("realesr-animevideov3.pth")).expect("read shared weights");
    let server = TestServer::start(body.clone(), connections);
    Some((body, server))
}

fn options(base: String) -> FetchOptions {
    FetchOptions {
        base_url: Some(base),
        ..FetchOptions::default()
    }
}

/// Every entry of `dir`, recursively, as relative paths (to prove nothing was left behind).
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            out.push(
                path.strip_prefix(dir)
                    .expect("prefix")
                    .display()
                    .to_string(),
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

fn assert_one_line(error: &RegistryError) {
    let text = error.to_string();
    assert!(!text.contains('\n'), "multi-line error: {text}");
    assert!(
        text.contains("realesr-animevideov3"),
        "error does not name the model: {text}"
    );
}

#[test]
fn good_download_is_verified_and_lands_atomically() {
    let Some((body, server)) = setup(4) else {
        return;
    };
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = cache.path().join("nested").join("models");
    let outcome = fetch(
        anime(),
        &dir,
        &options(server.base("good")),
        &mut NoProgress,
    )
    .expect("good download");
    let FetchOutcome::Downloaded {
        path,
        bytes,
        sha256,
        verified,
        url,
    } = outcome
    else {
        panic!("expected a download, got {outcome:?}")
    };
    assert_eq!(path, dir.join("realesr-animevideov3.pth"));
    assert_eq!(
        url,
        format!("{}/realesr-animevideov3.pth", server.base("good"))
    );
    assert_eq!(bytes, 2_504_012);
    assert_eq!(sha256, ANIME_SHA256);
    assert!(verified);
    assert_eq!(std::fs::read(&path).expect("read cached"), body);
    assert_eq!(listing(&dir), vec!["realesr-animevideov3.pth"]);
    assert_eq!(server.requests(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o644,
            "cached models are readable like any file"
        );
    }

    // Cached and intact: no request, the file is reported as already there.
    let again = fetch(
        anime(),
        &dir,
        &options(server.base("good")),
        &mut NoProgress,
    )
    .expect("second fetch");
    assert_eq!(again, FetchOutcome::AlreadyCached { path: path.clone() });
    assert_eq!(server.requests(), 1);

    // --force downloads again.
    let forced = FetchOptions {
        force: true,
        ..options(server.base("good"))
    };
    let outcome = fetch(anime(), &dir, &forced, &mut NoProgress).expect("forced fetch");
    assert!(matches!(outcome, FetchOutcome::Downloaded { .. }));
    assert_eq!(server.requests(), 2);
    assert_eq!(listing(&dir), vec!["realesr-animevideov3.pth"]);
}

#[test]
fn progress_sees_every_byte() {
    struct Count {
        total: Option<u64>,
        seen: u64,
        finished: bool,
    }
    impl registry::FetchProgress for Count {
        fn start(&mut self, _url: &str, total: Option<u64>) {
            self.total = total;
        }
        fn advance(&mut self, bytes: u64) {
            self.seen += bytes;
        }
        fn finish(&mut self) {
            self.finished = true;
        }
    }
    let Some((_, server)) = setup(1) else { return };
    let cache = tempfile::tempdir().expect("tempdir");
    let mut count = Count {
        total: None,
        seen: 0,
        finished: false,
    };
    fetch(
        anime(),
        cache.path(),
        &options(server.base("good")),
        &mut count,
    )
    .expect("download");
    assert_eq!(
        (count.total, count.seen, count.finished),
        (Some(2_504_012), 2_504_012, true)
    );
}

#[test]
fn corrupted_body_fails_the_hash_and_leaves_nothing() {
    let Some((_, server)) = setup(1) else { return };
    let cache = tempfile::tempdir().expect("tempdir");
    let error = fetch(
        anime(),
        cache.path(),
        &options(server.base("corrupt")),
        &mut NoProgress,
    )
    .expect_err("a corrupted body must fail");
    match &error {
        RegistryError::HashMismatch {
            expected, actual, ..
        } => {
            assert_eq!(*expected, ANIME_SHA256);
            assert_ne!(actual, ANIME_SHA256);
        }
        other => panic!("expected HashMismatch, got {other:?}"),
    }
    assert_one_line(&error);
    assert!(
        listing(cache.path()).is_empty(),
        "left behind: {:?}",
        listing(cache.path())
    );
}

#[test]
fn connection_closed_mid_body_fails_and_leaves_nothing() {
    let Some((_, server)) = setup(1) else { return };
    let cache = tempfile::tempdir().expect("tempdir");
    let error = fetch(
        anime(),
        cache.path(),
        &options(server.base("truncated")),
        &mut NoProgress,
    )
    .expect_err("a truncated body must fail");
    assert!(matches!(error, RegistryError::Http { .. }), "got {error:?}");
    assert_one_line(&error);
    assert!(
        listing(cache.path()).is_empty(),
        "left behind: {:?}",
        listing(cache.path())
    );
}

#[test]
fn short_bodies_fail_the_size_check_and_leave_nothing() {
    let Some((_, server)) = setup(2) else { return };
    for behaviour in ["short", "unsized"] {
        let cache = tempfile::tempdir().expect("tempdir");
        let error = fetch(
            anime(),
            cache.path(),
            &options(server.base(behaviour)),
            &mut NoProgress,
        )
        .expect_err("a short body must fail");
        match &error {
            RegistryError::SizeMismatch {
                expected, actual, ..
            } => {
                assert_eq!((*expected, *actual), (2_504_012, 1_252_006), "{behaviour}");
            }
            other => panic!("{behaviour}: expected SizeMismatch, got {other:?}"),
        }
        assert_one_line(&error);
        assert!(
            listing(cache.path()).is_empty(),
            "{behaviour} left {:?}",
            listing(cache.path())
        );
    }
}

#[test]
fn not_found_is_a_one_line_error() {
    let Some((_, server)) = setup(1) else { return };
    let cache = tempfile::tempdir().expect("tempdir");
    let error = fetch(
        anime(),
        cache.path(),
        &options(server.base("missing")),
        &mut NoProgress,
    )
    .expect_err("404 must fail");
    assert!(
        matches!(error, RegistryError::HttpStatus { status: 404, .. }),
        "got {error:?}"
    );
    assert_one_line(&error);
    assert!(error.to_string().contains("404"));
    assert!(listing(cache.path()).is_empty());
}

#[test]
fn redirects_are_followed_and_loops_stop() {
    let Some((body, server)) = setup(16) else {
        return;
    };
    let cache = tempfile::tempdir().expect("tempdir");
    let outcome = fetch(
        anime(),
        cache.path(),
        &options(server.base("redirect")),
        &mut NoProgress,
    )
    .expect("download through a redirect");
    assert!(
        matches!(outcome, FetchOutcome::Downloaded { .. }),
        "got {outcome:?}"
    );
    assert_eq!(
        std::fs::read(cache.path().join("realesr-animevideov3.pth")).expect("read"),
        body
    );
    assert_eq!(server.requests(), 2);

    let other = tempfile::tempdir().expect("tempdir");
    let error = fetch(
        anime(),
        other.path(),
        &options(server.base("loop")),
        &mut NoProgress,
    )
    .expect_err("a redirect loop must fail");
    assert!(matches!(error, RegistryError::Http { .. }), "got {error:?}");
    assert_one_line(&error);
    assert!(listing(other.path()).is_empty());
}

#[test]
fn a_damaged_cached_file_is_reported_and_force_replaces_it() {
    let Some((body, server)) = setup(2) else {
        return;
    };
    let cache = tempfile::tempdir().expect("tempdir");
    let cached = cache.path().join("realesr-animevideov3.pth");
    let mut damaged = body.clone();
    damaged[1000] ^= 0x80;
    std::fs::write(&cached, &damaged).expect("write damaged copy");

    let error = fetch(
        anime(),
        cache.path(),
        &options(server.base("good")),
        &mut NoProgress,
    )
    .expect_err("a damaged cached file must be reported");
    assert!(
        matches!(error, RegistryError::CachedMismatch { .. }),
        "got {error:?}"
    );
    assert!(error.to_string().contains("--force"));
    assert_eq!(server.requests(), 0);

    // A failed forced download keeps the old file untouched (only success renames).
    let forced_corrupt = FetchOptions {
        force: true,
        ..options(server.base("corrupt"))
    };
    fetch(anime(), cache.path(), &forced_corrupt, &mut NoProgress).expect_err("corrupt body");
    assert_eq!(std::fs::read(&cached).expect("read"), damaged);
    assert_eq!(listing(cache.path()), vec!["realesr-animevideov3.pth"]);

    let forced = FetchOptions {
        force: true,
        ..options(server.base("good"))
    };
    fetch(anime(), cache.path(), &forced, &mut NoProgress).expect("forced good download");
    assert_eq!(std::fs::read(&cached).expect("read"), body);
}

#[test]
fn unknown_official_hash_is_refused_unless_allowed() {
    // Same release file, but an entry that does not know its hash (like a future model).
    let unverified: &'static KnownModel = Box::leak(Box::new(KnownModel {
        name: "test-unverified",
        sha256: None,
        size: None,
        ..*anime()
    }));

    let Some((body, server)) = setup(1) else {
        return;
    };
    let cache = tempfile::tempdir().expect("tempdir");
    let error = fetch(
        unverified,
        cache.path(),
        &options(server.base("good")),
        &mut NoProgress,
    )
    .expect_err("unverified must be refused");
    assert!(
        matches!(error, RegistryError::UnverifiedRefused { .. }),
        "got {error:?}"
    );
    assert!(error.to_string().contains("--allow-unverified"));
    assert_eq!(server.requests(), 0);

    let allowed = FetchOptions {
        allow_unverified: true,
        ..options(server.base("good"))
    };
    let outcome = fetch(unverified, cache.path(), &allowed, &mut NoProgress).expect("allowed");
    let FetchOutcome::Downloaded {
        verified, sha256, ..
    } = outcome
    else {
        panic!("expected a download, got {outcome:?}")
    };
    assert!(!verified);
    assert_eq!(sha256, ANIME_SHA256);
    assert_eq!(
        std::fs::read(cache.path().join("realesr-animevideov3.pth")).expect("read"),
        body
    );
}

#[test]
fn manual_models_explain_instead_of_downloading() {
    let cache = tempfile::tempdir().expect("tempdir");
    let rife = registry::lookup("rife-v4.26").expect("catalogue has rife-v4.26");
    assert!(matches!(rife.source, Source::Manual { .. }));
    let error = fetch(
        rife,
        cache.path(),
        &FetchOptions::default(),
        &mut NoProgress,
    )
    .expect_err("manual download");
    let text = error.to_string();
    assert!(
        matches!(error, RegistryError::ManualDownload { .. }),
        "got {error:?}"
    );
    assert!(!text.contains('\n'));
    assert!(
        text.contains("drive.google.com") && text.contains("rife-v4.26/flownet.pkl"),
        "{text}"
    );
    assert!(listing(cache.path()).is_empty());
}

#[test]
fn stale_temporary_downloads_are_cleaned_up() {
    let Some((_, server)) = setup(1) else { return };
    let cache = tempfile::tempdir().expect("tempdir");
    let stale = cache.path().join(".upframe-download-killed.part");
    let fresh = cache.path().join(".upframe-download-running.part");
    std::fs::write(&stale, b"left by a killed process").expect("write");
    std::fs::write(&fresh, b"another download in progress").expect("write");
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .and_then(|f| f.set_modified(two_hours_ago))
        .expect("age the stale file");
    fetch(
        anime(),
        cache.path(),
        &options(server.base("good")),
        &mut NoProgress,
    )
    .expect("download");
    assert_eq!(
        listing(cache.path()),
        vec![".upframe-download-running.part", "realesr-animevideov3.pth"]
    );
}

#[test]
fn an_unreachable_host_says_where_to_put_a_manual_download() {
    // A loopback port nobody listens on: the connection is refused, as with no network.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1")
        .port();
    let cache = tempfile::tempdir().expect("tempdir");
    let base = format!("http://127.0.0.1:{port}");
    let error = fetch(
        anime(),
        cache.path(),
        &options(base.clone()),
        &mut NoProgress,
    )
    .expect_err("nothing listens there");
    let RegistryError::Http {
        official_url,
        destination,
        ..
    } = &error
    else {
        panic!("expected an HTTP error, got {error:?}")
    };
    assert_eq!(Some(*official_url), anime().source.url());
    assert_eq!(destination, &cache.path().join("realesr-animevideov3.pth"));
    assert_one_line(&error);
    let text = error.to_string();
    for part in [
        format!("{base}/realesr-animevideov3.pth"),
        "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-animevideov3.pth"
            .to_string(),
        destination.display().to_string(),
    ] {
        assert!(text.contains(&part), "{part} missing from: {text}");
    }
    assert!(listing(cache.path()).is_empty());
}

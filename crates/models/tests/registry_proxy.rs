//! `fetch` honours HTTPS_PROXY (through an HTTP CONNECT tunnel) and NO_PROXY. This is its own
//! test binary with a single test because it changes the process environment.

mod registry_support;

use registry_support::{shared_models_dir, TestServer};
use upframe_models::registry::{
    self, fetch, FetchOptions, FetchOutcome, NoProgress, RegistryError,
};

#[test]
fn downloads_go_through_the_proxy_unless_no_proxy_says_otherwise() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let body = std::fs::read(dir.join("realesr-animevideov3.pth")).expect("read shared weights");
    let proxy = TestServer::start(body.clone(), 2);
    let anime = registry::lookup("realesr-animevideov3").expect("catalogue entry");
    for key in [
        "ALL_PROXY",
        "all_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "no_proxy",
    ] {
        std::env::remove_var(key);
    }
    std::env::set_var("HTTPS_PROXY", &proxy.address);
    std::env::set_var("NO_PROXY", "localhost");

    // `.invalid` never resolves (RFC 6761): only the proxy can reach it.
    let options = FetchOptions {
        base_url: Some("http://models.invalid:8080/good".to_string()),
        ..FetchOptions::default()
    };
    let cache = tempfile::tempdir().expect("tempdir");
    let outcome = fetch(anime, cache.path(), &options, &mut NoProgress).expect("via the proxy");
    assert!(
        matches!(outcome, FetchOutcome::Downloaded { verified: true, .. }),
        "{outcome:?}"
    );
    assert_eq!(
        std::fs::read(cache.path().join("realesr-animevideov3.pth")).expect("read"),
        body
    );
    assert_eq!(proxy.connect_targets(), vec!["models.invalid:8080"]);

    // NO_PROXY sends the request direct, where the name cannot resolve.
    std::env::set_var("NO_PROXY", "models.invalid");
    let other = tempfile::tempdir().expect("tempdir");
    let error = fetch(anime, other.path(), &options, &mut NoProgress).expect_err("no route");
    assert!(matches!(error, RegistryError::Http { .. }), "got {error:?}");
    assert_eq!(
        proxy.requests(),
        1,
        "the proxy must not see the NO_PROXY request"
    );
    assert!(std::fs::read_dir(other.path())
        .expect("read_dir")
        .next()
        .is_none());
    std::env::remove_var("HTTPS_PROXY");
    std::env::remove_var("NO_PROXY");
}

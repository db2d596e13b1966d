//! The registry against the real shared model directory: name/alias resolution, the shared
//! assets' substitute layout, helpful errors, model-dir precedence, and `verify_dir` telling the
//! official file from the derived and unverifiable ones.

mod registry_support;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use registry_support::shared_models_dir;
use upframe_models::registry::{
    self, model_dir_with_env, resolve, verify_dir, Origin, RegistryError, VerifyStatus,
    KNOWN_MODELS,
};

const ANIME_SHA256: &str = "b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d";

#[test]
fn names_and_aliases_resolve_to_the_official_file() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    for name in [
        "realesr-animevideov3",
        "animevideov3",
        "REALESR-ANIMEVIDEOV3",
    ] {
        let resolved = resolve(name, Some(&dir)).expect("resolves");
        assert_eq!(
            resolved.path(),
            Some(dir.join("realesr-animevideov3.pth").as_path()),
            "{name}"
        );
        assert_eq!(resolved.origin, Origin::Cache);
        assert_eq!(resolved.model.map(|m| m.name), Some("realesr-animevideov3"));
    }
}

#[test]
fn shared_layout_maps_names_to_the_substitute_files() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let cases = [
        (
            "RealESRGAN_x4plus",
            "derived-from-ncnn-fp16/RealESRGAN_x4plus.ncnn-fp16-derived.pth",
        ),
        (
            "x4plus-anime",
            "derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth",
        ),
        ("rife-v4.26", "rife-v4.25-or-v4.26/flownet.pkl"),
        ("rife", "rife-v4.25-or-v4.26/flownet.pkl"),
        ("rife-v4.25", "rife-v4.25-or-v4.26/flownet.pkl"),
    ];
    for (name, relative) in cases {
        let resolved = resolve(name, Some(&dir)).expect("resolves");
        assert_eq!(
            resolved.path(),
            Some(dir.join(relative).as_path()),
            "{name}"
        );
        let Origin::Substitute(substitute) = resolved.origin else {
            panic!("{name}: expected a substitute, got {:?}", resolved.origin)
        };
        assert_eq!(substitute.relative_path, relative);
    }
    let x4plus = resolve("RealESRGAN_x4plus", Some(&dir)).expect("resolves");
    let Origin::Substitute(substitute) = x4plus.origin else {
        unreachable!()
    };
    assert!(
        substitute.note.contains("not the official"),
        "{}",
        substitute.note
    );
}

#[test]
fn a_known_name_missing_from_the_dir_says_how_to_fetch_it() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let error = resolve("RealESRGAN_x2plus", Some(&dir)).expect_err("x2plus is not shared");
    assert!(matches!(
        error,
        RegistryError::NotCached {
            name: "RealESRGAN_x2plus",
            ..
        }
    ));
    let text = error.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(
        text.contains("upframe models fetch RealESRGAN_x2plus"),
        "{text}"
    );
    assert!(text.contains(&dir.display().to_string()), "{text}");

    let empty = tempfile::tempdir().expect("tempdir");
    let error = resolve("rife-v4.26", Some(empty.path())).expect_err("nothing cached");
    let text = error.to_string();
    assert!(
        text.contains("manual download") && text.contains("rife-v4.26/flownet.pkl"),
        "{text}"
    );
}

#[test]
fn unknown_names_list_the_known_ones_and_suggest_the_closest() {
    let empty = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("realesr-animevideo3", Some("realesr-animevideov3")),
        ("RealESRGAN_x4pluss", Some("RealESRGAN_x4plus")),
        ("realesrgan_x2", Some("RealESRGAN_x2plus")),
        ("rife-v4.6", Some("rife-v4.26")),
        ("totally-different", None),
    ];
    for (query, expected) in cases {
        let error = resolve(query, Some(empty.path())).expect_err("unknown");
        let RegistryError::UnknownModel {
            suggestion, known, ..
        } = &error
        else {
            panic!("{query}: expected UnknownModel, got {error:?}")
        };
        assert_eq!(*suggestion, expected, "{query}");
        for model in KNOWN_MODELS {
            assert!(known.contains(model.name));
        }
        let text = error.to_string();
        assert!(!text.contains('\n') && text.contains(query), "{text}");
    }
}

#[test]
fn existing_paths_win_and_are_recognised() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let file = dir.join("realesr-animevideov3.pth");
    let resolved = resolve(file.to_str().expect("utf-8 path"), None).expect("a path");
    assert_eq!(
        (resolved.path(), resolved.origin),
        (Some(file.as_path()), Origin::UserPath)
    );
    assert_eq!(resolved.model.map(|m| m.name), Some("realesr-animevideov3"));

    // A RIFE train_log-style directory resolves to its flownet.pkl.
    let rife_dir = dir.join("rife-v4.25-or-v4.26");
    let resolved = resolve(rife_dir.to_str().expect("utf-8 path"), None).expect("a dir");
    assert_eq!(
        resolved.path(),
        Some(rife_dir.join("flownet.pkl").as_path())
    );
    assert_eq!(resolved.model.map(|m| m.name), Some("rife-v4.26"));

    let derived =
        dir.join("derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth");
    let resolved = resolve(derived.to_str().expect("utf-8 path"), None).expect("a path");
    assert_eq!(
        resolved.model.map(|m| m.name),
        Some("RealESRGAN_x4plus_anime_6B")
    );

    let error = resolve("no/such/weights.pth", Some(&dir)).expect_err("missing file");
    assert!(
        matches!(error, RegistryError::FileNotFound { .. }),
        "got {error:?}"
    );
}

#[test]
fn model_dir_precedence_is_flag_env_xdg_home() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| OsString::from(*v))
        }
    };
    let all: &[(&str, &str)] = &[
        ("UPFRAME_MODEL_DIR", "/env/models"),
        ("XDG_CACHE_HOME", "/xdg"),
        ("HOME", "/home/u"),
    ];
    let flag = Path::new("/flag/models");
    assert_eq!(
        model_dir_with_env(Some(flag), env(all)).expect("dir"),
        PathBuf::from("/flag/models")
    );
    assert_eq!(
        model_dir_with_env(None, env(all)).expect("dir"),
        PathBuf::from("/env/models")
    );
    let no_env: &[(&str, &str)] = &[
        ("UPFRAME_MODEL_DIR", ""),
        ("XDG_CACHE_HOME", "/xdg"),
        ("HOME", "/home/u"),
    ];
    assert_eq!(
        model_dir_with_env(None, env(no_env)).expect("dir"),
        PathBuf::from("/xdg/upframe/models")
    );
    // A relative XDG_CACHE_HOME is invalid per the spec and ignored.
    let relative_xdg: &[(&str, &str)] = &[("XDG_CACHE_HOME", "cache"), ("HOME", "/home/u")];
    assert_eq!(
        model_dir_with_env(None, env(relative_xdg)).expect("dir"),
        PathBuf::from("/home/u/.cache/upframe/models")
    );
    let nothing: &[(&str, &str)] = &[];
    assert!(matches!(
        model_dir_with_env(None, env(nothing)),
        Err(RegistryError::NoModelDir)
    ));
}

#[test]
fn verify_tells_official_from_derived_and_unverifiable() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let all: Vec<_> = KNOWN_MODELS.iter().collect();
    let reports = verify_dir(&dir, &all).expect("verify shared dir");
    let find = |relative: &str| {
        reports
            .iter()
            .find(|r| r.path == dir.join(relative))
            .unwrap_or_else(|| panic!("{relative} not reported: {reports:#?}"))
    };
    assert_eq!(reports.len(), 4, "{reports:#?}");

    let anime = find("realesr-animevideov3.pth");
    assert_eq!(anime.status, VerifyStatus::Official);
    assert_eq!(anime.sha256, ANIME_SHA256);
    assert_eq!(anime.size, 2_504_012);
    assert!(!anime.is_problem());

    for (relative, model) in [
        (
            "derived-from-ncnn-fp16/RealESRGAN_x4plus.ncnn-fp16-derived.pth",
            "RealESRGAN_x4plus",
        ),
        (
            "derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth",
            "RealESRGAN_x4plus_anime_6B",
        ),
    ] {
        let derived = find(relative);
        assert_eq!(derived.models, vec![model]);
        assert_eq!(derived.status, VerifyStatus::NotOfficial, "{relative}");
        assert_eq!(derived.matches_substitute, Some(true), "{relative}");
        assert_ne!(Some(derived.sha256.as_str()), derived.official_sha256);
        assert!(
            !derived.is_problem(),
            "a known substitute is expected to differ"
        );
    }

    let rife = find("rife-v4.25-or-v4.26/flownet.pkl");
    assert_eq!(rife.status, VerifyStatus::NoOfficialHash);
    assert_eq!(rife.models, vec!["rife-v4.26", "rife-v4.25"]);
    assert_eq!(rife.matches_substitute, Some(true));
    assert_eq!(rife.size, 24_623_147);

    assert!(registry::unrecognised_files(&dir).is_empty());
}

#[test]
fn verify_flags_a_damaged_official_file() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let cache = tempfile::tempdir().expect("tempdir");
    let mut bytes = std::fs::read(dir.join("realesr-animevideov3.pth")).expect("read");
    bytes[12345] ^= 0x10;
    std::fs::write(cache.path().join("realesr-animevideov3.pth"), &bytes).expect("write");
    std::fs::write(
        cache.path().join("my-own-model.pth"),
        b"not a registry model",
    )
    .expect("write");
    let anime = registry::lookup("animevideov3").expect("alias");
    let reports = verify_dir(cache.path(), &[anime]).expect("verify");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].status, VerifyStatus::NotOfficial);
    assert_eq!(reports[0].origin, Origin::Cache);
    assert!(reports[0].is_problem());
    assert_eq!(
        registry::unrecognised_files(cache.path()),
        vec![cache.path().join("my-own-model.pth")]
    );
}

#[test]
fn the_embedded_model_stands_in_when_the_model_dir_has_no_file() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let empty = tempfile::tempdir().expect("tempdir");
    let resolved = resolve("animevideov3", Some(empty.path())).expect("embedded");
    assert_eq!(resolved.origin, Origin::Embedded);
    assert_eq!(resolved.path(), None);
    assert_eq!(resolved.model.map(|m| m.name), Some("realesr-animevideov3"));
    assert!(
        resolved.describe().contains("embedded"),
        "{}",
        resolved.describe()
    );
    // Byte-identical to the official file: same hash (the resume key), same tensors.
    let file = dir.join("realesr-animevideov3.pth");
    let (hash, size) = resolved.sha256().expect("hash");
    assert_eq!((hash.as_str(), size), (ANIME_SHA256, 2_504_012));
    assert_eq!(registry::sha256_file(&file).expect("hash").0, hash);
    let embedded = resolved.load_weights().expect("loads");
    let from_file = upframe_models::load_weights(&file).expect("loads");
    assert_eq!(embedded.len(), from_file.len());
    for (key, tensor) in from_file.iter() {
        let other = embedded.get(key).expect("same keys");
        assert_eq!(
            (&other.shape, &other.data),
            (&tensor.shape, &tensor.data),
            "{key}"
        );
    }

    // A file in the model directory wins.
    let cached = resolve("realesr-animevideov3", Some(&dir)).expect("cached");
    assert_eq!(cached.origin, Origin::Cache);
    assert_eq!(
        registry::locate(resolved.model.expect("known"), empty.path()).expect("embedded"),
        resolved
    );
}

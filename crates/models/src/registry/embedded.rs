//! Weights built into the binary: the official `realesr-animevideov3.pth` (BSD-3-Clause,
//! Real-ESRGAN; `crates/models/weights/`), so an AI upscale works with no download, no network
//! and no model cache. The bytes are the release file's, so they hash to the catalogue's
//! official sha256 (tested) and load through the same `.pth` reader as a file.

use super::KnownModel;

/// One model file compiled into the binary.
#[derive(Debug, PartialEq, Eq)]
pub struct EmbeddedModel {
    /// The catalogue name it stands for.
    pub name: &'static str,
    /// The official file name (what a copy on disk would be called).
    pub file_name: &'static str,
    /// The file's bytes.
    pub bytes: &'static [u8],
}

/// Every embedded model.
pub static EMBEDDED_MODELS: &[EmbeddedModel] = &[EmbeddedModel {
    name: "realesr-animevideov3",
    file_name: "realesr-animevideov3.pth",
    bytes: include_bytes!("../../weights/realesr-animevideov3.pth"),
}];

/// The embedded copy of `model`, when it has one.
pub fn embedded(model: &KnownModel) -> Option<&'static EmbeddedModel> {
    EMBEDDED_MODELS.iter().find(|e| e.name == model.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{lookup, sha256_bytes};

    #[test]
    fn embedded_bytes_are_the_official_release_file() {
        for copy in EMBEDDED_MODELS {
            let model = lookup(copy.name).expect("catalogue entry");
            assert_eq!(embedded(model), Some(copy));
            let (sha256, size) = sha256_bytes(copy.bytes);
            assert_eq!(Some(sha256.as_str()), model.sha256, "{}", copy.name);
            assert_eq!(Some(size), model.size, "{}", copy.name);
            assert!(model.cache_path.ends_with(copy.file_name));
        }
        let anime = lookup("realesr-animevideov3").expect("catalogue entry");
        let copy = embedded(anime).expect("realesr-animevideov3 is embedded");
        assert_eq!(
            sha256_bytes(copy.bytes).0,
            "b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d"
        );
    }

    #[test]
    fn embedded_weights_load_through_the_pth_reader() {
        let copy = &EMBEDDED_MODELS[0];
        let state = crate::parse_pth_bytes(copy.bytes).expect("parses");
        let model = crate::model_from_state_dict(&state).expect("builds");
        assert_eq!(model.info.arch_name(), "SRVGGNetCompact");
        assert_eq!(model.info.scale, 4);
        assert_eq!(model.info.parameters, 621_424);
    }
}

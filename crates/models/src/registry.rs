//! The registry of known models (name, official URL, size, sha256, license, scale) and the local
//! model cache (XDG conventions, `--model-dir`, `UPFRAME_MODEL_DIR`).

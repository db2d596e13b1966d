//! Fuzz target: safetensors bytes through `parse_safetensors_bytes` (header JSON, offsets, dtypes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = upframe_models::safetensors_io::parse_safetensors_bytes(data) {
        for (_, tensor) in file.tensors.iter() {
            let numel: usize = tensor.shape.iter().product();
            assert_eq!(numel, tensor.data.len());
        }
    }
});

//! Fuzz target: a whole `.pth` checkpoint (zip container + restricted pickle + tensor storages)
//! through `parse_pth_bytes`. Any input must give `Ok` or a `ModelError`: no panic, no hang, no
//! unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(state) = upframe_models::parse_pth_bytes(data) {
        // Touch every materialised tensor so a shape/data mismatch would surface here.
        for (_, tensor) in state.iter() {
            let numel: usize = tensor.shape.iter().product();
            assert_eq!(numel, tensor.data.len());
        }
    }
});

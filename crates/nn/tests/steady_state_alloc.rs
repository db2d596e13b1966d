//! Steady state allocates nothing of our own: after warm-up frames, running the same
//! convolutions and resampling ops again with outputs from a `Workspace` makes zero heap
//! allocations in our kernels (Winograd conv, ops, workspace), counted by a global allocator
//! wrapper. The `gemm` crate, which the general convolution path calls, allocates one packing
//! buffer per call internally; that count is checked to be constant.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use upframe_nn::{ops, Conv2d, ConvTranspose2d, Epilogue, Tensor, Workspace};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn ramp(shape: [usize; 4]) -> Tensor {
    let len = shape.iter().product();
    Tensor::from_vec(
        shape,
        (0..len).map(|i| ((i % 17) as f32 - 8.0) / 9.0).collect(),
    )
}

fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::SeqCst)
}

struct Layers {
    down: Conv2d,
    res: Conv2d,
    last: Conv2d,
    up: ConvTranspose2d,
}

/// One "frame" of a small RIFE-like chain, every output drawn from the workspace. Returns the
/// heap allocations made by (our own kernels: Winograd conv, resampling ops, workspace; the
/// GEMM-path convolutions).
fn frame(ws: &mut Workspace, l: &Layers, img: &Tensor, flow: &Tensor) -> (usize, usize) {
    let n0 = allocations();
    let a = l.down.forward_ws(img, &Epilogue::leaky_relu(0.2), ws);
    let n1 = allocations();
    let b = l
        .res
        .forward_ws(&a, &Epilogue::leaky_relu(0.2).with_residual(&a), ws);
    let mut small = ws.tensor([1, img.h() / 4, img.w() / 4, 3]);
    ops::resize_bilinear_into(img, Some(0.25), &mut small);
    let mut warped = ws.tensor(img.shape());
    ops::warp_into(img, flow, 0, &mut warped);
    let n2 = allocations();
    let c = l.last.forward_ws(&b, &Epilogue::none(), ws);
    let d = l.up.forward_ws(&c, &Epilogue::none(), ws);
    let n3 = allocations();
    for t in [a, b, c, d, small, warped] {
        ws.recycle(t);
    }
    let n4 = allocations();
    (n2 - n1 + n4 - n3, n1 - n0 + n3 - n2)
}

#[test]
fn steady_state_frames_do_not_allocate() {
    let w = |o: usize, i: usize, k: usize| ramp([o, i, k, k]).into_vec();
    let layers = Layers {
        down: Conv2d::new(&w(32, 3, 3), [32, 3, 3, 3], None, 2, 1).unwrap(),
        res: Conv2d::new(&w(32, 32, 3), [32, 32, 3, 3], None, 1, 1).unwrap(),
        last: Conv2d::new(&w(4, 32, 3), [4, 32, 3, 3], None, 1, 1).unwrap(),
        up: ConvTranspose2d::new(&w(4, 4, 4), [4, 4, 4, 4], None, 2, 1).unwrap(),
    };
    let img = ramp([1, 96, 128, 3]);
    let flow = ramp([1, 96, 128, 2]);
    let mut ws = Workspace::new();
    // Warm up: the workspace and every rayon worker's scratch reach their final sizes.
    for _ in 0..10 {
        frame(&mut ws, &layers, &img, &flow);
    }
    let (own, gemm_path) = frame(&mut ws, &layers, &img, &flow);
    assert_eq!(
        own, 0,
        "heap allocations by our kernels in a steady-state frame"
    );
    // The `gemm` crate allocates its packing buffer inside each call it packs for: a
    // constant number per frame (one per GEMM block), never growing.
    let (_, again) = frame(&mut ws, &layers, &img, &flow);
    eprintln!("gemm-path convolutions: {gemm_path} allocations per frame (inside the gemm crate)");
    assert_eq!(again, gemm_path, "gemm-path allocations must not grow");
    assert_eq!(ws.allocations(), 6, "workspace buffers");
}

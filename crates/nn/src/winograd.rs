//! Fast 3×3 stride-1 convolution (Winograd / tuned GEMM formulation) with SIMD dispatch.

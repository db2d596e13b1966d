// 2-D convolution (and transposed convolution) over NHWC tensors with the fused epilogue of
// upframe-nn
// (`y = act((sum + bias) * scale + residual) * post_scale + post`).
// Weights are HWIO with the output channels padded to a multiple of four (`cout4` vec4s per
// input channel). `conv` is register-blocked (below); `conv_transpose` computes four
// consecutive output channels of one output pixel per invocation.
// The prelude defines `S` (f32 or f16 storage) and `S_MAX`. Sums are f32.

struct Params {
    n: u32, h: u32, w: u32, cin: u32,
    oh: u32, ow: u32, cout: u32, cout4: u32,
    kh: u32, kw: u32, stride: u32, pad: u32,
    // bit 0: channel scale, bit 1: residual, bit 2: post add
    flags: u32,
    // 0 none, 1 relu, 2 leaky relu, 3 prelu, 4 sigmoid
    act: u32,
    slope: f32,
    post_scale: f32,
    scale_off: u32, slope_off: u32, nslopes: u32, total: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<S>;
@group(0) @binding(2) var<storage, read> wt: array<vec4<S>>;
// [bias (cout) | channel scale (cout) | prelu slopes (nslopes)], f32.
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> res: array<S>;
@group(0) @binding(5) var<storage, read> post: array<S>;
@group(0) @binding(6) var<storage, read_write> y: array<S>;

fn sigmoid(t: f32) -> f32 {
    if (t >= 0.0) {
        return 1.0 / (1.0 + exp(-t));
    }
    let e = exp(t);
    return e / (1.0 + e);
}

// The fused epilogue for output pixel `pix`, channels `4g .. 4g + 4`, then the store.
fn finish(pix: u32, g: u32, acc: vec4<f32>) {
    let c0 = g * 4u;
    for (var j = 0u; j < 4u; j++) {
        let c = c0 + j;
        if (c >= p.cout) {
            break;
        }
        let o = pix * p.cout + c;
        var val = acc[j] + v[c];
        if ((p.flags & 1u) != 0u) {
            val *= v[p.scale_off + c];
        }
        if ((p.flags & 2u) != 0u) {
            val += f32(res[o]);
        }
        switch p.act {
            case 1u: {
                val = max(val, 0.0);
            }
            case 2u: {
                if (val < 0.0) {
                    val *= p.slope;
                }
            }
            case 3u: {
                if (val < 0.0) {
                    val *= v[p.slope_off + select(c, 0u, p.nslopes == 1u)];
                }
            }
            case 4u: {
                val = sigmoid(val);
            }
            default: {}
        }
        if ((p.flags & 4u) != 0u) {
            val = val * p.post_scale + f32(post[o]);
        }
        y[o] = S(clamp(val, -S_MAX, S_MAX));
    }
}

// Register blocking: one invocation computes BX = 4 horizontally adjacent output pixels × BG = 2
// vec4 groups (8 output channels), so each weight vec4 loaded serves 4 pixels and each input
// value 8 channels (6 loads per 8 vec4 FMAs instead of 2 per 1). `CONV_BLOCK` in backend.rs
// mirrors (BX, BG). Taps outside the input (padding, or pixels of a partial block past `ow`)
// read a clamped in-bounds address and contribute an exact 0, so the sums are the
// unblocked kernel's, in its order (ky, kx, ci).
@compute @workgroup_size(64)
fn conv(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * 64u;
    if (idx >= p.total) {
        return;
    }
    let ng = (p.cout4 + 1u) / 2u;
    let g0 = (idx % ng) * 2u;
    // With an odd group count the last block's second group repeats the first (in-bounds
    // weights); it is not stored.
    let g1 = min(g0 + 1u, p.cout4 - 1u);
    let blk = idx / ng;
    let owb = (p.ow + 3u) / 4u;
    let ox = (blk % owb) * 4u;
    let row = blk / owb;
    let oy = row % p.oh;
    let b = row / p.oh;
    let st = i32(p.stride);
    let w = i32(p.w);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var b0 = vec4<f32>(0.0);
    var b1 = vec4<f32>(0.0);
    var b2 = vec4<f32>(0.0);
    var b3 = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = i32(oy * p.stride + ky) - i32(p.pad);
        if (iy < 0 || iy >= i32(p.h)) {
            continue;
        }
        let rb = (b * p.h + u32(iy)) * p.w;
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix0 = i32(ox * p.stride + kx) - i32(p.pad);
            let ix1 = ix0 + st;
            let ix2 = ix1 + st;
            let ix3 = ix2 + st;
            let in0 = ix0 >= 0 && ix0 < w;
            let in1 = ix1 >= 0 && ix1 < w;
            let in2 = ix2 >= 0 && ix2 < w;
            let in3 = ix3 >= 0 && ix3 < w;
            if (!(in0 || in1 || in2 || in3)) {
                continue;
            }
            let x0 = (rb + u32(clamp(ix0, 0, w - 1))) * p.cin;
            let x1 = (rb + u32(clamp(ix1, 0, w - 1))) * p.cin;
            let x2 = (rb + u32(clamp(ix2, 0, w - 1))) * p.cin;
            let x3 = (rb + u32(clamp(ix3, 0, w - 1))) * p.cin;
            var wi = (ky * p.kw + kx) * p.cin * p.cout4;
            for (var ci = 0u; ci < p.cin; ci++) {
                let w0 = vec4<f32>(wt[wi + g0]);
                let w1 = vec4<f32>(wt[wi + g1]);
                wi += p.cout4;
                let v0 = select(0.0, f32(x[x0 + ci]), in0);
                let v1 = select(0.0, f32(x[x1 + ci]), in1);
                let v2 = select(0.0, f32(x[x2 + ci]), in2);
                let v3 = select(0.0, f32(x[x3 + ci]), in3);
                a0 += v0 * w0;
                b0 += v0 * w1;
                a1 += v1 * w0;
                b1 += v1 * w1;
                a2 += v2 * w0;
                b2 += v2 * w1;
                a3 += v3 * w0;
                b3 += v3 * w1;
            }
        }
    }
    let pix = row * p.ow + ox;
    let second = g0 + 1u < p.cout4;
    finish(pix, g0, a0);
    if (second) {
        finish(pix, g1, b0);
    }
    if (ox + 1u < p.ow) {
        finish(pix + 1u, g0, a1);
        if (second) {
            finish(pix + 1u, g1, b1);
        }
    }
    if (ox + 2u < p.ow) {
        finish(pix + 2u, g0, a2);
        if (second) {
            finish(pix + 2u, g1, b2);
        }
    }
    if (ox + 3u < p.ow) {
        finish(pix + 3u, g0, a3);
        if (second) {
            finish(pix + 3u, g1, b3);
        }
    }
}

// ConvTranspose2d (no output padding): output (oy, ox) gathers input (iy, ix) through tap
// (ky, kx) where oy = iy·stride − pad + ky. Weights are `[kh][kw][cin][cout4]` like `conv`'s.
@compute @workgroup_size(64)
fn conv_transpose(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * 64u;
    if (idx >= p.total) {
        return;
    }
    let g = idx % p.cout4;
    let pix = idx / p.cout4;
    let ox = pix % p.ow;
    let t = pix / p.ow;
    let oy = t % p.oh;
    let b = t / p.oh;
    let s = i32(p.stride);
    var acc = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let ty = i32(oy + p.pad) - i32(ky);
        if (ty < 0 || ty % s != 0 || ty / s >= i32(p.h)) {
            continue;
        }
        let iy = u32(ty / s);
        for (var kx = 0u; kx < p.kw; kx++) {
            let tx = i32(ox + p.pad) - i32(kx);
            if (tx < 0 || tx % s != 0 || tx / s >= i32(p.w)) {
                continue;
            }
            let ix = u32(tx / s);
            let xb = ((b * p.h + iy) * p.w + ix) * p.cin;
            let wb = (ky * p.kw + kx) * p.cin * p.cout4 + g;
            for (var ci = 0u; ci < p.cin; ci++) {
                acc += f32(x[xb + ci]) * vec4<f32>(wt[wb + ci * p.cout4]);
            }
        }
    }
    finish(pix, g, acc);
}

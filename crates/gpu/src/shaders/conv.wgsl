// 2-D convolution (and transposed convolution) over NHWC tensors with the fused epilogue of
// upframe-nn
// (`y = act((sum + bias) * scale + residual) * post_scale + post`).
// One invocation computes four consecutive output channels of one output pixel; weights are
// HWIO with the output channels padded to a multiple of four (`cout4` vec4s per input channel).
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

@compute @workgroup_size(64)
fn conv(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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
    var acc = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = i32(oy * p.stride + ky) - i32(p.pad);
        if (iy < 0 || iy >= i32(p.h)) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = i32(ox * p.stride + kx) - i32(p.pad);
            if (ix < 0 || ix >= i32(p.w)) {
                continue;
            }
            let xb = ((b * p.h + u32(iy)) * p.w + u32(ix)) * p.cin;
            let wb = (ky * p.kw + kx) * p.cin * p.cout4 + g;
            for (var ci = 0u; ci < p.cin; ci++) {
                acc += f32(x[xb + ci]) * vec4<f32>(wt[wb + ci * p.cout4]);
            }
        }
    }
    finish(pix, g, acc);
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

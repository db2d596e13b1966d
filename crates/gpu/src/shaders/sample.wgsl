// RIFE's resampling and element-wise kernels over NHWC tensors, one invocation per output
// element (`total` of them): bilinear resize, backward warp, channel gather, channel scaling and
// combining, fill, sigmoid, blend, the refinement residual. Inputs are bound at 1–3 (a
// placeholder where unused), the output at 4. The prelude defines `S` and `S_MAX`; arithmetic
// is f32.

struct Params {
    // `a`'s shape
    n: u32, h: u32, w: u32, c: u32,
    // the output's height, width, channels; invocations
    oh: u32, ow: u32, oc: u32, total: u32,
    // `a`'s first channel, the output's first channel, channels per pixel moved, and a
    // kernel-specific count (warp: flow channels; blend: mask channels)
    c0: u32, c1: u32, len: u32, extra: u32,
    f0: f32, f1: f32, f2: f32, f3: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<S>;
@group(0) @binding(2) var<storage, read> b2: array<S>;
@group(0) @binding(3) var<storage, read> b3: array<S>;
@group(0) @binding(4) var<storage, read_write> out: array<S>;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}

fn store(i: u32, v: f32) {
    out[i] = S(clamp(v, -S_MAX, S_MAX));
}

fn sigmoid(t: f32) -> f32 {
    if (t >= 0.0) {
        return 1.0 / (1.0 + exp(-t));
    }
    let e = exp(t);
    return e / (1.0 + e);
}

struct Tap {
    i0: u32,
    i1: u32,
    l0: f32,
    l1: f32,
}

// PyTorch's compute_indices_weights_linear (align_corners = False) for output coordinate `o`;
// `ratio` is 1 / scale_factor as f32.
fn linear_tap(o: u32, inp: u32, outp: u32, ratio: f32) -> Tap {
    if (inp == outp) {
        return Tap(o, o, 1.0, 0.0);
    }
    let real = max(ratio * (f32(o) + 0.5) - 0.5, 0.0);
    let i0 = min(u32(floor(real)), inp - 1u);
    let l1 = clamp(real - f32(i0), 0.0, 1.0);
    let i1 = i0 + select(0u, 1u, i0 < inp - 1u);
    return Tap(i0, i1, 1.0 - l1, l1);
}

// F.interpolate(a, scale_factor = 1 / f0, mode = "bilinear", align_corners = False).
@compute @workgroup_size(64)
fn resize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    let c = p.c;
    let ch = i % c;
    let t = i / c;
    let ox = t % p.ow;
    let t2 = t / p.ow;
    let oy = t2 % p.oh;
    let b = t2 / p.oh;
    let ty = linear_tap(oy, p.h, p.oh, p.f0);
    let tx = linear_tap(ox, p.w, p.ow, p.f0);
    let r0 = (b * p.h + ty.i0) * p.w;
    let r1 = (b * p.h + ty.i1) * p.w;
    // PyTorch's order: along x in each row, then along y.
    let top = f32(a[(r0 + tx.i0) * c + ch]) * tx.l0 + f32(a[(r0 + tx.i1) * c + ch]) * tx.l1;
    let bottom = f32(a[(r1 + tx.i0) * c + ch]) * tx.l0 + f32(a[(r1 + tx.i1) * c + ch]) * tx.l1;
    store(i, top * ty.l0 + bottom * ty.l1);
}

// torch.linspace(-1, 1, steps)[i] as PyTorch's CPU kernel computes it.
fn linspace_pm1(i: u32, steps: u32) -> f32 {
    if (steps == 1u) {
        return -1.0;
    }
    let step = 2.0 / f32(steps - 1u);
    if (i < steps / 2u) {
        return fma(step, f32(i), -1.0);
    }
    return fma(-step, f32(steps - i - 1u), 1.0);
}

// RIFE's warp: grid_sample(a, base grid + flow / ((size − 1) / 2), bilinear, border padding,
// align_corners = True). The flow (binding 2, `extra` channels) is read from channels c0, c0 + 1;
// f0, f1 = (w − 1) / 2, (h − 1) / 2 as f32.
@compute @workgroup_size(64)
fn warp(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    let c = p.c;
    let w = p.w;
    let h = p.h;
    let ch = i % c;
    let pix = i / c;
    let x = pix % w;
    let t = pix / w;
    let y = t % h;
    let b = t / h;
    let fo = pix * p.extra + p.c0;
    let flow_x = f32(b2[fo]);
    let flow_y = f32(b2[fo + 1u]);
    let wmax = f32(w - 1u);
    let hmax = f32(h - 1u);
    var sx = 0.0;
    if (w > 1u) {
        sx = min(max((linspace_pm1(x, w) + flow_x / p.f0 + 1.0) * (wmax / 2.0), 0.0), wmax);
    }
    var sy = 0.0;
    if (h > 1u) {
        sy = min(max((linspace_pm1(y, h) + flow_y / p.f1 + 1.0) * (hmax / 2.0), 0.0), hmax);
    }
    let x0 = min(u32(sx), w - 1u);
    let y0 = min(u32(sy), h - 1u);
    let fx = sx - f32(x0);
    let fy = sy - f32(y0);
    let ex = 1.0 - fx;
    let ey = 1.0 - fy;
    let x_in = x0 + 1u < w;
    let y_in = y0 + 1u < h;
    let dx = select(0u, 1u, x_in);
    let dy = select(0u, w, y_in);
    let nw = ey * ex;
    let ne = select(0.0, ey * fx, x_in);
    let sw = select(0.0, fy * ex, y_in);
    let se = select(0.0, fy * fx, x_in && y_in);
    let o00 = b * h * w + y0 * w + x0;
    let v = f32(a[o00 * c + ch]) * nw + f32(a[(o00 + dx) * c + ch]) * ne
        + f32(a[(o00 + dy) * c + ch]) * sw + f32(a[(o00 + dy + dx) * c + ch]) * se;
    store(i, v);
}

// out[:, c1 + k] = a[:, c0 + k] for k < len (one part of a channel gather).
@compute @workgroup_size(64)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    let k = i % p.len;
    let pix = i / p.len;
    out[pix * p.oc + p.c1 + k] = a[pix * p.c + p.c0 + k];
}

// out[:, c1 + k] = out[:, c1 + k] · f0 / f1 for k < len.
@compute @workgroup_size(64)
fn scale_channels(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    let o = (i / p.len) * p.oc + p.c1 + i % p.len;
    store(o, f32(out[o]) * p.f0 / p.f1);
}

// out[:, c1 + k] = (out[:, c1 + k] · f0 + a[:, c0 + k] · f1) · f2 for k < len (f0 = 0: the old
// value is not read).
@compute @workgroup_size(64)
fn combine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    let k = i % p.len;
    let pix = i / p.len;
    let o = pix * p.oc + p.c1 + k;
    let y = f32(a[pix * p.c + p.c0 + k]);
    var v = y * p.f1 * p.f2;
    if (p.f0 != 0.0) {
        v = (f32(out[o]) * p.f0 + y * p.f1) * p.f2;
    }
    store(o, v);
}

// out = f0.
@compute @workgroup_size(64)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    store(i, p.f0);
}

// out = sigmoid(a).
@compute @workgroup_size(64)
fn sigmoid_kernel(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    store(i, sigmoid(f32(a[i])));
}

// out = a · m + b · (1 − m), the mask (binding 3) with `extra` channels (1: broadcast).
@compute @workgroup_size(64)
fn blend(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    let pix = i / p.c;
    let m = f32(b3[select(i, pix, p.extra == 1u)]);
    store(i, f32(a[i]) * m + f32(b2[i]) * (1.0 - m));
}

// out = clamp(out + a · 2 − 1, 0, 1).
@compute @workgroup_size(64)
fn refine_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    store(i, clamp(f32(out[i]) + (f32(a[i]) * 2.0 - 1.0), 0.0, 1.0));
}

// Data-movement and element-wise kernels over NHWC tensors, one invocation per output element
// (`total` of them). `a` is the input `[n, h, w, c]`; `out` the output. The prelude defines `S`.

struct Params {
    n: u32, h: u32, w: u32, c: u32,
    r: u32, c_out: u32, offset: u32, total: u32,
    s: f32, pad0: u32, pad1: u32, pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<S>;
@group(0) @binding(2) var<storage, read_write> out: array<S>;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}

// Each channel repeated `r` times: out channel ch·r + k = in channel ch.
@compute @workgroup_size(64)
fn repeat_channels(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    let oc = p.c * p.r;
    out[i] = a[(i / oc) * p.c + (i % oc) / p.r];
}

// F.pixel_shuffle: [n, h, w, c] (c = oc·r²) → [n, h·r, w·r, oc].
@compute @workgroup_size(64)
fn pixel_shuffle(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    let r = p.r;
    let oc = p.c / (r * r);
    let ch = i % oc;
    let t = i / oc;
    let ox = t % (p.w * r);
    let t2 = t / (p.w * r);
    let oy = t2 % (p.h * r);
    let b = t2 / (p.h * r);
    out[i] = a[((b * p.h + oy / r) * p.w + ox / r) * p.c + ch * r * r + (oy % r) * r + ox % r];
}

// F.pixel_unshuffle: [n, h, w, c] → [n, h/r, w/r, c·r²].
@compute @workgroup_size(64)
fn pixel_unshuffle(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    let r = p.r;
    let oc = p.c * r * r;
    let ow = p.w / r;
    let oh = p.h / r;
    let k = i % oc;
    let t = i / oc;
    let xx = t % ow;
    let t2 = t / ow;
    let y = t2 % oh;
    let b = t2 / oh;
    let ch = k / (r * r);
    let ii = (k / r) % r;
    let j = k % r;
    out[i] = a[((b * p.h + y * r + ii) * p.w + xx * r + j) * p.c + ch];
}

// F.interpolate(scale_factor=r, mode="nearest"): [n, h, w, c] → [n, h·r, w·r, c].
@compute @workgroup_size(64)
fn upsample_nearest(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    let r = p.r;
    let ch = i % p.c;
    let t = i / p.c;
    let ox = t % (p.w * r);
    let t2 = t / (p.w * r);
    let oy = t2 % (p.h * r);
    let b = t2 / (p.h * r);
    out[i] = a[((b * p.h + oy / r) * p.w + ox / r) * p.c + ch];
}

// One part of a channel concatenation: a's c channels go to out's channels
// offset .. offset + c of c_out.
@compute @workgroup_size(64)
fn copy_channels(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    out[(i / p.c) * p.c_out + p.offset + i % p.c] = a[i];
}

// out = out · s + a.
@compute @workgroup_size(64)
fn scale_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.total) { return; }
    let v = f32(out[i]) * p.s + f32(a[i]);
    out[i] = S(clamp(v, -S_MAX, S_MAX));
}

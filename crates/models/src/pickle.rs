//! A restricted pickle virtual machine for PyTorch state dicts. It never executes anything:
//! `GLOBAL` resolves only an allowlist of torch names into inert markers, and `REDUCE`/`BUILD`
//! are interpreted by this module for those markers alone. Every other global or opcode is an
//! error, so a hostile checkpoint cannot run code.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::error::ModelError;

/// Element type of a torch storage (`torch.FloatStorage` etc.).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageDtype {
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StorageDtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            StorageDtype::F64 | StorageDtype::I64 => 8,
            StorageDtype::F32 | StorageDtype::I32 => 4,
            StorageDtype::F16 | StorageDtype::BF16 | StorageDtype::I16 => 2,
            StorageDtype::I8 | StorageDtype::U8 | StorageDtype::Bool => 1,
        }
    }
}

/// The only globals a state dict needs. Resolving one creates a marker, never an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    RebuildParameterWithState,
    Storage(StorageDtype),
    Dtype(StorageDtype),
}

impl Global {
    /// What the pickle named, for messages.
    fn python_name(&self) -> &'static str {
        match self {
            Global::OrderedDict => "collections.OrderedDict",
            Global::RebuildTensorV2 => "torch._utils._rebuild_tensor_v2",
            Global::RebuildParameter => "torch._utils._rebuild_parameter",
            Global::RebuildParameterWithState => "torch._utils._rebuild_parameter_with_state",
            Global::Storage(_) => "a torch storage class",
            Global::Dtype(_) => "a torch dtype",
        }
    }
}

fn resolve_global(module: &str, name: &str) -> Result<Global, ModelError> {
    use StorageDtype::*;
    let global = match (module, name) {
        ("collections", "OrderedDict") => Global::OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
        ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
        ("torch._utils", "_rebuild_parameter_with_state") => Global::RebuildParameterWithState,
        ("torch", "FloatStorage") => Global::Storage(F32),
        ("torch", "HalfStorage") => Global::Storage(F16),
        ("torch", "BFloat16Storage") => Global::Storage(BF16),
        ("torch", "DoubleStorage") => Global::Storage(F64),
        ("torch", "LongStorage") => Global::Storage(I64),
        ("torch", "IntStorage") => Global::Storage(I32),
        ("torch", "ShortStorage") => Global::Storage(I16),
        ("torch", "CharStorage") => Global::Storage(I8),
        ("torch", "ByteStorage") => Global::Storage(U8),
        ("torch", "BoolStorage") => Global::Storage(Bool),
        ("torch", "float32" | "float") => Global::Dtype(F32),
        ("torch", "float16" | "half") => Global::Dtype(F16),
        ("torch", "bfloat16") => Global::Dtype(BF16),
        ("torch", "float64" | "double") => Global::Dtype(F64),
        ("torch", "int64" | "long") => Global::Dtype(I64),
        ("torch", "int32" | "int") => Global::Dtype(I32),
        ("torch", "int16" | "short") => Global::Dtype(I16),
        ("torch", "int8") => Global::Dtype(I8),
        ("torch", "uint8") => Global::Dtype(U8),
        ("torch", "bool") => Global::Dtype(Bool),
        _ => return Err(ModelError::ForbiddenGlobal(format!("{module}.{name}"))),
    };
    Ok(global)
}

/// A storage named by a `BINPERSID` record: `('storage', type, key, location, numel)`.
#[derive(Debug, PartialEq, Eq)]
pub struct StorageRef {
    pub key: String,
    pub dtype: StorageDtype,
    pub location: String,
    pub numel: usize,
}

/// A tensor view of a storage, as `_rebuild_tensor_v2` describes it.
#[derive(Debug)]
pub struct TensorRef {
    pub storage: Rc<StorageRef>,
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

/// Hashable dictionary keys (state dicts only use strings; ints and the like are harmless).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DictKey {
    Str(Rc<str>),
    Int(i64),
    Bool(bool),
    None,
}

/// A dict (or OrderedDict) in insertion order.
#[derive(Default, Debug)]
pub struct Dict {
    entries: Vec<(DictKey, Value)>,
    index: HashMap<DictKey, usize>,
}

impl Dict {
    fn set(&mut self, key: DictKey, value: Value) {
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    /// The value stored under the string key `key`.
    pub fn get_str(&self, key: &str) -> Option<&Value> {
        self.index
            .get(&DictKey::Str(Rc::from(key)))
            .map(|&i| &self.entries[i].1)
    }

    pub fn entries(&self) -> &[(DictKey, Value)] {
        &self.entries
    }
}

/// A pickle value. Containers are shared (`Rc`) as in Python, so memo lookups are cheap and a
/// hostile pickle cannot blow memory up exponentially by re-referencing one object.
#[derive(Clone, Debug)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Rc<[Value]>),
    List(Rc<RefCell<Vec<Value>>>),
    Dict(Rc<RefCell<Dict>>),
    Global(Global),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRef>),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Global(_) => "global",
            Value::Storage(_) => "storage",
            Value::Tensor(_) => "tensor",
        }
    }

    fn into_key(self) -> Result<DictKey, ModelError> {
        match self {
            Value::Str(s) => Ok(DictKey::Str(s)),
            Value::Int(i) => Ok(DictKey::Int(i)),
            Value::Bool(b) => Ok(DictKey::Bool(b)),
            Value::None => Ok(DictKey::None),
            other => Err(perr(format!(
                "unsupported dict key type {}",
                other.type_name()
            ))),
        }
    }
}

fn perr(msg: impl Into<String>) -> ModelError {
    ModelError::Pickle(msg.into())
}

/// The interpreter state. Dropping it breaks reference cycles a hostile pickle may have built
/// (a list that contains itself), so nothing leaks.
struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    /// Every list and dict this run created: a cycle can become unreachable from the stack and
    /// the memo (its memo slot overwritten), so `Drop` empties all of them, not just those.
    containers: Vec<Value>,
}

impl Machine<'_> {
    fn new_list(&mut self, items: Vec<Value>) -> Value {
        let list = Value::List(Rc::new(RefCell::new(items)));
        self.track(&list);
        list
    }

    fn new_dict(&mut self) -> Value {
        let dict = Value::Dict(Rc::new(RefCell::new(Dict::default())));
        self.track(&dict);
        dict
    }

    /// Remembers a list or dict so that `Drop` can empty it.
    fn track(&mut self, value: &Value) {
        if matches!(value, Value::List(_) | Value::Dict(_)) {
            self.containers.push(value.clone());
        }
    }
}

impl Drop for Machine<'_> {
    fn drop(&mut self) {
        for value in &self.containers {
            match value {
                Value::Dict(d) => {
                    if let Ok(mut d) = d.try_borrow_mut() {
                        d.entries.clear();
                        d.index.clear();
                    }
                }
                Value::List(l) => {
                    if let Ok(mut l) = l.try_borrow_mut() {
                        l.clear();
                    }
                }
                _ => {}
            }
        }
    }
}

/// Runs the pickle in `bytes` and hands the resulting object to `consume`, which must extract
/// everything it needs (containers are emptied afterwards to break any cycles).
pub fn load<T>(
    bytes: &[u8],
    consume: impl FnOnce(&Value) -> Result<T, ModelError>,
) -> Result<T, ModelError> {
    let mut machine = Machine {
        bytes,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        containers: Vec::new(),
    };
    let result = machine.run()?;
    consume(&result)
}

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| perr("unexpected end of data"))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ModelError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, ModelError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, ModelError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn line(&mut self) -> Result<&'a str, ModelError> {
        let rest = &self.bytes[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| perr("unterminated GLOBAL name"))?;
        let line = self.take(n + 1)?;
        std::str::from_utf8(&line[..n]).map_err(|_| perr("GLOBAL name is not UTF-8"))
    }

    fn string(&mut self, n: usize) -> Result<Value, ModelError> {
        let b = self.take(n)?;
        let s = std::str::from_utf8(b).map_err(|_| perr("string is not valid UTF-8"))?;
        Ok(Value::Str(Rc::from(s)))
    }

    fn pop(&mut self) -> Result<Value, ModelError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(perr("stack underflow"));
        }
        self.stack.pop().ok_or_else(|| perr("stack underflow"))
    }

    fn top(&mut self) -> Result<&mut Value, ModelError> {
        self.stack.last_mut().ok_or_else(|| perr("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, ModelError> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| perr("no MARK on the stack"))?;
        Ok(self.stack.split_off(mark))
    }

    fn push_memo(&mut self, index: u32) -> Result<(), ModelError> {
        let value = self.top()?.clone();
        self.memo.insert(index, value);
        Ok(())
    }

    fn get_memo(&mut self, index: u32) -> Result<(), ModelError> {
        let value = self
            .memo
            .get(&index)
            .cloned()
            .ok_or_else(|| perr(format!("memo entry {index} is missing")))?;
        self.stack.push(value);
        Ok(())
    }

    fn set_items(&mut self, target: &Value, items: Vec<Value>) -> Result<(), ModelError> {
        let Value::Dict(dict) = target else {
            return Err(perr(format!("SETITEM on a {}", target.type_name())));
        };
        if !items.len().is_multiple_of(2) {
            return Err(perr("SETITEMS with an odd number of items"));
        }
        let mut dict = dict
            .try_borrow_mut()
            .map_err(|_| perr("dict is already borrowed"))?;
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            dict.set(k.into_key()?, v);
        }
        Ok(())
    }

    fn append_items(&mut self, target: &Value, items: Vec<Value>) -> Result<(), ModelError> {
        let Value::List(list) = target else {
            return Err(perr(format!("APPEND on a {}", target.type_name())));
        };
        list.try_borrow_mut()
            .map_err(|_| perr("list is already borrowed"))?
            .extend(items);
        Ok(())
    }

    fn run(&mut self) -> Result<Value, ModelError> {
        loop {
            let offset = self.pos;
            let opcode = self.u8()?;
            match opcode {
                // PROTO
                0x80 => {
                    let version = self.u8()?;
                    if version > 5 {
                        return Err(perr(format!("unsupported protocol {version}")));
                    }
                }
                // FRAME: a length hint only.
                0x95 => {
                    self.u64()?;
                }
                // STOP
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'}' => {
                    let dict = self.new_dict();
                    self.stack.push(dict);
                }
                b']' => {
                    let list = self.new_list(Vec::new());
                    self.stack.push(list);
                }
                b')' => self.stack.push(Value::Tuple(Rc::from(Vec::new()))),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(Rc::from(items)));
                }
                0x85..=0x87 => {
                    let n = usize::from(opcode - 0x84);
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.stack.push(Value::Tuple(Rc::from(items)));
                }
                // LIST / DICT from marked items
                b'l' => {
                    let items = self.pop_mark()?;
                    let list = self.new_list(items);
                    self.stack.push(list);
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let dict = self.new_dict();
                    self.set_items(&dict, items)?;
                    self.stack.push(dict);
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'J' => {
                    let v = self.u32()? as i32;
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.stack.push(Value::Int(i64::from(v)));
                }
                // LONG1: little-endian two's complement of n bytes.
                0x8a => {
                    let n = usize::from(self.u8()?);
                    if n > 8 {
                        return Err(perr(format!("LONG1 of {n} bytes is too large")));
                    }
                    let b = self.take(n)?;
                    let mut a = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                        [0xffu8; 8]
                    } else {
                        [0u8; 8]
                    };
                    a[..n].copy_from_slice(b);
                    self.stack.push(Value::Int(i64::from_le_bytes(a)));
                }
                // BINFLOAT: big-endian f64.
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.stack.push(Value::Float(f64::from_be_bytes(a)));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = self.string(n)?;
                    self.stack.push(s);
                }
                0x8c => {
                    let n = usize::from(self.u8()?);
                    let s = self.string(n)?;
                    self.stack.push(s);
                }
                0x8d => {
                    let n = usize::try_from(self.u64()?).map_err(|_| perr("string too long"))?;
                    let s = self.string(n)?;
                    self.stack.push(s);
                }
                // BINBYTES / SHORT_BINBYTES
                b'B' | b'C' => {
                    let n = if opcode == b'B' {
                        self.u32()? as usize
                    } else {
                        usize::from(self.u8()?)
                    };
                    let b = self.take(n)?;
                    self.stack.push(Value::Bytes(Rc::from(b)));
                }
                b'q' => {
                    let i = u32::from(self.u8()?);
                    self.push_memo(i)?;
                }
                b'r' => {
                    let i = self.u32()?;
                    self.push_memo(i)?;
                }
                0x94 => {
                    let i = u32::try_from(self.memo.len()).map_err(|_| perr("memo too large"))?;
                    self.push_memo(i)?;
                }
                b'h' => {
                    let i = u32::from(self.u8()?);
                    self.get_memo(i)?;
                }
                b'j' => {
                    let i = self.u32()?;
                    self.get_memo(i)?;
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let global = resolve_global(module, name)?;
                    self.stack.push(Value::Global(global));
                }
                // STACK_GLOBAL
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Value::Str(module), Value::Str(name)) = (module, name) else {
                        return Err(perr("STACK_GLOBAL needs two strings"));
                    };
                    let global = resolve_global(&module, &name)?;
                    self.stack.push(Value::Global(global));
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let storage = persistent_storage(&pid)?;
                    self.stack.push(Value::Storage(Rc::new(storage)));
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let value = reduce(&callable, &args)?;
                    self.track(&value);
                    self.stack.push(value);
                }
                b'b' => {
                    // BUILD sets an object's state; for OrderedDict that is `_metadata`, for
                    // tensors backward hooks: neither matters for weights, so it is dropped.
                    let _state = self.pop()?;
                    match self.top()? {
                        Value::Dict(_) | Value::Tensor(_) => {}
                        other => {
                            return Err(perr(format!("BUILD on a {}", other.type_name())));
                        }
                    }
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    let target = self.top()?.clone();
                    self.set_items(&target, vec![key, value])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let target = self.top()?.clone();
                    self.set_items(&target, items)?;
                }
                b'a' => {
                    let value = self.pop()?;
                    let target = self.top()?.clone();
                    self.append_items(&target, vec![value])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let target = self.top()?.clone();
                    self.append_items(&target, items)?;
                }
                _ => return Err(ModelError::UnsupportedOpcode { opcode, offset }),
            }
        }
    }
}

fn as_usize(value: &Value, what: &str) -> Result<usize, ModelError> {
    match value {
        Value::Int(i) => usize::try_from(*i).map_err(|_| perr(format!("negative {what}"))),
        other => Err(perr(format!(
            "{what} is a {}, not an int",
            other.type_name()
        ))),
    }
}

fn as_usize_tuple(value: &Value, what: &str) -> Result<Vec<usize>, ModelError> {
    match value {
        Value::Tuple(items) => items.iter().map(|v| as_usize(v, what)).collect(),
        other => Err(perr(format!(
            "{what} is a {}, not a tuple",
            other.type_name()
        ))),
    }
}

/// Interprets a `BINPERSID` record `('storage', storage_type, key, location, numel)`.
fn persistent_storage(pid: &Value) -> Result<StorageRef, ModelError> {
    let Value::Tuple(items) = pid else {
        return Err(perr("persistent id is not a tuple"));
    };
    match &items[..] {
        [Value::Str(tag), Value::Global(Global::Storage(dtype)), key, Value::Str(location), numel]
            if &**tag == "storage" =>
        {
            let key = match key {
                Value::Str(s) => s.to_string(),
                Value::Int(i) => i.to_string(),
                other => return Err(perr(format!("storage key is a {}", other.type_name()))),
            };
            Ok(StorageRef {
                key,
                dtype: *dtype,
                location: location.to_string(),
                numel: as_usize(numel, "storage size")?,
            })
        }
        _ => Err(perr("persistent id is not a torch storage record")),
    }
}

/// `REDUCE` for the allowlisted callables only; the call is interpreted here, never performed.
fn reduce(callable: &Value, args: &Value) -> Result<Value, ModelError> {
    let Value::Global(global) = callable else {
        return Err(perr(format!("REDUCE on a {}", callable.type_name())));
    };
    let Value::Tuple(args) = args else {
        return Err(perr("REDUCE arguments are not a tuple"));
    };
    match global {
        Global::OrderedDict if args.is_empty() => {
            Ok(Value::Dict(Rc::new(RefCell::new(Dict::default()))))
        }
        Global::RebuildTensorV2 => {
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            if args.len() < 4 {
                return Err(perr("_rebuild_tensor_v2 needs at least 4 arguments"));
            }
            let Value::Storage(storage) = &args[0] else {
                return Err(perr("_rebuild_tensor_v2: first argument is not a storage"));
            };
            let shape = as_usize_tuple(&args[2], "tensor size")?;
            let stride = as_usize_tuple(&args[3], "tensor stride")?;
            if shape.len() != stride.len() {
                return Err(perr("tensor size and stride differ in length"));
            }
            Ok(Value::Tensor(Rc::new(TensorRef {
                storage: Rc::clone(storage),
                offset: as_usize(&args[1], "storage offset")?,
                shape,
                stride,
            })))
        }
        Global::RebuildParameter | Global::RebuildParameterWithState => match args.first() {
            Some(tensor @ Value::Tensor(_)) => Ok(tensor.clone()),
            _ => Err(perr("_rebuild_parameter: first argument is not a tensor")),
        },
        other => Err(perr(format!(
            "{} is not callable here",
            other.python_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> Result<String, ModelError> {
        load(bytes, |v| Ok(v.type_name().to_string()))
    }

    /// A list that appends itself and whose memo slot is then overwritten is reachable from
    /// neither the stack nor the memo at the end; dropping the machine must still free it.
    #[test]
    fn unreachable_self_referencing_list_is_freed() {
        let bytes = b"]q\x00h\x00a0Nq\x000N.";
        let mut machine = Machine {
            bytes,
            pos: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            containers: Vec::new(),
        };
        assert!(matches!(machine.run(), Ok(Value::None)));
        let weak: Vec<_> = machine
            .containers
            .iter()
            .filter_map(|v| match v {
                Value::List(l) => Some(Rc::downgrade(l)),
                _ => None,
            })
            .collect();
        assert_eq!(weak.len(), 1);
        drop(machine);
        assert!(
            weak.iter().all(|w| w.upgrade().is_none()),
            "the list leaked"
        );
    }

    #[test]
    fn forbidden_global_is_refused_before_reduce() {
        let pickle = b"\x80\x02cos\nsystem\nX\x05\x00\x00\x00touch)R.";
        let err = run(pickle).unwrap_err();
        assert!(
            matches!(err, ModelError::ForbiddenGlobal(ref g) if g == "os.system"),
            "{err}"
        );
    }

    #[test]
    fn unknown_opcode_is_an_error() {
        // INST ('i') would construct an arbitrary class.
        let err = run(b"\x80\x02(ibuiltins\nobject\n.").unwrap_err();
        assert!(
            matches!(err, ModelError::UnsupportedOpcode { opcode: b'i', .. }),
            "{err}"
        );
    }

    #[test]
    fn self_referencing_dict_does_not_hang_or_leak() {
        // d = {}; d['x'] = d
        let pickle = b"\x80\x02}q\x00X\x01\x00\x00\x00xh\x00s.";
        assert_eq!(run(pickle).unwrap(), "dict");
    }

    #[test]
    fn long1_sign_extends() {
        let v = load(b"\x80\x02\x8a\x02\xfe\xff.", |v| match v {
            Value::Int(i) => Ok(*i),
            _ => Err(perr("not int")),
        })
        .unwrap();
        assert_eq!(v, -2);
    }

    #[test]
    fn truncated_pickle_is_an_error() {
        assert!(run(b"\x80\x02X\xff\x00\x00\x00ab").is_err());
        assert!(run(b"").is_err());
        assert!(run(b"\x80\x02").is_err());
    }
}

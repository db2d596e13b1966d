//! A pool of tensor buffers that forward passes draw outputs and intermediates from and return
//! them to, so that after the first frame a model runs without allocating.

use crate::bf16conv::Bf16Tensor;
use crate::Tensor;

/// Recycled `f32` buffers. Take a tensor with [`Workspace::tensor`], give it back with
/// [`Workspace::recycle`] once no longer needed; the next request of the same (or smaller) size
/// reuses the memory. Not thread-safe by design: one per model instance / worker.
#[derive(Debug, Default)]
pub struct Workspace {
    free: Vec<Vec<f32>>,
    /// Buffers of recycled [`Bf16Tensor`]s.
    free_bf16: Vec<Vec<u16>>,
    allocations: usize,
}

impl Workspace {
    pub fn new() -> Self {
        Workspace::default()
    }

    /// A tensor of `shape` whose contents are unspecified (callers overwrite every element,
    /// as all `*_into` functions of this crate do).
    pub fn tensor(&mut self, shape: [usize; 4]) -> Tensor {
        let len = shape.iter().product();
        Tensor::from_vec(shape, self.buffer(len))
    }

    /// A tensor of `shape` filled with zeros.
    pub fn zeros(&mut self, shape: [usize; 4]) -> Tensor {
        let mut t = self.tensor(shape);
        t.data_mut().fill(0.0);
        t
    }

    /// A copy of `t` in pooled memory.
    pub fn copy_of(&mut self, t: &Tensor) -> Tensor {
        let mut c = self.tensor(t.shape());
        c.data_mut().copy_from_slice(t.data());
        c
    }

    /// Returns a tensor's memory to the pool.
    pub fn recycle(&mut self, t: Tensor) {
        let v = t.into_vec();
        if v.capacity() > 0 {
            self.free.push(v);
        }
    }

    /// A bf16 activation tensor of logical `shape` for convolutions with padding `pad`: zero
    /// border, interior unspecified (writers fill every channel they later read).
    pub fn bf16_tensor(&mut self, shape: [usize; 4], pad: usize) -> Bf16Tensor {
        let need = Bf16Tensor::len_for(shape, pad);
        let best = self
            .free_bf16
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= need)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        let buf = match best {
            Some(i) => self.free_bf16.swap_remove(i),
            None => {
                self.allocations += 1;
                Vec::with_capacity(need)
            }
        };
        Bf16Tensor::reuse(buf, shape, pad)
    }

    /// Returns a bf16 tensor's memory to the pool.
    pub fn recycle_bf16(&mut self, t: Bf16Tensor) {
        let v = t.into_buffer();
        if v.capacity() > 0 {
            self.free_bf16.push(v);
        }
    }

    /// How many buffers this pool has had to allocate or grow so far (steady state: constant).
    pub fn allocations(&self) -> usize {
        self.allocations
    }

    /// Number of buffers currently waiting for reuse.
    pub fn free_buffers(&self) -> usize {
        self.free.len()
    }

    /// The smallest free buffer that fits `len`, else the largest one grown to it.
    fn buffer(&mut self, len: usize) -> Vec<f32> {
        let best = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        let mut v = match best {
            Some(i) => self.free.swap_remove(i),
            None => {
                self.allocations += 1;
                let largest = self
                    .free
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, v)| v.capacity())
                    .map(|(i, _)| i);
                match largest {
                    Some(i) => self.free.swap_remove(i),
                    None => Vec::with_capacity(len),
                }
            }
        };
        // Within capacity this only writes the new tail (when growing the length); the stale
        // contents of reused memory are fine because callers overwrite it.
        v.resize(len, 0.0);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_state_reuses_buffers() {
        let mut ws = Workspace::new();
        for _ in 0..3 {
            let a = ws.tensor([1, 8, 8, 4]);
            let b = ws.zeros([1, 4, 4, 4]);
            assert!(b.data().iter().all(|&v| v == 0.0));
            assert_eq!(a.shape(), [1, 8, 8, 4]);
            ws.recycle(a);
            ws.recycle(b);
        }
        assert_eq!(ws.allocations(), 2);
        assert_eq!(ws.free_buffers(), 2);
    }
}

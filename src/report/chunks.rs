//! Writing many items in order while rendering them on every core: the
//! HTML rows and panels and the findings of findings.json.

use std::io::Write;

use rayon::prelude::*;

/// Items written per task: enough to make a task worth its overhead, few
/// enough that the buffers in flight stay small (256 cost 1.3 MB more peak
/// RSS at the reference size, at the same CPU time; #13).
const CHUNK: usize = 128;

/// Writes `items` in order, rendered on every core: `render(start, chunk,
/// buf)` appends chunk `items[start..start + chunk.len()]` to its own buffer.
/// A few chunks per core are rendered at a time, then written out in order,
/// so the output is what one thread would write and only a few MiB are ever
/// buffered. The buffers are allocated once, here, at `item_bytes` (about
/// what an item takes) per item, and reused from one round to the next: a
/// buffer grown on a worker, a step at a time, leaves the allocator holding
/// several huge pages per thread.
pub(super) fn write_chunks_in_order<T: Sync>(
    items: &[T],
    item_bytes: usize,
    render: impl Fn(usize, &[T], &mut Vec<u8>) -> std::io::Result<()> + Sync,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    // One chunk per core at a time: findings.json and report.html are
    // written side by side, so the cores stay busy, and every buffer more
    // is resident at the audit's peak (#13).
    let wave = CHUNK * rayon::current_num_threads().max(1);
    let mut bufs: Vec<Vec<u8>> = (0..items.len().min(wave).div_ceil(CHUNK))
        .map(|_| Vec::with_capacity(items.len().min(CHUNK) * item_bytes))
        .collect();
    for (w, batch) in items.chunks(wave).enumerate() {
        let bufs = &mut bufs[..batch.len().div_ceil(CHUNK)];
        batch
            .par_chunks(CHUNK)
            .zip(bufs.par_iter_mut())
            .enumerate()
            .try_for_each(|(c, (chunk, buf))| {
                buf.clear();
                render(w * wave + c * CHUNK, chunk, buf)
            })?;
        for buf in bufs.iter() {
            out.write_all(buf)?;
        }
    }
    Ok(())
}

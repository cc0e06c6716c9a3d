#pragma once

// How a cartable process asks the C library to treat large allocations.
//
// A round moves whole models: the coordinator decodes every node's update and encodes the next
// model, a node decodes the model and encodes its update. For a 100 MB model each of those is a
// 100 MB buffer that lives for a round. glibc serves every allocation above its mmap threshold
// (at most 32 MiB) with fresh pages from mmap and returns them on free, so every round pays a page
// fault per 4 KiB of every such buffer: writing 100 MB into fresh pages takes 55–90 ms on the
// benchmark machine, into pages already mapped 26–31 ms. KeepLargeAllocationsMapped serves large
// allocations from the heap instead and keeps up to 1 GiB of freed heap mapped, so the next round's
// buffers reuse the pages of the last. The cost: a process keeps its peak heap, up to that bound,
// after a large round. docs/benchmarks.md (transport) has the measurements.
//
// Call once, at the start of main, before any thread starts. Has no effect on a C library
// other than glibc.

namespace cartable {

void KeepLargeAllocationsMapped();

}  // namespace cartable

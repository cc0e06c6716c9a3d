#include "core/memory_policy.h"

#include <cstdlib>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace cartable {

void KeepLargeAllocationsMapped() {
#if defined(__GLIBC__)
  // No allocation is served by its own mmap: large ones come from the heap (the main arena grows
  // with brk; a thread's arena that cannot hold one falls back to it).
  mallopt(M_MMAP_MAX, 0);
  // Freed memory at the top of the heap is returned to the system only beyond 1 GiB.
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace cartable

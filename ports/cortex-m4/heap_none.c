/* The heap's hook with no pool behind it: every request fails.
 *
 * Only the "text" build links this. newlib-nano's snprintf carries a reference to malloc
 * (its string writer can grow an asprintf buffer), so printf drags the allocator into the
 * link even though snprintf into a fixed buffer never calls it. With no pool configured,
 * _sbrk refuses, so a malloc would return NULL rather than take memory; the core never
 * asks. The lean build has no printf and so no allocator at all. */
#include <errno.h>
#include <stddef.h>

void *_sbrk(ptrdiff_t increment);

void *_sbrk(ptrdiff_t increment)
{
    (void)increment;
    errno = ENOMEM;
    return (void *)-1; /* sbrk's failure value */
}

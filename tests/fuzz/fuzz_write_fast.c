/* Fuzz the device's in-place Write decoder (hosted_write_fast_decode) against protobuf-c,
 * which decides every request it does not take. The input is one Request's bytes.
 * Properties:
 *  - whatever the fast decoder accepts, protobuf-c accepts too, the device's well-formedness
 *    check passes, and both read the same id, body (a Write), offset, crc32 and data bytes,
 *    with no unknown fields; the fast decoder's data lies inside the input;
 *  - it accepts what matters for speed: any Write request protobuf-c reads without unknown
 *    fields and packs back to exactly the input bytes (the form every host sends). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosted/hosted_internal.h"
#include "otakit_ctrl.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_write_fast: %s (line %d)\n", #cond, __LINE__);         \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* The fast decoder's result equals protobuf-c's q. */
static void check_same(const uint8_t *data, size_t size, const Otkctrl__Request *fq,
                       const Otkctrl__Write *fw, const Otkctrl__Request *q)
{
    CHECK(q != NULL);
    CHECK(hosted_msg_wellformed(&q->base));
    CHECK(q->base.n_unknown_fields == 0);
    CHECK(fq->write == fw);
    CHECK(fq->base.descriptor == &otkctrl__request__descriptor);
    CHECK(fw->base.descriptor == &otkctrl__write__descriptor);
    CHECK(fq->base.n_unknown_fields == 0 && fw->base.n_unknown_fields == 0);
    CHECK(fq->id == q->id);
    CHECK(fq->body_case == q->body_case);
    CHECK(q->body_case == OTKCTRL__REQUEST__BODY_WRITE && q->write != NULL);
    const Otkctrl__Write *w = q->write;
    CHECK(w->base.n_unknown_fields == 0);
    CHECK(fw->offset == w->offset);
    CHECK(fw->crc32 == w->crc32);
    CHECK(fw->data.len == w->data.len);
    CHECK((fw->data.data == NULL) == (w->data.data == NULL));
    if (fw->data.len > 0) {
        CHECK(fw->data.data >= data && fw->data.data + fw->data.len <= data + size);
        CHECK(memcmp(fw->data.data, w->data.data, w->data.len) == 0);
    }
}

/* q packs back to exactly the input: the canonical form, which the fast decoder must take. */
static bool canonical_write(const uint8_t *data, size_t size, const Otkctrl__Request *q)
{
    if (q == NULL || q->body_case != OTKCTRL__REQUEST__BODY_WRITE ||
        q->base.n_unknown_fields != 0 || q->write->base.n_unknown_fields != 0 ||
        otkctrl__request__get_packed_size(q) != size) {
        return false;
    }
    uint8_t *again = malloc(size + 1);
    CHECK(again != NULL);
    bool same = otkctrl__request__pack(q, again) == size && memcmp(again, data, size) == 0;
    free(again);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: ASan sees any read past the end. */
    uint8_t *buf = malloc(size > 0 ? size : 1);
    CHECK(buf != NULL);
    if (size > 0) {
        memcpy(buf, data, size);
    }
    Otkctrl__Request fq;
    Otkctrl__Write fw;
    bool fast = hosted_write_fast_decode(buf, size, &fq, &fw);
    Otkctrl__Request *q = otkctrl__request__unpack(NULL, size, buf);
    if (fast) {
        check_same(buf, size, &fq, &fw, q);
    } else {
        CHECK(!canonical_write(buf, size, q));
    }
    otkctrl__request__free_unpacked(q, NULL);
    free(buf);
    return 0;
}

/* The streaming verifier: one state machine that reads an image byte by byte in any
 * chunking and applies ESP-IDF's checks (esp_image_verify, spec §6.6) as soon as the
 * bytes they need have arrived.
 *
 * States follow the image: header, then per segment its header and its data, then the
 * pad block ending in the checksum, then (optionally) the 32-byte SHA-256. Every byte
 * before the hash goes into the running SHA-256; segment data also into the XOR. When a
 * Secure Boot v2 signature is to be read, a copy of that hash forked at the checksum goes
 * on through the SHA-256 and the padding up to the signature sector's 4 KiB boundary: the
 * digest the signature blocks sign, got in the same single pass (image_sig.c reads the
 * sector itself).
 *
 * Problems are of two kinds. Those that make the rest unreadable (bad magic, too many
 * segments, a bad segment length, an image that overruns the partition) stop reading.
 * The others (chip, revision, mapping, descriptor, checksum, hash) are recorded and reading
 * goes on, so `info` can still show the whole image, as esptool image_info does. Only the
 * first problem is kept: that is the one ESP-IDF, which stops at once, would report. */
#include <string.h>

#include "image_internal.h"

enum {
    ST_HEADER,
    ST_SEG_HEADER,
    ST_SEG_DATA,
    ST_PAD,
    ST_HASH,
    ST_SIG_PAD, /* image end .. signature sector: hashed for the signature only */
    ST_DONE,    /* read through the end of the image (and the padding after it) */
    ST_STOPPED, /* a problem made the rest unreadable */
};

/* Descriptor sizes: segment 0 holds a descriptor only when it is at least this long. */
#define BOOTLOADER_DESC_LEN ((uint32_t)sizeof(esp_bootloader_desc_t))
#define APP_DESC_LEN ((uint32_t)sizeof(esp_app_desc_t))
/* AUTO decides app vs bootloader from the first word of segment 0 (the app desc magic). */
#define APP_MAGIC_LEN 4u

/* Record a problem. Returns true when it is the first one, so the caller writes the
 * reason only then; `stop` ends reading whether or not it is the first. */
static bool problem(otk_image_stream_t *s, bool stop)
{
    if (stop) {
        s->stopped = true;
        s->state = ST_STOPPED;
    }
    if (s->err != ESP_OK) {
        return false;
    }
    s->err = ESP_ERR_IMAGE_INVALID;
    return true;
}

static const char *chip_label(uint32_t chip_id)
{
    const char *name = otk_image_chip_id_name((uint16_t)chip_id);
    return name != NULL ? name : "unknown chip";
}

static void hex32(const uint8_t *bytes, char out[2 * OTK_SHA256_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < OTK_SHA256_LEN; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0F];
    }
    out[2 * OTK_SHA256_LEN] = '\0';
}

static void check_chip_rev(otk_image_stream_t *s, bool is_app)
{
    otk_diag_t why;
    if (!s->opts.check_chip_rev) {
        return;
    }
    if (otk_image_check_chip_rev(&s->info.header, s->opts.chip_rev, is_app, &why) != ESP_OK &&
        problem(s, false)) {
        s->diag = why;
    }
}

/* App or bootloader is known: apply the rules that depend on it. */
static void set_kind(otk_image_stream_t *s, otk_image_kind_t kind)
{
    s->info.kind = kind;
    if (kind != OTK_IMAGE_APP) {
        return;
    }
    if (s->opts.kind == OTK_IMAGE_AUTO) {
        check_chip_rev(s, true); /* the max revision binds apps only */
    }
    if (s->info.header.segment_count > 0 && s->info.segments[0].data_len < APP_DESC_LEN &&
        problem(s, false)) {
        otk_diag_set(&s->diag,
                     "segment 0 data_len: 0x%x bytes, but an app's segment 0 must hold "
                     "esp_app_desc_t (0x%x bytes) (segment header at image offset 0x%x)",
                     (unsigned)s->info.segments[0].data_len, (unsigned)APP_DESC_LEN,
                     (unsigned)OTK_IMAGE_HEADER_LEN);
    }
}

static void enter(otk_image_stream_t *s, uint8_t state, uint32_t len)
{
    s->state = state;
    s->state_end = s->pos + len;
}

#if OTK_CONFIG_SECURE_BOOT
/* Secure boot asks for a signature; read_signature only wants to see one if it is there. */
static bool sig_enforced(const otk_image_stream_t *s)
{
    return s->opts.secure_boot.enabled;
}

static bool sig_wanted(const otk_image_stream_t *s)
{
    return s->opts.secure_boot.enabled || s->opts.read_signature;
}

/* The image ends at pos: the signature sector follows at the next 4 KiB boundary, and
 * everything before it is what the blocks sign. */
static void enter_sig_pad(otk_image_stream_t *s)
{
    otk_image_sig_info_t *sig = &s->info.sig;
    uint32_t sector = (s->pos + OTK_IMAGE_SIG_SECTOR_LEN - 1u) & ~(OTK_IMAGE_SIG_SECTOR_LEN - 1u);
    sig->sector_offset = sector;
    uint32_t max = s->opts.max_size;
    if (max != 0 && (sector > max || max - sector < OTK_IMAGE_SIG_SECTOR_LEN)) {
        if (sig_enforced(s) && problem(s, true)) {
            otk_diag_set(&s->diag,
                         "Secure Boot v2: the signature sector [0x%x, 0x%x) after the image "
                         "does not fit the partition size 0x%x",
                         (unsigned)sector, (unsigned)(sector + OTK_IMAGE_SIG_SECTOR_LEN),
                         (unsigned)max);
        } else {
            s->state = ST_DONE; /* nothing to read: no signature there */
        }
        return;
    }
    enter(s, ST_SIG_PAD, sector - s->pos);
}
#endif

/* The last byte of the image went in. */
static void end_of_image(otk_image_stream_t *s)
{
    s->info.complete = true;
#if OTK_CONFIG_SECURE_BOOT
    if (sig_wanted(s)) {
        enter_sig_pad(s);
        return;
    }
#endif
    s->state = ST_DONE;
}

/* After the last segment: the pad block ends with the checksum on a 16-byte boundary. */
static void enter_pad(otk_image_stream_t *s)
{
    otk_image_info_t *info = &s->info;
    info->data_end = s->pos;
    info->image_len = otk_image_checksum_block_end(s->pos);
    info->total_len = info->image_len + (info->hash_appended ? OTK_SHA256_LEN : 0);
    if (s->opts.max_size != 0 && info->image_len > s->opts.max_size) {
        if (problem(s, true)) {
            otk_diag_set(&s->diag,
                         "image length: checksum block ends at image offset 0x%x, past the "
                         "partition size 0x%x",
                         (unsigned)info->image_len, (unsigned)s->opts.max_size);
        }
        return;
    }
    enter(s, ST_PAD, info->image_len - s->pos);
}

static void process_header(otk_image_stream_t *s)
{
    otk_image_info_t *info = &s->info;
    esp_image_header_t *hdr = &info->header;
    otk_image_header_decode(s->buf, hdr);
    info->header_read = true;
    info->chip = otk_image_chip_by_id((uint16_t)hdr->chip_id);
    info->hash_appended = hdr->hash_appended != 0;
    info->mmu_page_size = OTK_IMAGE_MMU_PAGE_DEFAULT;

    if (hdr->magic != ESP_IMAGE_HEADER_MAGIC) {
        if (problem(s, true)) {
            otk_diag_set(&s->diag, "header magic: expected 0x%02x, found 0x%02x (image offset 0x0)",
                         ESP_IMAGE_HEADER_MAGIC, hdr->magic);
        }
        return;
    }
    uint32_t found_chip = (uint16_t)hdr->chip_id;
    if (s->opts.chip_id != OTK_IMAGE_CHIP_ANY && found_chip != s->opts.chip_id &&
        problem(s, false)) {
        otk_diag_set(&s->diag,
                     "header chip_id: expected 0x%04x (%s), found 0x%04x (%s) (image offset "
                     "0xc)",
                     (unsigned)s->opts.chip_id, chip_label(s->opts.chip_id),
                     (unsigned)found_chip, chip_label(found_chip));
    }
    check_chip_rev(s, s->opts.kind == OTK_IMAGE_APP);
    if (hdr->segment_count > OTK_IMAGE_MAX_SEGMENTS) {
        if (problem(s, true)) {
            otk_diag_set(&s->diag,
                         "header segment_count: expected at most %u, found %u (image offset "
                         "0x1)",
                         OTK_IMAGE_MAX_SEGMENTS, hdr->segment_count);
        }
        return;
    }
    if (s->opts.require_hash && !info->hash_appended && problem(s, false)) {
        otk_diag_set(&s->diag,
                     "header hash_appended: expected 1 (a SHA-256 is required), found 0 "
                     "(image offset 0x17)");
    }
    info->kind = s->opts.kind;
    if (hdr->segment_count == 0) {
        if (info->kind == OTK_IMAGE_AUTO) {
            info->kind = OTK_IMAGE_BOOTLOADER;
        } else if (info->kind == OTK_IMAGE_APP && problem(s, false)) {
            otk_diag_set(&s->diag,
                         "header segment_count: expected at least 1 (an app's segment 0 holds "
                         "esp_app_desc_t), found 0 (image offset 0x1)");
        }
        enter_pad(s);
        return;
    }
    enter(s, ST_SEG_HEADER, OTK_IMAGE_SEGMENT_HEADER_LEN);
}

/* Flash-mapped segments must sit at the same offset within an MMU page in flash as in the
 * address space, or the MMU cannot map them (ESP-IDF verify_segment_header). */
static void check_mapping(otk_image_stream_t *s, uint8_t i)
{
    const otk_image_segment_info_t *seg = &s->info.segments[i];
    if (s->info.kind == OTK_IMAGE_BOOTLOADER || !seg->mapped) {
        return;
    }
    uint32_t page = s->info.mmu_page_size;
    uint32_t flash_addr = s->opts.flash_offset + seg->data_offset;
    if (flash_addr % page != seg->load_addr % page && problem(s, false)) {
        otk_diag_set(&s->diag,
                     "segment %u load_addr: 0x%08x is flash-mapped, so its data must sit at "
                     "the same offset in a 0x%x-byte MMU page: expected 0x%x, found 0x%x (data "
                     "at flash offset 0x%x)",
                     i, (unsigned)seg->load_addr, (unsigned)page,
                     (unsigned)(seg->load_addr % page), (unsigned)(flash_addr % page),
                     (unsigned)flash_addr);
    }
}

static void process_segment_header(otk_image_stream_t *s)
{
    otk_image_info_t *info = &s->info;
    uint8_t i = s->seg;
    otk_image_segment_info_t *seg = &info->segments[i];
    seg->load_addr = otk_image_le32(s->buf);
    seg->data_len = otk_image_le32(s->buf + 4);
    seg->header_offset = s->pos - OTK_IMAGE_SEGMENT_HEADER_LEN;
    seg->data_offset = s->pos;
    seg->mapped = otk_image_chip_is_mapped(info->chip, seg->load_addr);
    info->segments_read = (uint8_t)(i + 1);

    if (seg->data_len % 4 != 0) {
        if (problem(s, true)) {
            otk_diag_set(&s->diag,
                         "segment %u data_len: 0x%x is not a multiple of 4 (segment header at "
                         "image offset 0x%x)",
                         i, (unsigned)seg->data_len, (unsigned)seg->header_offset);
        }
        return;
    }
    if (seg->data_len >= OTK_IMAGE_SEGMENT_LEN_LIMIT) {
        if (problem(s, true)) {
            otk_diag_set(&s->diag,
                         "segment %u data_len: expected below 0x%x (16 MiB), found 0x%x "
                         "(segment header at image offset 0x%x)",
                         i, OTK_IMAGE_SEGMENT_LEN_LIMIT, (unsigned)seg->data_len,
                         (unsigned)seg->header_offset);
        }
        return;
    }
    /* No wrap: at most 16 segments below 16 MiB each, so offsets stay far below 4 GiB. */
    uint32_t data_end = seg->data_offset + seg->data_len;
    if (s->opts.max_size != 0 && data_end > s->opts.max_size) {
        if (problem(s, true)) {
            otk_diag_set(&s->diag,
                         "segment %u data_len: 0x%x bytes of data end at image offset 0x%x, "
                         "past the partition size 0x%x",
                         i, (unsigned)seg->data_len, (unsigned)data_end,
                         (unsigned)s->opts.max_size);
        }
        return;
    }
    if (i == 0) {
        if (info->kind == OTK_IMAGE_APP) {
            set_kind(s, OTK_IMAGE_APP);
        } else if (info->kind == OTK_IMAGE_AUTO && seg->data_len < APP_MAGIC_LEN) {
            set_kind(s, OTK_IMAGE_BOOTLOADER);
        }
    } else {
        /* Segment 0's check waits for the app desc, which may choose the MMU page. */
        check_mapping(s, i);
    }
    enter(s, ST_SEG_DATA, seg->data_len);
}

/* The first bytes of segment 0 arrived: AUTO picks app when they are the app desc magic. */
static void capture_desc(otk_image_stream_t *s, const uint8_t *p, size_t n)
{
    uint32_t room = APP_DESC_LEN - s->desc_len;
    uint32_t take = n < room ? (uint32_t)n : room;
    bool had_magic = s->desc_len >= APP_MAGIC_LEN;
    memcpy(s->desc_raw + s->desc_len, p, take);
    s->desc_len += take;
    if (!had_magic && s->desc_len >= APP_MAGIC_LEN && s->info.kind == OTK_IMAGE_AUTO) {
        bool app = otk_image_le32(s->desc_raw) == ESP_APP_DESC_MAGIC_WORD;
        set_kind(s, app ? OTK_IMAGE_APP : OTK_IMAGE_BOOTLOADER);
    }
}

/* Segment 0 is complete: read the descriptor it starts with, then check its mapping. */
static void end_segment0(otk_image_stream_t *s)
{
    otk_image_info_t *info = &s->info;
    uint32_t len = info->segments[0].data_len;
    if (info->kind == OTK_IMAGE_APP && len >= APP_DESC_LEN) {
        otk_image_app_desc_decode(s->desc_raw, &info->app_desc);
        info->has_app_desc = info->app_desc.magic_word == ESP_APP_DESC_MAGIC_WORD;
        /* A configurable-MMU chip reads its page size from the app desc, so it must be
         * there (ESP-IDF); elsewhere the desc is required when the caller asks. */
        bool configurable = info->chip != NULL &&
                            info->chip->mmu_page_log2_min < OTK_IMAGE_MMU_PAGE_LOG2_FIXED;
        if (!info->has_app_desc && (configurable || s->opts.require_app_desc) &&
            problem(s, false)) {
            otk_diag_set(&s->diag,
                         "app desc magic_word: expected 0x%08x, found 0x%08x (image offset "
                         "0x%x)",
                         (unsigned)ESP_APP_DESC_MAGIC_WORD, (unsigned)info->app_desc.magic_word,
                         (unsigned)OTK_IMAGE_DESC_OFFSET);
        }
        if (info->has_app_desc) {
            uint32_t page = otk_image_mmu_page_size(info->chip, info->app_desc.mmu_page_size);
            if (page == 0) {
                if (problem(s, false)) {
                    otk_diag_set(&s->diag,
                                 "app desc mmu_page_size: 2^%u bytes is not an MMU page size "
                                 "%s supports (image offset 0x%x)",
                                 info->app_desc.mmu_page_size, chip_label(info->header.chip_id),
                                 (unsigned)(OTK_IMAGE_DESC_OFFSET +
                                            OTK_IMAGE_APP_DESC_MMU_PAGE_OFFSET));
                }
            } else {
                info->mmu_page_size = page;
            }
        }
    } else if (info->kind == OTK_IMAGE_BOOTLOADER && len >= BOOTLOADER_DESC_LEN &&
               s->desc_raw[0] == ESP_BOOTLOADER_DESC_MAGIC_BYTE) {
        otk_image_bootloader_desc_decode(s->desc_raw, &info->bootloader_desc);
        info->has_bootloader_desc = true;
    }
    check_mapping(s, 0);
}

static void process_checksum(otk_image_stream_t *s)
{
    otk_image_info_t *info = &s->info;
    uint64_t acc = s->xor_acc;
    /* The XOR of all bytes is the XOR of the 8 byte lanes of the 64-bit accumulator. */
    acc ^= acc >> 32;
    acc ^= acc >> 16;
    acc ^= acc >> 8;
    info->checksum_computed = (uint8_t)(OTK_IMAGE_CHECKSUM_SEED ^ (uint8_t)acc);
    info->checksum_stored = s->buf[info->image_len - info->data_end - 1];
    info->checksum_read = true;
    info->checksum_valid = info->checksum_computed == info->checksum_stored;
#if OTK_CONFIG_SECURE_BOOT
    if (sig_wanted(s)) {
        s->sig_sha = s->sha; /* plain data: the copy goes on on its own (crypto.h) */
    }
#endif
    /* A copy is finished: sha stays the state at image_len, which a caller may continue
     * over the bytes after the image (otk_image_stream_sha_at_end). */
    otk_sha256_ctx_t done = s->sha;
    otk_sha256_final(&done, info->hash_computed);
    if (!info->checksum_valid && problem(s, false)) {
        otk_diag_set(&s->diag,
                     "checksum: expected 0x%02x (computed over segment data), found 0x%02x "
                     "(image offset 0x%x)",
                     info->checksum_computed, info->checksum_stored,
                     (unsigned)(info->image_len - 1));
    }
    if (s->opts.max_size != 0 && info->total_len > s->opts.max_size) {
        if (problem(s, true)) {
            otk_diag_set(&s->diag,
                         "image length: 0x%x bytes with the appended SHA-256 exceed the "
                         "partition size 0x%x",
                         (unsigned)info->total_len, (unsigned)s->opts.max_size);
        }
        return;
    }
    if (info->hash_appended) {
        enter(s, ST_HASH, OTK_SHA256_LEN);
    } else {
        end_of_image(s);
    }
}

static void process_hash(otk_image_stream_t *s)
{
    otk_image_info_t *info = &s->info;
    memcpy(info->hash_stored, s->buf, OTK_SHA256_LEN);
    info->hash_read = true;
    info->hash_valid = memcmp(info->hash_stored, info->hash_computed, OTK_SHA256_LEN) == 0;
    /* ESP-IDF checks a bootloader's hash only under secure boot v2, since esptool may
     * rewrite the flash settings in a bootloader's header when flashing it. */
    info->hash_checked = info->kind == OTK_IMAGE_APP || s->opts.check_bootloader_hash;
    if (info->hash_checked && !info->hash_valid && problem(s, false)) {
        char want[2 * OTK_SHA256_LEN + 1], got[2 * OTK_SHA256_LEN + 1];
        hex32(info->hash_computed, want);
        hex32(info->hash_stored, got);
        otk_diag_set(&s->diag, "SHA-256: expected %s, found %s (image offset 0x%x)", want, got,
                     (unsigned)info->image_len);
    }
    end_of_image(s);
}

/* The current state's bytes are all in: act on them and move to the next state. */
static void complete_state(otk_image_stream_t *s)
{
    switch (s->state) {
    case ST_HEADER:
        process_header(s);
        break;
    case ST_SEG_HEADER:
        process_segment_header(s);
        break;
    case ST_SEG_DATA:
        if (s->seg == 0) {
            end_segment0(s);
        }
        s->seg++;
        if (s->seg < s->info.header.segment_count) {
            enter(s, ST_SEG_HEADER, OTK_IMAGE_SEGMENT_HEADER_LEN);
        } else {
            enter_pad(s);
        }
        break;
    case ST_PAD:
        process_checksum(s);
        break;
    case ST_HASH:
        process_hash(s);
        break;
#if OTK_CONFIG_SECURE_BOOT
    case ST_SIG_PAD:
        otk_sha256_final(&s->sig_sha, s->info.sig.digest);
        s->info.sig.digest_done = true;
        s->state = ST_DONE;
        break;
#endif
    default:
        break;
    }
}

/* Image offset where the bytes gathered in buf for the current state begin. */
static uint32_t buf_start(const otk_image_stream_t *s)
{
    switch (s->state) {
    case ST_HEADER:
        return 0;
    case ST_SEG_HEADER:
        return s->state_end - OTK_IMAGE_SEGMENT_HEADER_LEN;
    case ST_PAD:
        return s->info.data_end;
    default: /* ST_HASH */
        return s->info.image_len;
    }
}

/* acc XOR the bytes at p, word by word: the checksum folds the 8 byte lanes of the word
 * together at the end, so which lane a byte lands in does not matter. Four independent
 * words per step (the XORs pipeline): this runs over every byte of every image. */
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

static uint64_t xor_words(uint64_t acc, const uint8_t *p, size_t n)
{
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t k = 0;
    for (; k + 32 <= n; k += 32) {
        a0 ^= load64(p + k);
        a1 ^= load64(p + k + 8);
        a2 ^= load64(p + k + 16);
        a3 ^= load64(p + k + 24);
    }
    acc ^= a0 ^ a1 ^ a2 ^ a3;
    for (; k + sizeof acc <= n; k += sizeof acc) {
        acc ^= load64(p + k);
    }
    for (; k < n; k++) {
        acc ^= p[k];
    }
    return acc;
}

void otk_image_stream_init(otk_image_stream_t *s, const otk_image_verify_opts_t *opts)
{
    memset(s, 0, sizeof *s);
    if (opts != NULL) {
        s->opts = *opts;
    } else {
        otk_image_verify_opts_init(&s->opts);
    }
    s->info.kind = OTK_IMAGE_AUTO;
    s->info.verdict = ESP_OK;
    s->info.sig.verified_block = -1;
    s->err = ESP_OK;
#if !OTK_CONFIG_SECURE_BOOT
    /* Built without signature checks: a device that needs them gets nothing through
     * (the image is still read, so info describes it). */
    if (s->opts.secure_boot.enabled) {
        s->err = ESP_ERR_IMAGE_INVALID;
        otk_diag_set(&s->diag, "Secure Boot v2 is on, but this build cannot check "
                               "signatures (OTK_CONFIG_SECURE_BOOT=0)");
    }
#endif
    otk_sha256_init(&s->sha);
    enter(s, ST_HEADER, OTK_IMAGE_HEADER_LEN);
}

esp_err_t otk_image_stream_feed(otk_image_stream_t *s, const void *data, size_t len,
                                otk_diag_t *diag)
{
    const uint8_t *p = data;
    if (p == NULL && len > 0) {
        otk_diag_set(diag, "image stream: NULL data with length %zu", len);
        return ESP_ERR_INVALID_ARG;
    }
    while (len > 0 && s->state < ST_DONE) {
        uint32_t want = s->state_end - s->pos;
        uint32_t n = len < want ? (uint32_t)len : want;
        if (s->state <= ST_PAD) {
            otk_sha256_update(&s->sha, p, n);
        }
#if OTK_CONFIG_SECURE_BOOT
        if (s->state >= ST_HASH && sig_wanted(s)) {
            otk_sha256_update(&s->sig_sha, p, n);
        }
#endif
        if (s->state == ST_SEG_DATA) {
            s->xor_acc = xor_words(s->xor_acc, p, n);
            if (s->seg == 0 && s->desc_len < APP_DESC_LEN) {
                capture_desc(s, p, n);
            }
#if OTK_CONFIG_SECURE_BOOT
        } else if (s->state == ST_SIG_PAD) {
            /* hashed above; nothing to keep */
#endif
        } else {
            memcpy(s->buf + (s->pos - buf_start(s)), p, n);
        }
        s->pos += n;
        p += n;
        len -= n;
        /* Empty states (a zero-length segment) complete without any byte. */
        while (s->state < ST_DONE && s->pos == s->state_end) {
            complete_state(s);
        }
    }
    if (s->err != ESP_OK) {
        if (diag != NULL) {
            *diag = s->diag;
        }
        return s->err;
    }
    return ESP_OK;
}

bool otk_image_stream_done(const otk_image_stream_t *s)
{
    return s->state >= ST_DONE;
}

uint32_t otk_image_stream_pos(const otk_image_stream_t *s)
{
    return s->pos;
}

esp_err_t otk_image_stream_finish(otk_image_stream_t *s, otk_image_info_t *info,
                                  otk_diag_t *diag)
{
    /* Data that ends in the padding before a signature sector that is only to be shown
     * is an image without a signature, not a truncated one. */
#if OTK_CONFIG_SECURE_BOOT
    bool sig_optional = s->state == ST_SIG_PAD && !sig_enforced(s);
#else
    bool sig_optional = false;
#endif
    if (s->err == ESP_OK && s->state != ST_DONE && !sig_optional) {
        static const char *const what[] = {
            [ST_HEADER] = "the header",
            [ST_SEG_HEADER] = "a segment header",
            [ST_SEG_DATA] = "segment data",
            [ST_PAD] = "the checksum block",
            [ST_HASH] = "the appended SHA-256",
            [ST_SIG_PAD] = "the padding before the signature sector",
        };
        problem(s, false);
        if (OTK_CONFIG_SECURE_BOOT && s->state == ST_SIG_PAD) {
            otk_diag_set(&s->diag,
                         "Secure Boot v2: unsigned: the data ends at image offset 0x%x, before "
                         "the signature sector at 0x%x",
                         (unsigned)s->pos, (unsigned)s->state_end);
        } else if (s->state == ST_SEG_HEADER || s->state == ST_SEG_DATA) {
            otk_diag_set(&s->diag,
                         "image truncated: segment %u %s needs bytes up to image offset 0x%x, "
                         "only 0x%x given",
                         s->seg, s->state == ST_SEG_HEADER ? "header" : "data",
                         (unsigned)s->state_end, (unsigned)s->pos);
        } else {
            otk_diag_set(&s->diag,
                         "image truncated: %s needs bytes up to image offset 0x%x, only 0x%x "
                         "given",
                         what[s->state], (unsigned)s->state_end, (unsigned)s->pos);
        }
    }
    s->info.verdict = s->err;
    if (info != NULL) {
        *info = s->info;
    }
    if (s->err != ESP_OK && diag != NULL) {
        *diag = s->diag;
    }
    return s->err;
}

bool otk_image_stream_sha_at_end(const otk_image_stream_t *s, otk_sha256_ctx_t *out,
                                 uint32_t *image_len)
{
    if (!s->info.checksum_read) {
        return false;
    }
    *out = s->sha;
    *image_len = s->info.image_len;
    return true;
}

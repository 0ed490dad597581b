/* The image builder: lays segments out the way esptool's elf2image does
 * (esptool/bin_image.py ESP32FirmwareImage.save), so that an image made here is what
 * esptool would have made from an ELF with the same sections.
 *
 * The rules, in esptool's order:
 *   1. Segments in a flash-mapped window (IROM/DROM) are "flash segments", the rest "RAM
 *      segments". Each group is sorted by load address; a segment flagged `first` (esptool:
 *      .flash.appdesc, .dram0.bootdesc) is then moved to the head of its group.
 *   2. Two consecutive flash segments may not start in the same MMU page.
 *   3. Before each flash segment, the gap up to the position where data offset == load
 *      address (mod the MMU page) is filled: by splitting that many bytes off the first RAM
 *      segment when there is one and the gap is more than a segment header, otherwise with
 *      a zero-filled segment at load address 0. esptool computes the gap always towards the
 *      next page boundary (so a gap may exceed a page); we keep that.
 *   4. ESP32 only: a flash segment ending less than 0x24 bytes past a page boundary is
 *      zero-extended to end 0x24 past it (an old second-stage bootloader bug).
 *   5. Remaining RAM segments follow, then (secure pad v2) a zero segment that makes the
 *      image with its hash end on a page boundary.
 *   6. Zero padding to the checksum byte at the end of a 16-byte block; the header's
 *      segment count is set to the final count; then the SHA-256 of everything before. */
#include <string.h>

#include "image_internal.h"

/* Input segments plus the app descriptor segment the builder may make. */
#define BUILD_MAX_INPUT (OTK_IMAGE_MAX_SEGMENTS + 1u)
/* esptool's ESP32 workaround: mapped segments end at least this far past a page start. */
#define ESP32_MAPPED_TAIL_MIN 0x24u
/* esptool's secure pad v2 leaves room after the padding for the 16-byte checksum block
 * and the 32-byte SHA-256, so the signature sector starts on a page boundary. */
#define SECURE_PAD_CHECKSUM_SPACE 16u
/* The smallest MMU page any chip supports (8 KiB on the ESP32-C6 family). */
#define MMU_PAGE_MIN 0x2000u

/* A segment's data is the concatenation a || b || zeros, viewed from `off` for `len`
 * bytes, so the app desc + payload needs no copy and RAM segments split without one. */
typedef struct {
    uint32_t addr;
    const uint8_t *a;
    uint32_t a_len;
    const uint8_t *b;
    uint32_t b_len;
    uint32_t off;
    uint32_t len;
    bool first;
} build_seg_t;

typedef struct {
    uint8_t *out;
    size_t cap;
    uint32_t pos;
    uint8_t checksum;
    uint8_t count;
} writer_t;

static void put(writer_t *w, const uint8_t *src, uint32_t n)
{
    if (w->out != NULL && w->pos + (size_t)n <= w->cap) {
        if (src != NULL) {
            memcpy(w->out + w->pos, src, n);
        } else {
            memset(w->out + w->pos, 0, n);
        }
    }
    w->pos += n;
}

/* Write a segment header and its data; its data enters the checksum. */
static void put_segment(writer_t *w, const build_seg_t *seg)
{
    uint8_t hdr[OTK_IMAGE_SEGMENT_HEADER_LEN];
    otk_image_put_le32(hdr, seg->addr);
    otk_image_put_le32(hdr + 4, seg->len);
    put(w, hdr, sizeof hdr);
    uint32_t k = seg->off;
    uint32_t end = seg->off + seg->len;
    const struct {
        const uint8_t *p;
        uint32_t start, stop;
    } parts[2] = {{seg->a, 0, seg->a_len}, {seg->b, seg->a_len, seg->a_len + seg->b_len}};
    for (size_t i = 0; i < 2; i++) {
        if (k < parts[i].stop && k < end) {
            uint32_t stop = end < parts[i].stop ? end : parts[i].stop;
            const uint8_t *src = parts[i].p + (k - parts[i].start);
            for (uint32_t j = 0; j < stop - k; j++) {
                w->checksum ^= src[j];
            }
            put(w, src, stop - k);
            k = stop;
        }
    }
    if (k < end) {
        put(w, NULL, end - k); /* zeros leave the XOR as it is */
    }
    w->count++;
}

static build_seg_t zero_segment(uint32_t len)
{
    build_seg_t z = {0};
    z.len = len;
    return z;
}

/* Stable insertion sort by load address, then the first `first`-flagged segment to the
 * front: esptool's sorted() followed by its .flash.appdesc / .dram0.bootdesc move. */
static void order_group(build_seg_t *g, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        build_seg_t key = g[i];
        size_t j = i;
        while (j > 0 && g[j - 1].addr > key.addr) {
            g[j] = g[j - 1];
            j--;
        }
        g[j] = key;
    }
    for (size_t i = 0; i < n; i++) {
        if (g[i].first) {
            build_seg_t head = g[i];
            memmove(g + 1, g, i * sizeof *g);
            g[0] = head;
            break;
        }
    }
}

/* esptool get_alignment_data_needed: data bytes of the padding segment to write at pos so
 * that the next segment header ends where data offset == addr (mod page). 0: none. */
static uint32_t alignment_gap(uint32_t pos, uint32_t addr, uint32_t page)
{
    int64_t align_past = (int64_t)(addr % page) - OTK_IMAGE_SEGMENT_HEADER_LEN;
    int64_t pad = (int64_t)(page - pos % page) + align_past;
    if (pad == 0 || pad == (int64_t)page) {
        return 0;
    }
    pad -= OTK_IMAGE_SEGMENT_HEADER_LEN; /* the padding segment has a header too */
    if (pad < 0) {
        pad += page;
    }
    return (uint32_t)pad;
}

/* Which MMU page the layout aligns to; 0 when the request does not fit the chip. */
static uint32_t build_page_size(const otk_image_build_opts_t *o, const otk_image_chip_t *chip)
{
    if (o->mmu_page_size != 0) {
        uint32_t p = o->mmu_page_size;
        bool pow2 = (p & (p - 1)) == 0;
        bool fixed = chip->mmu_page_log2_min >= OTK_IMAGE_MMU_PAGE_LOG2_FIXED;
        if (!pow2 || p > OTK_IMAGE_MMU_PAGE_DEFAULT || p < MMU_PAGE_MIN ||
            p < (1u << chip->mmu_page_log2_min) || (fixed && p != OTK_IMAGE_MMU_PAGE_DEFAULT)) {
            return 0;
        }
        return p;
    }
    return otk_image_mmu_page_size(chip, o->app != NULL ? o->app->mmu_page_size_log2 : 0);
}

void otk_image_build_opts_init(otk_image_build_opts_t *o, uint16_t chip_id)
{
    const otk_image_chip_t *chip = otk_image_chip_by_id(chip_id);
    memset(o, 0, sizeof *o);
    o->chip_id = chip_id;
    o->spi_mode = ESP_IMAGE_SPI_MODE_DIO;
    o->spi_speed = chip != NULL ? chip->default_spi_speed : ESP_IMAGE_SPI_SPEED_DIV_2;
    o->spi_size = ESP_IMAGE_FLASH_SIZE_2MB;
    o->max_chip_rev_full = 0xFFFF; /* esptool elf2image's default: no upper limit */
    o->hash_appended = true;
}

esp_err_t otk_image_build(const otk_image_build_opts_t *o, uint8_t *out, size_t cap,
                          size_t *out_len, otk_diag_t *diag)
{
    if (o == NULL || out_len == NULL) {
        otk_diag_set(diag, "image build: no options or no length output");
        return ESP_ERR_INVALID_ARG;
    }
    *out_len = 0;
    const otk_image_chip_t *chip = otk_image_chip_by_id(o->chip_id);
    if (chip == NULL) {
        otk_diag_set(diag, "image build: chip_id 0x%04x has no chip table entry",
                     (unsigned)o->chip_id);
        return ESP_ERR_INVALID_ARG;
    }
    size_t n_in = o->segment_count + (o->app != NULL ? 1u : 0u);
    if ((o->segment_count > 0 && o->segments == NULL) || n_in > BUILD_MAX_INPUT ||
        n_in > OTK_IMAGE_MAX_SEGMENTS) {
        otk_diag_set(diag, "image build: %zu segments given, at most %u fit an image", n_in,
                     OTK_IMAGE_MAX_SEGMENTS);
        return ESP_ERR_INVALID_ARG;
    }
    if (o->payload_len > 0 && o->payload == NULL) {
        otk_diag_set(diag, "image build: payload length %u with no payload",
                     (unsigned)o->payload_len);
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t page = build_page_size(o, chip);
    if (page == 0) {
        otk_diag_set(diag, "image build: MMU page size not supported by %s", chip->display_name);
        return ESP_ERR_INVALID_ARG;
    }

    build_seg_t flash[BUILD_MAX_INPUT], ram[BUILD_MAX_INPUT];
    size_t n_flash = 0, n_ram = 0;
    uint8_t desc[sizeof(esp_app_desc_t)];
    if (o->app != NULL) {
        if (o->payload_len >= OTK_IMAGE_SEGMENT_LEN_LIMIT - sizeof desc) {
            otk_diag_set(diag, "image build: payload of 0x%x bytes does not fit a segment",
                         (unsigned)o->payload_len);
            return ESP_ERR_INVALID_ARG;
        }
        otk_image_app_desc_make(o->app, o->payload, o->payload_len, desc);
        build_seg_t d = {chip->drom_start + OTK_IMAGE_DESC_OFFSET, desc, sizeof desc,
                         o->payload, o->payload_len, 0, 0, true};
        d.len = (uint32_t)((sizeof desc + o->payload_len + 3u) & ~3u);
        flash[n_flash++] = d;
    }
    for (size_t i = 0; i < o->segment_count; i++) {
        const otk_image_segment_src_t *src = &o->segments[i];
        if ((src->data == NULL && src->len > 0) || src->len >= OTK_IMAGE_SEGMENT_LEN_LIMIT - 3) {
            otk_diag_set(diag, "image build: segment %zu: %s", i,
                         src->data == NULL ? "no data" : "length is not below 16 MiB");
            return ESP_ERR_INVALID_ARG;
        }
        build_seg_t s = {src->load_addr, src->data, src->len, NULL, 0, 0, 0, src->first};
        /* esptool pads every real segment to 4 bytes; load address 0 is its padding. */
        s.len = src->load_addr != 0 ? ((src->len + 3u) & ~3u) : src->len;
        if (otk_image_chip_is_mapped(chip, s.addr)) {
            flash[n_flash++] = s;
        } else {
            ram[n_ram++] = s;
        }
    }
    order_group(flash, n_flash);
    order_group(ram, n_ram);
    for (size_t i = 1; i < n_flash; i++) {
        if (flash[i].addr / page == flash[i - 1].addr / page) {
            otk_diag_set(diag,
                         "image build: flash segments at 0x%08x and 0x%08x land in the same "
                         "0x%x-byte MMU page",
                         (unsigned)flash[i - 1].addr, (unsigned)flash[i].addr, (unsigned)page);
            return ESP_ERR_INVALID_ARG;
        }
    }

    writer_t w = {out, cap, 0, OTK_IMAGE_CHECKSUM_SEED, 0};
    esp_image_header_t hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.magic = ESP_IMAGE_HEADER_MAGIC;
    hdr.spi_mode = o->spi_mode;
    hdr.spi_speed = o->spi_speed & 0x0F;
    hdr.spi_size = o->spi_size & 0x0F;
    hdr.entry_addr = o->entry_addr != 0 ? o->entry_addr : chip->default_entry;
    hdr.wp_pin = ESP_IMAGE_WP_PIN_DISABLED;
    hdr.chip_id = (esp_chip_id_t)chip->chip_id;
    hdr.min_chip_rev = o->min_chip_rev;
    hdr.min_chip_rev_full = o->min_chip_rev_full;
    hdr.max_chip_rev_full = o->max_chip_rev_full;
    hdr.hash_appended = o->hash_appended ? 1 : 0;
    uint8_t hdr_bytes[OTK_IMAGE_HEADER_LEN];
    otk_image_header_encode(&hdr, hdr_bytes); /* segment count is patched at the end */
    put(&w, hdr_bytes, sizeof hdr_bytes);

    size_t fi = 0, ri = 0;
    while (fi < n_flash && w.count <= OTK_IMAGE_MAX_SEGMENTS) {
        build_seg_t *seg = &flash[fi];
        uint32_t gap = alignment_gap(w.pos, seg->addr, page);
        bool aligned = (w.pos + OTK_IMAGE_SEGMENT_HEADER_LEN) % page == seg->addr % page;
        if (gap > 0 || !aligned) {
            /* gap == 0 while misaligned: the gap is exactly one segment header, where
             * esptool trips an assertion; an empty padding segment fills it. */
            build_seg_t piece;
            if (ri < n_ram && gap > OTK_IMAGE_SEGMENT_HEADER_LEN) {
                piece = ram[ri];
                piece.len = gap < ram[ri].len ? gap : ram[ri].len;
                ram[ri].addr += piece.len;
                ram[ri].off += piece.len;
                ram[ri].len -= piece.len;
                if (ram[ri].len == 0) {
                    ri++;
                }
            } else {
                piece = zero_segment(gap);
            }
            if (piece.len % 4 != 0) {
                otk_diag_set(diag,
                             "image build: aligning the segment at 0x%08x needs a 0x%x-byte "
                             "padding segment, not a multiple of 4",
                             (unsigned)seg->addr, (unsigned)piece.len);
                return ESP_ERR_INVALID_ARG;
            }
            put_segment(&w, &piece);
            continue;
        }
        if (chip->pad_mapped_tail) {
            uint32_t end = w.pos + OTK_IMAGE_SEGMENT_HEADER_LEN + seg->len;
            if (end % page < ESP32_MAPPED_TAIL_MIN) {
                seg->len += ESP32_MAPPED_TAIL_MIN - end % page;
            }
        }
        put_segment(&w, seg);
        fi++;
    }
    for (; ri < n_ram; ri++) {
        put_segment(&w, &ram[ri]);
    }
    if (o->secure_pad_v2) {
        if (!o->hash_appended) {
            otk_diag_set(diag, "image build: secure pad v2 needs the appended SHA-256");
            return ESP_ERR_INVALID_ARG;
        }
        uint32_t past = (w.pos + OTK_IMAGE_SEGMENT_HEADER_LEN) % page;
        uint32_t room = SECURE_PAD_CHECKSUM_SPACE + OTK_SHA256_LEN;
        uint32_t pad = (uint32_t)(((int64_t)page - past - room) % page + page) % page;
        build_seg_t z = zero_segment(pad);
        put_segment(&w, &z);
    }
    if (w.count > OTK_IMAGE_MAX_SEGMENTS) {
        otk_diag_set(diag,
                     "image build: the layout needs %u segments with padding, at most %u "
                     "allowed",
                     w.count, OTK_IMAGE_MAX_SEGMENTS);
        return ESP_ERR_INVALID_ARG;
    }

    uint32_t block_end = otk_image_checksum_block_end(w.pos);
    put(&w, NULL, block_end - w.pos - 1);
    put(&w, &w.checksum, 1);
    uint32_t total = block_end + (o->hash_appended ? OTK_SHA256_LEN : 0);
    *out_len = total;
    if (out == NULL || cap < total) {
        otk_diag_set(diag, "image build: the image needs 0x%x bytes, the buffer has 0x%zx",
                     (unsigned)total, out == NULL ? (size_t)0 : cap);
        return ESP_ERR_INVALID_SIZE;
    }
    out[1] = w.count;
    if (o->hash_appended) {
        otk_sha256(out, block_end, out + block_end);
    }
    return ESP_OK;
}

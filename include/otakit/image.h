/* The image layer: ESP-IDF app and bootloader images (esp_image_format), byte-compatible.
 *
 * An image is a 24-byte header, up to 16 segments (8-byte header + data each), zero padding
 * so that a one-byte XOR checksum ends a 16-byte block, and optionally a SHA-256 of all of
 * that. An app's segment 0 is the flash-mapped DROM segment that begins with
 * esp_app_desc_t; a bootloader's may begin with esp_bootloader_desc_t.
 *
 * Four things live here:
 *   - a chip table (name, chip id, flash-mapped IROM/DROM windows, memory map for display);
 *   - a verifier: one streaming state machine fed chunk by chunk (as OTA writes arrive),
 *     and two wrappers over it (a memory buffer, a flash range), so there is one code path;
 *   - Secure Boot v2: the signature sector after an image (up to three RSA-3072-PSS or
 *     ECDSA P-256 blocks, as espsecure sign_data --version 2 writes it), checked against
 *     the key digests a device trusts (docs/security.md);
 *   - a builder that lays out an image the way esptool's elf2image does.
 *
 * Everything is fixed-size and allocation-free. Every rejection returns
 * ESP_ERR_IMAGE_INVALID and writes one diag line naming the field, where it is and expected
 * vs found; flash read errors are returned as they came from the flash layer. */
#ifndef OTAKIT_IMAGE_H
#define OTAKIT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_app_format.h"
#include "esp_bootloader_desc.h"
#include "esp_err.h"
#include "otakit/config.h"
#include "otakit/crypto.h"
#include "otakit/diag.h"
#include "otakit/flash.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTK_IMAGE_HEADER_LEN 24u         /* sizeof(esp_image_header_t) */
#define OTK_IMAGE_SEGMENT_HEADER_LEN 8u  /* sizeof(esp_image_segment_header_t) */
#define OTK_IMAGE_MAX_SEGMENTS 16u       /* ESP_IMAGE_MAX_SEGMENTS */
/* A segment's data_len must stay below this (ESP-IDF and esptool both refuse 16 MiB). */
#define OTK_IMAGE_SEGMENT_LEN_LIMIT 0x1000000u
/* The checksum byte is the last byte of a 16-byte block (esptool append_checksum). */
#define OTK_IMAGE_CHECKSUM_ALIGN 16u
/* Flash MMU page: the congruence unit of flash-mapped segments unless the chip has a
 * configurable page and the app descriptor picks a smaller one. */
#define OTK_IMAGE_MMU_PAGE_DEFAULT 0x10000u
/* ESP-IDF refuses to verify a partition larger than this on chips that map 24 bits. */
#define OTK_IMAGE_MAX_PARTITION_SIZE 0x1000000u
/* Image offset of esp_app_desc_t / esp_bootloader_desc_t: header + segment 0's header. */
#define OTK_IMAGE_DESC_OFFSET (OTK_IMAGE_HEADER_LEN + OTK_IMAGE_SEGMENT_HEADER_LEN)

/* ---------------------------------------------------------------------------------------
 * Chip table */

/* One entry of esptool's MEMORY_MAP: [start, end) and the memory type's name. */
typedef struct {
    uint32_t start;
    uint32_t end;
    const char *name;
} otk_image_mem_region_t;

#define OTK_IMAGE_FLASH_FREQ_CODES 16 /* the low nibble of header byte 3 */

typedef struct {
    const char *name;          /* CLI name: "esp32s2" */
    const char *display_name;  /* esptool's CHIP_NAME: "ESP32-S2" */
    uint16_t chip_id;          /* esp_chip_id_t */
    uint32_t irom_start, irom_end; /* flash-mapped instruction window [start, end) */
    uint32_t drom_start, drom_end; /* flash-mapped data window [start, end) */
    uint32_t default_entry;    /* builder's entry address when none is given */
    uint32_t bootloader_offset;/* where the second-stage bootloader sits in flash */
    uint8_t mmu_page_log2_min; /* smallest MMU page the app desc may select; 16 = fixed */
    bool pad_mapped_tail;      /* ESP32 only: esptool pads a mapped segment so it ends at
                                  least 0x24 bytes past an MMU page boundary */
    uint8_t default_spi_speed; /* ESP-IDF's default flash frequency code for the chip */
#if OTK_CONFIG_TOOLS /* display data (otakit/config.h) */
    const char *flash_freq_names[OTK_IMAGE_FLASH_FREQ_CODES]; /* NULL: not a valid code */
    const otk_image_mem_region_t *memory_map;
    uint8_t memory_map_len;
#endif
} otk_image_chip_t;

size_t otk_image_chip_count(void);
/* i < otk_image_chip_count(); NULL otherwise. */
const otk_image_chip_t *otk_image_chip_at(size_t i);
/* NULL when the chip id is not in the table. */
const otk_image_chip_t *otk_image_chip_by_id(uint16_t chip_id);
/* "esp32s2", "ESP32-S2" and "esp32-s2" all match; NULL when unknown. */
const otk_image_chip_t *otk_image_chip_by_name(const char *name);
/* Name for any esp_chip_id_t, also ids without a table entry ("ESP32-C61", "linux");
 * NULL when the id is unknown. */
const char *otk_image_chip_id_name(uint16_t chip_id);
/* True when addr lies in the chip's IROM or DROM window (esptool is_flash_addr). */
bool otk_image_chip_is_mapped(const otk_image_chip_t *chip, uint32_t addr);
/* esptool's "Memory types" column: every memory-map name covering addr, joined by ", "
 * (empty string when none). Always NUL-terminates. Returns the length written. */
size_t otk_image_chip_memory_types(const otk_image_chip_t *chip, uint32_t addr, char *out,
                                   size_t cap);

/* Header byte names as esptool prints and parses them. NULL / false when not valid. */
const char *otk_image_spi_mode_name(uint8_t spi_mode);    /* "QIO" "QOUT" "DIO" "DOUT" */
const char *otk_image_flash_size_name(uint8_t spi_size);  /* "1MB" .. "128MB" */
const char *otk_image_flash_freq_name(const otk_image_chip_t *chip, uint8_t spi_speed);
bool otk_image_parse_spi_mode(const char *text, uint8_t *spi_mode);   /* "dio", "QIO", ... */
bool otk_image_parse_flash_size(const char *text, uint8_t *spi_size); /* "4MB" */
bool otk_image_parse_flash_freq(const otk_image_chip_t *chip, const char *text,
                                uint8_t *spi_speed);                 /* "80m" */

/* ---------------------------------------------------------------------------------------
 * Secure Boot v2 signature sector (spec §6.9)
 *
 * A signed image is followed, at the next 4 KiB boundary, by one 4096-byte sector: up to
 * three 1216-byte signature blocks, then 0xFF filler. Each block signs the SHA-256 of every
 * byte before the sector (the image, its hash, the padding up to the boundary). Big numbers
 * in a block are little-endian. A key digest is the SHA-256 of the block's public key
 * material: RSA bytes [36, 812) (n, e, rinv, mdash), ECDSA bytes [36, 101) (curve id, x,
 * y); that is what eFuse holds (espsecure digest_sbv2_public_key). */

#define OTK_IMAGE_SIG_SECTOR_LEN 0x1000u /* one flash sector, aligned */
#define OTK_IMAGE_SIG_BLOCK_LEN 1216u    /* sizeof(ets_secure_boot_sig_block_t) */
#define OTK_IMAGE_SIG_MAX_BLOCKS 3u      /* blocks in a sector = key digests in eFuse */
#define OTK_IMAGE_SIG_MAGIC 0xE7u        /* ETS_SECURE_BOOT_V2_SIGNATURE_MAGIC */
#define OTK_IMAGE_SIG_VERSION_RSA 0x02u  /* RSA-3072-PSS (SIG_BLOCK_VERSION_RSA) */
#define OTK_IMAGE_SIG_VERSION_ECDSA 0x03u/* ECDSA (SIG_BLOCK_VERSION_ECDSA) */
#define OTK_IMAGE_SIG_ECDSA_SHA256 0x00u /* ECDSA block byte 2: the digest is SHA-256 */
#define OTK_IMAGE_SIG_CURVE_P256 2u      /* ECDSA curve id (1 P-192, 2 P-256, 3 P-384) */
/* Field offsets inside a block. */
#define OTK_IMAGE_SIG_OFF_VERSION 1u
#define OTK_IMAGE_SIG_OFF_SHA_TYPE 2u    /* ECDSA only; reserved (0) for RSA */
#define OTK_IMAGE_SIG_OFF_DIGEST 4u      /* the image digest the block signs */
#define OTK_IMAGE_SIG_OFF_KEY 36u        /* start of the public key material */
#define OTK_IMAGE_SIG_OFF_RSA_E 420u     /* u32; n is [36, 420) */
#define OTK_IMAGE_SIG_OFF_RSA_RINV 424u  /* 2^6144 mod n, for the ROM's Montgomery code */
#define OTK_IMAGE_SIG_OFF_RSA_MDASH 808u /* u32: -n^-1 mod 2^32 */
#define OTK_IMAGE_SIG_OFF_RSA_SIG 812u   /* 384 bytes; also the end of the key material */
#define OTK_IMAGE_SIG_OFF_EC_POINT 37u   /* x then y, 32 bytes each */
#define OTK_IMAGE_SIG_OFF_EC_SIG 101u    /* r then s; also the end of the key material */
#define OTK_IMAGE_SIG_OFF_CRC 1196u      /* u32 CRC-32 (zlib) of bytes [0, 1196) */

/* Secure Boot v2 on a device: the SECURE_BOOT_EN eFuse and the three key digest eFuse
 * blocks. An all-zero digest is a blank block: no key. */
typedef struct {
    bool enabled;
    uint8_t key_digest[OTK_IMAGE_SIG_MAX_BLOCKS][OTK_SHA256_LEN];
} otk_image_secure_boot_t;

/* What one signature block is, checked in this order (the first that applies). */
typedef enum {
    OTK_IMAGE_SIG_ABSENT = 0,      /* byte 0 is not the magic 0xE7 (erased, unsigned) */
    OTK_IMAGE_SIG_BAD_CRC,         /* magic present, CRC-32 of bytes [0, 1196) differs */
    OTK_IMAGE_SIG_BAD_VERSION,     /* version byte neither 0x02 (RSA) nor 0x03 (ECDSA) */
    OTK_IMAGE_SIG_UNSUPPORTED,     /* ECDSA on a curve or hash other than P-256 / SHA-256 */
    OTK_IMAGE_SIG_PRESENT,         /* well-formed; not checked (no trust given) */
    OTK_IMAGE_SIG_UNTRUSTED,       /* its key digest is not among the trusted ones */
    OTK_IMAGE_SIG_DIGEST_MISMATCH, /* trusted key, but the block signs another digest */
    OTK_IMAGE_SIG_BAD_KEY,         /* trusted digest, but the key material is not a key */
    OTK_IMAGE_SIG_BAD_SIGNATURE,   /* trusted key, right digest, signature does not verify */
    OTK_IMAGE_SIG_NO_CRYPTO,       /* the crypto backend cannot verify signatures */
    OTK_IMAGE_SIG_VERIFIED,        /* a trusted key's valid signature over this image */
} otk_image_sig_status_t;

typedef struct {
    otk_image_sig_status_t status;
    uint8_t magic;                       /* byte 0 as found (0xE7 in a block) */
    uint8_t version;                     /* byte 1 */
    int8_t trusted_slot;                 /* eFuse digest slot that matched; -1 none */
    uint32_t crc_stored, crc_computed;
    uint8_t key_digest[OTK_SHA256_LEN];  /* valid from PRESENT on */
    uint8_t image_digest[OTK_SHA256_LEN];/* the digest the block says it signs */
} otk_image_sig_block_info_t;

typedef struct {
    bool sector_read;          /* blocks[] describe the sector */
    uint32_t sector_offset;    /* image offset of the sector: round_up(total_len, 4 KiB) */
    uint8_t digest[OTK_SHA256_LEN]; /* SHA-256 of image bytes [0, sector_offset) */
    bool digest_done;          /* digest holds it */
    otk_image_sig_block_info_t blocks[OTK_IMAGE_SIG_MAX_BLOCKS];
    int8_t verified_block;     /* the first block that verified; -1 none */
    bool checked;              /* the verdict depended on it (secure boot enabled) */
} otk_image_sig_info_t;

/* "RSA-3072", "ECDSA", "unknown" for a block's version byte. */
const char *otk_image_sig_scheme_name(uint8_t version);
/* "absent", "bad CRC", ..., "verified". */
const char *otk_image_sig_status_name(otk_image_sig_status_t status);
/* True when the 32 bytes are all zero (a blank eFuse key block). */
bool otk_image_sig_digest_blank(const uint8_t digest[OTK_SHA256_LEN]);
/* The key digest of a block's key material (espsecure digest_sbv2_public_key). ESP_OK,
 * or ESP_ERR_INVALID_ARG when the version byte is not RSA or ECDSA P-256. */
esp_err_t otk_image_sig_key_digest(const uint8_t block[OTK_IMAGE_SIG_BLOCK_LEN],
                                   uint8_t out[OTK_SHA256_LEN]);

/* ---------------------------------------------------------------------------------------
 * Verification */

typedef enum {
    OTK_IMAGE_APP = 0,    /* an app partition's image (ESP-IDF's app context) */
    OTK_IMAGE_BOOTLOADER, /* an image at the bootloader offset */
    OTK_IMAGE_AUTO,       /* decide from segment 0: app when it begins with the app desc
                             magic, bootloader otherwise */
} otk_image_kind_t;

#define OTK_IMAGE_CHIP_ANY 0xFFFFFFFFu /* verify opts: accept any chip id */

typedef struct {
    otk_image_kind_t kind;
    uint32_t chip_id;            /* expected esp_chip_id_t, or OTK_IMAGE_CHIP_ANY */
    bool check_chip_rev;         /* apply the min/max revision rule against chip_rev */
    uint16_t chip_rev;           /* the chip's revision, major * 100 + minor */
    uint32_t max_size;           /* partition size: the image with its hash must fit; 0 =
                                    no limit */
    uint32_t flash_offset;       /* flash address of image byte 0 (mapping congruence is on
                                    flash addresses; 0 for files, as partitions are
                                    64 KiB-aligned) */
    bool require_hash;           /* reject images without an appended SHA-256 */
    bool check_bootloader_hash;  /* compare a bootloader's hash too (ESP-IDF does only with
                                    secure boot v2, as esptool may rewrite the header) */
    bool require_app_desc;       /* an app's segment 0 must begin with the app desc magic
                                    (always required on configurable-MMU chips) */
    /* Secure Boot v2. With secure_boot.enabled the image must be followed by a signature
     * sector (inside max_size) with a block whose key digest is one of the non-blank
     * key_digest entries and whose signature over the image verifies; otherwise
     * ESP_ERR_IMAGE_INVALID naming each block's reason. read_signature alone: hash up to
     * the sector and describe its blocks in info->sig when they are there, without
     * requiring them (image info). */
    otk_image_secure_boot_t secure_boot;
    bool read_signature;
} otk_image_verify_opts_t;

/* App kind, any chip, no revision check, no size limit, hash only when present, app desc
 * required, bootloader hash not compared, no signature required. */
void otk_image_verify_opts_init(otk_image_verify_opts_t *opts);

typedef struct {
    uint32_t load_addr;
    uint32_t data_len;
    uint32_t header_offset; /* image offset of the segment header (esptool "File offs") */
    uint32_t data_offset;   /* image offset of the data */
    bool mapped;            /* load_addr is in the chip's IROM/DROM window */
} otk_image_segment_info_t;

/* What the verifier saw. Fields are valid as far as the image was read (see flags). */
typedef struct {
    esp_image_header_t header;   /* valid when header_read */
    bool header_read;
    const otk_image_chip_t *chip;/* NULL when the header's chip id is not in the table */
    otk_image_kind_t kind;       /* APP or BOOTLOADER once known; AUTO before */
    uint8_t segments_read;       /* entries of segments[] that are filled */
    otk_image_segment_info_t segments[OTK_IMAGE_MAX_SEGMENTS];
    uint32_t mmu_page_size;      /* the page the mapping check used */
    uint32_t data_end;           /* image offset after the last segment's data */
    uint32_t image_len;          /* bytes through the checksum block (hashed range) */
    uint32_t total_len;          /* image_len + 32 when a hash is appended */
    bool checksum_read;
    uint8_t checksum_stored;     /* the byte at image_len - 1 */
    uint8_t checksum_computed;   /* 0xEF XOR every segment data byte */
    bool checksum_valid;
    bool hash_appended;          /* header byte 23 is non-zero */
    bool hash_read;
    uint8_t hash_stored[OTK_SHA256_LEN];
    uint8_t hash_computed[OTK_SHA256_LEN]; /* SHA-256 of [0, image_len): valid once the
                                              checksum block was read, hash or not */
    bool hash_valid;
    bool hash_checked;           /* the hash took part in the verdict */
    bool has_app_desc;           /* app_desc holds segment 0's esp_app_desc_t */
    esp_app_desc_t app_desc;
    bool has_bootloader_desc;    /* bootloader_desc holds segment 0's descriptor */
    esp_bootloader_desc_t bootloader_desc;
    bool complete;               /* the image was read through its end */
    otk_image_sig_info_t sig;    /* the signature sector (opts secure_boot / read_signature) */
    esp_err_t verdict;           /* ESP_OK, ESP_ERR_IMAGE_INVALID, or a flash error */
} otk_image_info_t;

/* The streaming verifier. Plain data with no pointers into the caller (it may be copied
 * to checkpoint a verification). Feed bytes from image offset 0 on, in chunks of any
 * size; it finds the end of the image itself and ignores bytes fed after it (a signature
 * sector, the rest of a partition). */
typedef struct {
    otk_image_verify_opts_t opts;
    otk_image_info_t info;
    otk_sha256_ctx_t sha;
    uint64_t xor_acc;      /* running XOR of segment data, 8 lanes folded at the end */
    uint32_t pos;          /* image offset of the next byte */
    uint32_t state_end;    /* image offset where the current state ends */
    uint32_t desc_len;     /* bytes of segment 0 captured for the descriptors */
    uint8_t state;
    uint8_t seg;           /* segment being read */
    uint8_t buf[OTK_SHA256_LEN]; /* header / segment header / pad block / hash bytes */
    uint8_t desc_raw[sizeof(esp_app_desc_t)]; /* first bytes of segment 0 (descriptors) */
    esp_err_t err;         /* first problem found; ESP_OK while none */
    bool stopped;          /* the problem makes reading on meaningless */
    otk_diag_t diag;       /* reason for err */
#if OTK_CONFIG_SECURE_BOOT
    /* The image's hash carried on past the checksum block through the appended SHA-256
     * and the padding to the signature sector (a copy of sha forked there). */
    otk_sha256_ctx_t sig_sha;
#endif
} otk_image_stream_t;

void otk_image_stream_init(otk_image_stream_t *s, const otk_image_verify_opts_t *opts);
/* Take the next len bytes. Returns ESP_OK while the image is still fine so far, else
 * ESP_ERR_IMAGE_INVALID (with diag) from the first problem on; a caller may stop feeding
 * then. Bytes after the end of the image are not used. NULL data with len > 0:
 * ESP_ERR_INVALID_ARG (the stream is left as it was). */
esp_err_t otk_image_stream_feed(otk_image_stream_t *s, const void *data, size_t len,
                                otk_diag_t *diag);
/* True once the image's last byte (checksum block, or hash) was fed, or reading stopped;
 * with a signature to read, once the padding before its sector was fed too. The sector
 * itself is not the stream's: otk_image_sig_check_* read it. */
bool otk_image_stream_done(const otk_image_stream_t *s);
/* Bytes of the image consumed so far. */
uint32_t otk_image_stream_pos(const otk_image_stream_t *s);
/* The SHA-256 state over image bytes [0, image_len), the range the appended hash covers,
 * once the stream has read the checksum block (else false). A copy continued over the
 * bytes after the image gives the hash of a whole file without hashing it a second time. */
bool otk_image_stream_sha_at_end(const otk_image_stream_t *s, otk_sha256_ctx_t *out,
                                 uint32_t *image_len);
/* True when a and b verify under the same rules and have taken the same bytes (position,
 * state, checksum and SHA-256 so far): a resumed update compares the verifier it rebuilt
 * from flash with the one its checkpoint saved. */
bool otk_image_stream_same(const otk_image_stream_t *a, const otk_image_stream_t *b);
/* The verdict: ESP_OK only when the whole image was fed and every rule held. An image
 * cut short is ESP_ERR_IMAGE_INVALID ("truncated"). info may be NULL. */
esp_err_t otk_image_stream_finish(otk_image_stream_t *s, otk_image_info_t *info,
                                  otk_diag_t *diag);

/* The signature sector of an image whose stream has finished (info from
 * otk_image_stream_finish, with info->sig.digest_done): read its three blocks from
 * data[info->sig.sector_offset ..) (len bytes in all) or from flash at image_offset +
 * info->sig.sector_offset, describe them in info->sig, and give the verdict opts asks
 * for: with opts->secure_boot.enabled ESP_OK only when a trusted block verifies, else
 * ESP_OK (the blocks are only described). A sector cut short counts as absent blocks;
 * flash read errors are returned as they came. info->verdict is updated. The buffer and
 * flash verifiers call these themselves; esp_ota_end's one-pass path calls the flash one
 * after its stream. A block is handled in a 1216-byte buffer on the stack (about 2 KiB of
 * stack with the RSA key and signature turned big-endian for the crypto port). */
esp_err_t otk_image_sig_check_buffer(const void *data, size_t len,
                                     const otk_image_verify_opts_t *opts,
                                     otk_image_info_t *info, otk_diag_t *diag);
esp_err_t otk_image_sig_check_flash(otk_flash_t *flash, uint32_t image_offset,
                                    const otk_image_verify_opts_t *opts,
                                    otk_image_info_t *info, otk_diag_t *diag);

/* Verify the image at the start of a memory buffer (len bytes; the image may be shorter).
 * info and diag may be NULL; opts NULL means otk_image_verify_opts_init's defaults. */
esp_err_t otk_image_verify_buffer(const void *data, size_t len,
                                  const otk_image_verify_opts_t *opts, otk_image_info_t *info,
                                  otk_diag_t *diag);

/* Verify the image at flash [offset, offset + max_size) (a partition). opts->max_size and
 * opts->flash_offset are replaced by max_size and offset. Reads stop at the image's end or
 * its first problem. max_size 0 or above 16 MiB: ESP_ERR_INVALID_ARG (ESP-IDF step 1).
 * Flash read errors are returned unchanged. */
esp_err_t otk_image_verify_flash(otk_flash_t *flash, uint32_t offset, uint32_t max_size,
                                 const otk_image_verify_opts_t *opts, otk_image_info_t *info,
                                 otk_diag_t *diag);
/* The same with the verifier's state in caller storage (*stream, about 2.3 KiB with the
 * diagnostic text) instead of on the stack: for small stacks (the boot layer). Flash is
 * read OTK_CONFIG_IO_CHUNK bytes at a time into a buffer on the stack. */
esp_err_t otk_image_verify_flash_with(otk_flash_t *flash, uint32_t offset, uint32_t max_size,
                                      const otk_image_verify_opts_t *opts,
                                      otk_image_info_t *info, otk_diag_t *diag,
                                      otk_image_stream_t *stream);

/* Chip revision rule of ESP-IDF (bootloader_common_check_chip_validity): ESP_OK or
 * ESP_ERR_IMAGE_INVALID with the reason. max is checked for apps only. */
esp_err_t otk_image_check_chip_rev(const esp_image_header_t *hdr, uint16_t chip_rev,
                                   bool is_app, otk_diag_t *diag);

/* Decode / encode the 24 header bytes field by field (little-endian, any host). */
void otk_image_header_decode(const uint8_t bytes[OTK_IMAGE_HEADER_LEN],
                             esp_image_header_t *hdr);
void otk_image_header_encode(const esp_image_header_t *hdr,
                             uint8_t bytes[OTK_IMAGE_HEADER_LEN]);
/* Decode descriptors from raw bytes (256 / 80 bytes). */
void otk_image_app_desc_decode(const uint8_t *bytes, esp_app_desc_t *desc);
void otk_image_bootloader_desc_decode(const uint8_t *bytes, esp_bootloader_desc_t *desc);

/* ---------------------------------------------------------------------------------------
 * Builder */

/* One segment given to the builder: data is copied, zero-padded to a multiple of 4. */
typedef struct {
    uint32_t load_addr;
    const uint8_t *data;
    uint32_t len;
    bool first; /* keep it at the head of its group (flash-mapped or RAM), as esptool does
                   with .flash.appdesc and .dram0.bootdesc; otherwise sorted by address */
} otk_image_segment_src_t;

/* The app descriptor's fields. Strings are cut to fit their field with a NUL (ESP-IDF cuts
 * version, project_name and idf_ver to 31 characters); NULL means empty. */
typedef struct {
    const char *project_name;
    const char *version;
    const char *idf_ver;
    const char *date;      /* __DATE__ style: "Sep 13 2022" */
    const char *time;      /* __TIME__ style: "19:46:07" */
    uint32_t secure_version;
    const uint8_t *elf_sha256;  /* 32 bytes, or NULL: SHA-256 of the payload */
    uint16_t min_efuse_blk_rev_full;
    uint16_t max_efuse_blk_rev_full;
    uint8_t mmu_page_size_log2; /* 0: chip default (64 KiB) */
} otk_image_app_fields_t;

typedef struct {
    uint16_t chip_id;
    uint32_t entry_addr;        /* 0: the chip's default_entry */
    uint8_t spi_mode;           /* header byte 2 (esp_image_spi_mode_t) */
    uint8_t spi_speed;          /* header byte 3, low nibble */
    uint8_t spi_size;           /* header byte 3, high nibble */
    uint8_t min_chip_rev;       /* legacy byte */
    uint16_t min_chip_rev_full;
    uint16_t max_chip_rev_full; /* esptool elf2image default: 0xFFFF (not set) */
    bool hash_appended;
    bool secure_pad_v2;         /* pad so the image + hash ends on an MMU page (signing) */
    uint32_t mmu_page_size;     /* 0: from app->mmu_page_size_log2, else 64 KiB */
    /* Segments as they would come from the ELF (after esptool's merge of adjacent
     * sections). May be empty when app + payload are given. */
    const otk_image_segment_src_t *segments;
    size_t segment_count;
    /* When non-NULL, the builder makes the app's DROM segment at the chip's DROM start +
     * 0x20: esp_app_desc_t followed by the payload, first among flash-mapped segments. */
    const otk_image_app_fields_t *app;
    const uint8_t *payload;
    uint32_t payload_len;
} otk_image_build_opts_t;

/* The chip's defaults: DIO, its default frequency, 2MB, entry 0 (chip default), hash on,
 * min rev 0, max rev 0xFFFF, no segments, no app. */
void otk_image_build_opts_init(otk_image_build_opts_t *opts, uint16_t chip_id);

/* Lay out and write the image into out[0..cap). *out_len gets the image's length (also
 * when out is NULL or cap is too small: then ESP_ERR_INVALID_SIZE, nothing promised about
 * out). Layout follows esptool's ESP32FirmwareImage.save: flash-mapped segments sorted by
 * address, each placed so data offset == load_addr mod the MMU page by first splitting RAM
 * segments into the gap and otherwise inserting a zero segment with load_addr 0; remaining
 * RAM segments after; checksum at the end of a 16-byte block; then SHA-256. Errors:
 * ESP_ERR_INVALID_ARG (unknown chip, bad segment, two mapped segments in one page, more
 * than 16 segments after padding), with diag. */
esp_err_t otk_image_build(const otk_image_build_opts_t *opts, uint8_t *out, size_t cap,
                          size_t *out_len, otk_diag_t *diag);

/* Fill a 256-byte esp_app_desc_t image from fields (what the builder puts first). */
void otk_image_app_desc_make(const otk_image_app_fields_t *fields, const uint8_t *payload,
                             uint32_t payload_len, uint8_t out[sizeof(esp_app_desc_t)]);

#ifdef __cplusplus
}
#endif
#endif

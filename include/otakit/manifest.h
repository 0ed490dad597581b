/* The update list of the service (ESP-ADF's ota_service): its nodes, ADF's version
 * numbers, relative URI resolution, and the JSON manifest that carries a list to a fleet.
 *
 * A manifest (docs/manifest.md has the full format):
 *
 *   {"nodes": [
 *      {"type": "app", "uri": "app-2.0.0.bin", "version": "V2.0.0",
 *       "sha256": "<64 hex>", "size": 65872},
 *      {"type": "data", "label": "storage", "uri": "storage.bin", "version": "V1.0.1",
 *       "sha256": "<64 hex>", "size": 4096, "staging": "staging"}]}
 *
 * Relative URIs are resolved against the manifest's own URI (RFC 3986 section 5), so a
 * manifest and its images can move together. Parsing is strict about what it knows (a
 * wrong type or a malformed hash is an error naming the field) and ignores keys it does
 * not know, so a newer manifest with extra fields still reads on an older device.
 *
 * Parsing uses cJSON (what ESP-IDF itself ships); a parsed manifest owns heap memory:
 * release it with otk_manifest_free. */
#ifndef OTAKIT_MANIFEST_H
#define OTAKIT_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "otakit/crypto.h"
#include "otakit/diag.h"
#include "otakit/partition.h"
#include "otakit/source.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions (ADF's ota_get_version_number) -------------------------------------------- */

/* ADF refuses version strings longer than this. */
#define OTK_VERSION_TEXT_MAX 32u
/* Each of the three parts is packed into 8 bits. */
#define OTK_VERSION_PART_MAX 255u
/* "No version": what an unparsable string packs to, and what an unknown current version
 * is, so that every valid incoming version is newer than it (as in ADF). */
#define OTK_VERSION_NONE (-1)

/* "V1.2.3" or "v1.2.3" -> (1 << 16) | (2 << 8) | 3. Exactly three dot-separated decimal
 * parts of 1-3 digits, each 0-255, after a leading 'v' or 'V', nothing else, at most
 * OTK_VERSION_TEXT_MAX characters; anything else is OTK_VERSION_NONE. NULL is NONE. */
int32_t otk_version_pack(const char *text);
/* The canonical text of a packed version ("V1.2.3"); "none" for OTK_VERSION_NONE.
 * out must hold OTK_VERSION_TEXT_MAX + 1 bytes. Returns out. */
char *otk_version_format(int32_t packed, char *out);

/* ---- relative URIs (RFC 3986 section 5.2) --------------------------------------------- */

/* Resolve reference `ref` against the absolute URI `base` (both NUL-terminated) into out:
 * RFC 3986's algorithm (strict: a reference with a scheme is absolute), dot segments
 * removed, the fragment dropped (it is never sent to a server). Pure string work: the
 * result is not checked to be a URI the source layer accepts. Errors with diag:
 * ESP_ERR_INVALID_ARG (base has no scheme, empty base), ESP_ERR_INVALID_SIZE (the result
 * does not fit cap). */
esp_err_t otk_uri_resolve(const char *base, const char *ref, char *out, size_t cap,
                          otk_diag_t *diag);

/* ---- nodes ------------------------------------------------------------------------------ */

/* At most this many nodes in a list: ADF's result mask and event id are 8-bit; a device
 * has a handful of partitions worth updating. */
#define OTK_MANIFEST_MAX_NODES 16u
/* A manifest is a few hundred bytes per node; 256 KiB leaves room for inline CAs. */
#define OTK_MANIFEST_TEXT_MAX (256u * 1024u)
/* A CA bundle for one node (ADF's cert_pem): a few certificates. */
#define OTK_MANIFEST_CA_MAX (64u * 1024u)

typedef enum {
    OTK_NODE_APP = 0, /* the next OTA app slot, through the OTA engine */
    OTK_NODE_DATA,    /* a data partition named by label */
} otk_node_type_t;

struct otk_service_steps; /* otakit/service.h */

/* One upgrade (ADF's ota_upgrade_ops_t: node attributes, flags, steps). */
typedef struct {
    otk_node_type_t type;
    /* data: the partition to update (required). app: unused ("" ), as in ADF: an app goes
     * to esp_ota_get_next_update_partition(NULL). */
    char label[OTK_PARTITION_LABEL_LEN + 1];
    /* data: a spare data partition the image is downloaded into and verified in before
     * the target is touched ("" : the service's default, else written in place; see
     * docs/service.md). */
    char staging[OTK_PARTITION_LABEL_LEN + 1];
    char uri[OTK_URI_MAX + 1]; /* absolute: file://, http://, https:// */
    /* "Vx.y.z" or "" when not given. app: must equal the image's own version; data: the
     * version of a raw image (an image with an otakit data header carries its own). */
    char version[OTK_VERSION_TEXT_MAX + 1];
    bool has_sha256;
    uint8_t sha256[OTK_SHA256_LEN]; /* of the whole downloaded file */
    bool has_size;
    uint32_t size; /* bytes of the whole file */
    /* PEM CA(s) for https (ADF's cert_pem); NULL: the run's CA or the system store.
     * Owned by the manifest when parsed; the caller's otherwise. */
    char *cert_pem;
    bool reboot_flag;      /* reboot after the list when this node succeeded */
    bool break_after_fail; /* a failure of this node stops the list */
    /* The steps of this node; NULL: the defaults for its type (otakit/service.h). */
    const struct otk_service_steps *steps;
} otk_service_node_t;

/* A node with ADF's defaults and the type's flags (see docs/manifest.md). */
void otk_service_node_init(otk_service_node_t *node, otk_node_type_t type);

/* "app", "data". */
const char *otk_node_type_name(otk_node_type_t type);

/* ---- the manifest ----------------------------------------------------------------------- */

typedef struct {
    size_t count;
    otk_service_node_t nodes[OTK_MANIFEST_MAX_NODES];
    /* "manifest_version" (a whole number, never lower than the last one a device with a
     * key accepted) and "expires" (RFC 3339 UTC): required when the device has a key. */
    bool has_manifest_version;
    uint64_t manifest_version;
    bool has_expires;
    int64_t expires; /* Unix seconds */
} otk_manifest_t;

/* Parse manifest text[0..len) (no NUL needed); relative node URIs are resolved against
 * base_uri (the manifest's own absolute URI; NULL: every node URI must be absolute).
 * Allocates *out. Errors (diag names the field: "nodes[1].sha256: ..."):
 * ESP_ERR_INVALID_ARG (not JSON, a field of the wrong type or value, a missing required
 * field, a URI the source layer refuses), ESP_ERR_INVALID_SIZE (too long, too many nodes),
 * ESP_ERR_NOT_SUPPORTED (a "format" newer than this reader), ESP_ERR_NO_MEM. */
esp_err_t otk_manifest_parse(const char *text, size_t len, const char *base_uri,
                             otk_manifest_t **out, otk_diag_t *diag);
/* NULL is a no-op. */
void otk_manifest_free(otk_manifest_t *manifest);

/* 64 hex digits (either case) -> 32 bytes. */
bool otk_sha256_from_hex(const char *hex, size_t len, uint8_t out[OTK_SHA256_LEN]);
/* 32 bytes -> 64 lowercase hex digits and a NUL. Returns out. */
char *otk_sha256_to_hex(const uint8_t sha[OTK_SHA256_LEN], char out[2 * OTK_SHA256_LEN + 1]);

/* ---- signed manifests (docs/manifest.md, "Signed manifests") ----------------------------- */

/* The signature of a manifest is a file beside it: the manifest URI's path with this
 * suffix (a query stays after it: ".../m.json?fleet=a" -> ".../m.json.sig?fleet=a"). */
#define OTK_MANIFEST_SIG_SUFFIX ".sig"
/* Its content: an ECDSA P-256 signature over the SHA-256 of the manifest's exact bytes, in
 * DER (what `openssl dgst -sha256 -sign KEY.pem` writes): SEQUENCE { INTEGER r, INTEGER s },
 * each at most 33 bytes (a leading 0 keeps a high bit positive): 2 + 2 * (2 + 33) bytes. */
#define OTK_MANIFEST_SIG_DER_MAX 72u
/* The signature as the crypto port takes it: r || s, big-endian. */
#define OTK_MANIFEST_SIG_RS_LEN (2u * OTK_P256_COORD_LEN)
/* The device's key: the P-256 public point x || y, big-endian. */
#define OTK_MANIFEST_KEY_LEN (2u * OTK_P256_COORD_LEN)
/* manifest_version is a JSON number, and the device keeps the last one in its JSON state
 * file: cJSON writes numbers with 15 significant digits, so 15 digits is what reads back
 * the same (a Unix time in milliseconds has 13). */
#define OTK_MANIFEST_VERSION_MAX 999999999999999ull
/* "YYYY-MM-DDTHH:MM:SSZ" and its NUL. */
#define OTK_RFC3339_LEN 21u

/* DER (strict: minimal lengths and integers, positive, nothing after) -> r || s.
 * ESP_ERR_INVALID_ARG with diag when it is not one. */
esp_err_t otk_manifest_sig_decode(const uint8_t *der, size_t len,
                                  uint8_t rs[OTK_MANIFEST_SIG_RS_LEN], otk_diag_t *diag);
/* r || s -> DER (minimal) into der[OTK_MANIFEST_SIG_DER_MAX]; returns its length. */
size_t otk_manifest_sig_encode(const uint8_t rs[OTK_MANIFEST_SIG_RS_LEN],
                               uint8_t der[OTK_MANIFEST_SIG_DER_MAX]);
/* The signature's URI for a manifest URI; false when it does not fit cap. */
bool otk_manifest_sig_uri(const char *manifest_uri, char *out, size_t cap);

/* Does sig (DER) sign text[0..len) under key? ESP_OK; ESP_ERR_INVALID_CRC (it does not:
 * another key, changed bytes, not a signature at all, r or s out of range; also a key that
 * is not a P-256 point, which configuring it rules out); ESP_ERR_NOT_SUPPORTED (the crypto
 * backend has no ECDSA). diag says which. */
esp_err_t otk_manifest_verify(const char *text, size_t len, const uint8_t *sig, size_t sig_len,
                              const uint8_t key[OTK_MANIFEST_KEY_LEN], otk_diag_t *diag);

/* "2026-05-01T12:00:00Z" (exactly this form: UTC, seconds, no fraction) -> Unix seconds.
 * false for anything else, an impossible date included. */
bool otk_rfc3339_parse(const char *text, int64_t *unix_s);
/* Unix seconds (years 1970..9999) -> "2026-05-01T12:00:00Z"; "?" outside. Returns out. */
char *otk_rfc3339_format(int64_t unix_s, char out[OTK_RFC3339_LEN]);

/* What a device trusts a manifest by. Without a key nothing below is enforced (a manifest
 * is taken as it comes, as before keys existed). With one: the manifest must be signed by
 * it, carry manifest_version and expires, not be expired at `now`, and its version must
 * not be below the floor (equal only for the very manifest recorded there). */
typedef struct {
    const uint8_t *key;        /* OTK_MANIFEST_KEY_LEN bytes; NULL: no key configured */
    int64_t now;               /* the device's clock, Unix seconds (tests set it) */
    bool has_floor;            /* a manifest was accepted before: */
    uint64_t floor;            /*   its manifest_version */
    uint8_t floor_sha256[OTK_SHA256_LEN]; /* and its bytes' SHA-256 */
} otk_manifest_trust_t;

/* The freshness checks of trust on a parsed manifest whose text hashes to sha256.
 * ESP_OK; ESP_ERR_INVALID_ARG (manifest_version or expires missing), ESP_ERR_INVALID_VERSION
 * (below the floor, or equal to it with other bytes), ESP_ERR_TIMEOUT (expired). */
esp_err_t otk_manifest_check_fresh(const otk_manifest_t *m, const uint8_t sha256[OTK_SHA256_LEN],
                                   const otk_manifest_trust_t *trust, otk_diag_t *diag);

/* ---- fetching a manifest ---------------------------------------------------------------- */

typedef struct {
    bool not_modified;                     /* the server (or file) still has `if_none_match` */
    char uri[OTK_URI_MAX + 1];             /* normalized: the base for relative URIs */
    char etag[OTK_SOURCE_ETAG_MAX + 1];    /* "" when none */
    uint8_t sha256[OTK_SHA256_LEN];        /* of the text (when fetched) */
} otk_manifest_fetch_t;

/* Fetch a manifest's text through the source layer. With if_none_match (an ETag from an
 * earlier fetch; NULL or "": none) an HTTP request carries If-None-Match, and a server
 * answering 304 (or a file whose ETag is unchanged) gives info->not_modified and no text.
 * Otherwise *text (malloc'd, NUL-terminated; free it) and *len get the body. Errors as
 * otk_source_open/read, plus ESP_ERR_INVALID_SIZE for a body over OTK_MANIFEST_TEXT_MAX. */
esp_err_t otk_manifest_fetch(const char *uri, const otk_source_opts_t *opts,
                             const char *if_none_match, char **text, size_t *len,
                             otk_manifest_fetch_t *info, otk_diag_t *diag);

/* Fetch the signature of the manifest at manifest_uri into sig. ESP_ERR_NOT_FOUND when there
 * is none (an unsigned manifest), ESP_ERR_INVALID_SIZE when the file is larger than a
 * signature can be, else the source's errors; all with diag. */
esp_err_t otk_manifest_fetch_sig(const char *manifest_uri, const otk_source_opts_t *opts,
                                 uint8_t sig[OTK_MANIFEST_SIG_DER_MAX], size_t *sig_len,
                                 otk_diag_t *diag);

/* Fetch, authenticate and parse: otk_manifest_fetch; with a key, the signature is fetched
 * and checked over the exact bytes *before* they are parsed; then otk_manifest_parse and
 * otk_manifest_check_fresh. On any refusal *out is NULL and nothing else happened (no
 * image is opened). info->not_modified: *out NULL, ESP_OK. Errors: the fetch's,
 * ESP_ERR_NOT_FOUND (unsigned: no signature file), otk_manifest_verify's, the parser's,
 * otk_manifest_check_fresh's; diag begins with the URI. */
esp_err_t otk_manifest_get(const char *uri, const otk_source_opts_t *opts,
                           const char *if_none_match, const otk_manifest_trust_t *trust,
                           otk_manifest_t **out, otk_manifest_fetch_t *info, otk_diag_t *diag);

#ifdef __cplusplus
}
#endif
#endif

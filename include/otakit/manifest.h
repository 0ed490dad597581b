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

#ifdef __cplusplus
}
#endif
#endif

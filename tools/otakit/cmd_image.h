/* `otakit image`: the shared pieces of its commands (info, verify, make, sign,
 * key-digest). */
#ifndef OTAKIT_CMD_IMAGE_H
#define OTAKIT_CMD_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/image.h"

/* Largest file `image info/verify` will read: a whole 64 MiB flash dump. */
#define CMD_IMAGE_MAX_FILE (64u * 1024u * 1024u)

/* An image file (or an image inside a flash dump at --offset), read and verified. */
typedef struct {
    const char *path;
    uint8_t *file;        /* whole file, owned */
    size_t file_len;
    uint32_t offset;      /* image start in the file */
    otk_image_verify_opts_t opts;
    otk_image_info_t info;
    otk_diag_t diag;
    esp_err_t err;
} cmd_image_file_t;

/* Options info and verify share: --chip, --chip-rev, --app, --bootloader, --offset,
 * --partition-size, --require-hash, --no-bootloader-hash. Returns 1 when argv[*i] (and
 * maybe its value) was one of them, 0 when not, -1 on a bad value (message printed). */
int cmd_image_common_option(const char *cmd, int argc, char **argv, int *i,
                            cmd_image_file_t *f);
void cmd_image_file_init(cmd_image_file_t *f);
/* Read f->path and verify the image at f->offset. False when the file cannot be read. */
bool cmd_image_file_load(cmd_image_file_t *f);
void cmd_image_file_free(cmd_image_file_t *f);

/* "--name VALUE" or "--name=VALUE": true and *value set when argv[*i] is that option. */
bool cmd_image_opt(int argc, char **argv, int *i, const char *name, const char **value);

/* The Secure Boot v2 signature sector's blocks, one line each (absent ones left out). */
void cmd_image_print_signature(const otk_image_sig_info_t *sig);

/* Lowercase hex of 32 bytes into out[65]. */
void cmd_image_hex32(const uint8_t *bytes, char *out);
const char *cmd_image_kind_name(otk_image_kind_t kind);

int cmd_image_info(int argc, char **argv);
int cmd_image_verify(int argc, char **argv);
int cmd_image_make(int argc, char **argv);
int cmd_image_sign(int argc, char **argv);       /* cmd_image_sign.c */
int cmd_image_key_digest(int argc, char **argv); /* cmd_image_sign.c */

#endif

/* Fuzz the CSV compiler with any text. Properties:
 *  - it never crashes; on failure the message is terminated and says something, the table
 *    is empty;
 *  - a CSV that compiles gives a binary that parses to the same entries under the app
 *    loader's rules, and under gen_esp32part's reader unless a name cut at 16 bytes split
 *    a UTF-8 character (the tool's own reader fails there too);
 *  - bin2csv of that binary, when names are plain, compiles back to the same binary. */
#include <stdlib.h>
#include <string.h>

#include "otakit/partition.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIN OTK_PARTITION_TABLE_BIN_SIZE

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

/* A small fixed environment; LONG overflows a line when expanded a few times. */
static const char *env(void *ctx, const char *name, size_t len)
{
    (void)ctx;
    static char long_value[600];
    if (long_value[0] == '\0') {
        memset(long_value, 'L', sizeof long_value - 1);
    }
    if (len == 1 && name[0] == 'A') {
        return "app";
    }
    if (len == 1 && name[0] == 'S') {
        return "0x1000";
    }
    if (len == 4 && memcmp(name, "LONG", 4) == 0) {
        return long_value;
    }
    return NULL;
}

static bool plain_names(const otk_partition_table_t *t)
{
    for (size_t i = 0; i < t->count; i++) {
        if (strlen(t->parts[i].label) == OTK_PARTITION_LABEL_LEN ||
            strpbrk(t->parts[i].label, "$#,") != NULL) {
            return false;
        }
        for (const char *l = t->parts[i].label; *l != '\0'; l++) {
            if ((unsigned char)*l <= ' ' || (unsigned char)*l >= 0x7F) {
                return false;
            }
        }
        /* a NUL inside a CSV name cuts it in CSV output, as gen_esp32part reads it back */
        for (size_t k = strlen(t->parts[i].label); k < OTK_PARTITION_LABEL_LEN; k++) {
            if (t->raw_label[i][k] != 0) {
                return false;
            }
        }
    }
    return true;
}

static void compile_and_check(const char *csv, size_t size, const otk_partition_gen_opts_t *o)
{
    static otk_partition_table_t t, back, again;
    static uint8_t bin[BIN], bin2[BIN];
    static char text[OTK_PARTITION_CSV_TEXT_MAX];
    otk_diag_t d;
    otk_diag_clear(&d);
    esp_err_t err = otk_partition_csv_compile(csv, size, o, &t, bin, &d);
    check(strlen(d.msg) < OTK_DIAG_MAX);
    if (err != ESP_OK) {
        check(t.count == 0 && d.msg[0] != '\0');
        return;
    }
    check(t.count <= OTK_PARTITION_TABLE_MAX - 1);
    otk_partition_rules_t gen = o->md5 ? OTK_PARTITION_RULES_GEN : OTK_PARTITION_RULES_GEN_NO_MD5;
    /* gen_esp32part cuts names at 16 bytes, which may split a UTF-8 character: then its own
     * reader refuses the table (a Python decode error); nothing else may fail. */
    if (otk_partition_table_parse(bin, BIN, gen, 0, &back, &d) == ESP_OK) {
        check(back.count == t.count);
    } else {
        check(strstr(d.msg, "not valid UTF-8") != NULL);
    }
    check(otk_partition_table_parse(bin, BIN, o->md5 ? OTK_PARTITION_RULES_APP_MD5
                                                     : OTK_PARTITION_RULES_APP, 0, &back, &d) ==
          ESP_OK);
    check(back.count == t.count);
    for (size_t i = 0; i < t.count; i++) {
        check(t.parts[i].type == back.parts[i].type && t.parts[i].address == back.parts[i].address &&
              t.parts[i].size == back.parts[i].size && t.flags[i] == back.flags[i] &&
              strcmp(t.parts[i].label, back.parts[i].label) == 0);
    }
    check(otk_partition_table_to_csv(&t, text, sizeof text, NULL) == ESP_OK);
    size_t n;
    if (!o->verify || !plain_names(&t) ||
        otk_partition_bin_to_csv(bin, BIN, o, text, sizeof text, &n, &d) != ESP_OK) {
        return;
    }
    check(otk_partition_csv_compile(text, n, o, &again, bin2, &d) == ESP_OK);
    check(memcmp(bin, bin2, BIN) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *csv = (const char *)data;
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    o.getvar = env;
    compile_and_check(csv, size, &o);
    /* The other options: bootloader entries placed, no MD5, checks off, secure v1. */
    o.primary_bootloader_offset = 0x1000;
    o.recovery_bootloader_offset = 0x300000;
    o.md5 = false;
    o.secure = OTK_PARTITION_SECURE_V1;
    o.flash_size = 0x400000;
    compile_and_check(csv, size, &o);
    o.verify = false;
    compile_and_check(csv, size, &o);
    return 0;
}

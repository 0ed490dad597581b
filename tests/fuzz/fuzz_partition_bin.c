/* Fuzz the binary table readers with any bytes, under every rule set. Properties:
 *  - a table that parses re-serializes to records identical to the input's (app-side
 *    rules, where records are contiguous), and the serialized table parses back to the
 *    same entries under the strictest rules (app loader with MD5, bootloader, gen);
 *  - labels handed out are NUL-terminated, at most 16 chars;
 *  - bin2csv either fails or gives text that, when the table is in address order with
 *    plain names, compiles back to the very same binary. */
#include <stdlib.h>
#include <string.h>

#include "otakit/partition.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHIP_SIZE 0x1000000u /* 16 MB: the biggest common chip */
#define BIN OTK_PARTITION_TABLE_BIN_SIZE

/* strnlen is POSIX; the harness sticks to C11. */
static size_t label_len(const char *label)
{
    size_t n = 0;
    while (n < OTK_PARTITION_LABEL_LEN + 1 && label[n] != '\0') {
        n++;
    }
    return n;
}

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static bool same_entries(const otk_partition_table_t *a, const otk_partition_table_t *b)
{
    if (a->count != b->count) {
        return false;
    }
    for (size_t i = 0; i < a->count; i++) {
        const esp_partition_t *x = &a->parts[i], *y = &b->parts[i];
        if (x->type != y->type || x->subtype != y->subtype || x->address != y->address ||
            x->size != y->size || x->readonly != y->readonly || a->flags[i] != b->flags[i] ||
            strcmp(x->label, y->label) != 0 ||
            memcmp(a->raw_label[i], b->raw_label[i], OTK_PARTITION_LABEL_LEN) != 0) {
            return false;
        }
    }
    return true;
}

/* Names CSV can carry unchanged: no separators, blanks, '#' or '$', and full length. */
static bool plain_names(const otk_partition_table_t *t)
{
    for (size_t i = 0; i < t->count; i++) {
        const char *l = t->parts[i].label;
        if (strlen(l) == OTK_PARTITION_LABEL_LEN) {
            return false;
        }
        for (; *l != '\0'; l++) {
            bool ok = (*l >= 'a' && *l <= 'z') || (*l >= 'A' && *l <= 'Z') ||
                      (*l >= '0' && *l <= '9') || *l == '_';
            if (!ok) {
                return false;
            }
        }
        /* bootloader / partition_table entries take their place from the options */
        if (t->parts[i].type == ESP_PARTITION_TYPE_BOOTLOADER ||
            t->parts[i].type == ESP_PARTITION_TYPE_PARTITION_TABLE) {
            return false;
        }
    }
    return true;
}

/* gen_esp32part itself only round-trips tables whose offsets ascend in table order. */
static bool ascending(const otk_partition_table_t *t, uint32_t table_offset)
{
    uint64_t end = (uint64_t)table_offset + OTK_PARTITION_SECTOR_SIZE;
    for (size_t i = 0; i < t->count; i++) {
        if (t->parts[i].address < end) {
            return false;
        }
        end = (uint64_t)t->parts[i].address + t->parts[i].size;
    }
    return true;
}

static void round_trip_csv(const uint8_t *data, size_t size)
{
    static otk_partition_table_t t, again;
    static char text[OTK_PARTITION_CSV_TEXT_MAX];
    static uint8_t bin[BIN], bin2[BIN];
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    otk_diag_t d;
    size_t n;
    if (otk_partition_bin_to_csv(data, size, &o, text, sizeof text, &n, &d) != ESP_OK) {
        check(strlen(d.msg) < OTK_DIAG_MAX);
        return;
    }
    check(strlen(text) == n);
    check(otk_partition_table_parse(data, size, OTK_PARTITION_RULES_GEN, 0, &t, &d) == ESP_OK);
    /* CSV carries names, not the bytes after a label's NUL */
    for (size_t i = 0; i < t.count; i++) {
        size_t len = label_len((const char *)t.raw_label[i]);
        len = len > OTK_PARTITION_LABEL_LEN ? OTK_PARTITION_LABEL_LEN : len;
        memset(t.raw_label[i] + len, 0, OTK_PARTITION_LABEL_LEN - len);
    }
    if (!plain_names(&t) || !ascending(&t, o.table_offset) ||
        otk_partition_table_serialize(&t, true, bin, &d) != ESP_OK) {
        return;
    }
    check(otk_partition_csv_compile(text, n, &o, &again, bin2, &d) == ESP_OK);
    check(memcmp(bin, bin2, BIN) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const otk_partition_rules_t rules[] = {
        OTK_PARTITION_RULES_APP_MD5, OTK_PARTITION_RULES_APP, OTK_PARTITION_RULES_BOOTLOADER,
        OTK_PARTITION_RULES_GEN, OTK_PARTITION_RULES_GEN_NO_MD5,
    };
    static otk_partition_table_t t, back;
    static uint8_t out[BIN], out2[BIN];
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        otk_diag_t d;
        otk_diag_clear(&d);
        esp_err_t err = otk_partition_table_parse(data, size, rules[r], CHIP_SIZE, &t, &d);
        check(strlen(d.msg) < OTK_DIAG_MAX);
        if (err != ESP_OK) {
            check(t.count == 0 && d.msg[0] != '\0');
            continue;
        }
        check(t.count <= OTK_PARTITION_TABLE_MAX);
        for (size_t i = 0; i < t.count; i++) {
            check(label_len(t.parts[i].label) <= OTK_PARTITION_LABEL_LEN);
            check(!t.parts[i].encrypted);
        }
        if (rules[r] == OTK_PARTITION_RULES_APP || rules[r] == OTK_PARTITION_RULES_APP_MD5) {
            check(size >= t.count * OTK_PARTITION_RECORD_SIZE);
            /* serialize needs room for the terminator, the loader does not */
            if (otk_partition_table_serialize(&t, false, out, &d) == ESP_OK) {
                check(memcmp(out, data, t.count * OTK_PARTITION_RECORD_SIZE) == 0);
            }
        }
        if (otk_partition_table_serialize(&t, true, out, &d) != ESP_OK) {
            check(t.count + 1 >= BIN / OTK_PARTITION_RECORD_SIZE);
            continue;
        }
        check(otk_partition_table_parse(out, BIN, OTK_PARTITION_RULES_APP_MD5, 0, &back, &d) ==
              ESP_OK);
        check(same_entries(&t, &back) && back.md5 == OTK_PARTITION_MD5_OK);
        check(otk_partition_table_serialize(&back, true, out2, &d) == ESP_OK);
        check(memcmp(out, out2, BIN) == 0);
        bool fits = true;
        for (size_t i = 0; i < t.count; i++) {
            fits = fits && t.parts[i].address <= CHIP_SIZE &&
                   t.parts[i].size <= CHIP_SIZE - t.parts[i].address;
        }
        esp_err_t boot = otk_partition_table_parse(out, BIN, OTK_PARTITION_RULES_BOOTLOADER,
                                                   CHIP_SIZE, &back, &d);
        /* the bootloader takes any serialized table (MD5 record included) that fits */
        check(boot == (fits ? ESP_OK : ESP_ERR_INVALID_SIZE));
        static char text[OTK_PARTITION_CSV_TEXT_MAX];
        check(otk_partition_table_to_csv(&t, text, sizeof text, NULL) == ESP_OK);
    }
    round_trip_csv(data, size);
    return 0;
}

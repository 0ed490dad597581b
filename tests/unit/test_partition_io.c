/* Lookup, bounded I/O inside a partition (spec §8: bounds, alignment, readonly, error
 * codes), esp_partition_get_sha256 (spec §6.4) and the esp_partition_* API over the current
 * table, on an emulated 4 MB flash holding partitions_two_ota. */
#include <string.h>

#include "esp_partition.h"
#include "otakit/crypto.h"
#include "otakit/flash.h"
#include "otakit/image.h"
#include "otakit/partition.h"
#include "test_support.h"

#define FOUR_MB 0x400000u

typedef struct {
    otk_flash_t *flash;
    otk_partition_table_t table;
} fixture_t;

static const char two_ota_csv[] = "nvs,      data, nvs,     ,        0x4000,\n"
                                  "otadata,  data, ota,     ,        0x2000,\n"
                                  "phy_init, data, phy,     ,        0x1000, readonly\n"
                                  "factory,  app,  factory, ,        1M,\n"
                                  "ota_0,    app,  ota_0,   ,        1M,\n"
                                  "ota_1,    app,  ota_1,   ,        1M,\n"
                                  "storage,  data, fat,     ,        0x1000,\n"
                                  "nvs2,     data, nvs,     ,        0x3000,\n";

static int setup(void **state)
{
    static fixture_t fx;
    assert_int_equal(otk_flash_mem_create(FOUR_MB, &fx.flash), ESP_OK);
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    otk_diag_t d;
    assert_int_equal(otk_partition_csv_compile(two_ota_csv, strlen(two_ota_csv), &o, &fx.table,
                                               NULL, &d), ESP_OK);
    assert_int_equal(otk_partition_table_write(fx.flash, 0x8000, &fx.table, true, &d), ESP_OK);
    assert_int_equal(otk_partition_table_load(fx.flash, 0x8000, OTK_PARTITION_RULES_APP_MD5,
                                              &fx.table, &d), ESP_OK);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    otk_partition_set_current_table(NULL);
    otk_flash_destroy(fx->flash);
    return 0;
}

static void test_find(void **state)
{
    fixture_t *fx = *state;
    const otk_partition_table_t *t = &fx->table;
    const esp_partition_t *p = otk_partition_find_first(t, ESP_PARTITION_TYPE_APP,
                                                        ESP_PARTITION_SUBTYPE_APP_OTA_1, NULL);
    assert_non_null(p);
    assert_string_equal(p->label, "ota_1");
    assert_ptr_equal(p, &t->parts[5]);
    p = otk_partition_find_first(t, ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, "otadata");
    assert_ptr_equal(p, &t->parts[1]);
    assert_null(otk_partition_find_first(t, ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_ANY,
                                         "otadata"));
    assert_null(otk_partition_find_first(t, ESP_PARTITION_TYPE_APP,
                                         ESP_PARTITION_SUBTYPE_APP_TEST, NULL));
    /* A subtype without a type finds nothing, as in ESP-IDF. */
    assert_null(otk_partition_find_first(t, ESP_PARTITION_TYPE_ANY,
                                         ESP_PARTITION_SUBTYPE_DATA_NVS, NULL));
    /* Iteration in table order. */
    size_t cursor = 0;
    const char *want[] = {"nvs", "nvs2"};
    for (int i = 0; i < 2; i++) {
        p = otk_partition_find_next(t, ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_NVS,
                                    NULL, &cursor);
        assert_non_null(p);
        assert_string_equal(p->label, want[i]);
    }
    assert_null(otk_partition_find_next(t, ESP_PARTITION_TYPE_DATA,
                                        ESP_PARTITION_SUBTYPE_DATA_NVS, NULL, &cursor));
    int apps = 0;
    cursor = 0;
    while (otk_partition_find_next(t, ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_ANY, NULL,
                                   &cursor) != NULL) {
        apps++;
    }
    assert_int_equal(apps, 3);
    assert_null(otk_partition_find_first(NULL, ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY,
                                         NULL));
}

static void test_verify(void **state)
{
    fixture_t *fx = *state;
    const otk_partition_table_t *t = &fx->table;
    esp_partition_t copy = t->parts[4];
    assert_ptr_equal(otk_partition_table_verify(t, &copy), &t->parts[4]);
    copy.label[0] = '\0'; /* an empty label matches any */
    assert_ptr_equal(otk_partition_table_verify(t, &copy), &t->parts[4]);
    copy.readonly = true; /* not compared */
    assert_ptr_equal(otk_partition_table_verify(t, &copy), &t->parts[4]);
    copy.size -= 0x1000;
    assert_null(otk_partition_table_verify(t, &copy));
    copy = t->parts[4];
    copy.flash_chip = NULL;
    assert_null(otk_partition_table_verify(t, &copy));
    copy = t->parts[4];
    copy.encrypted = true;
    assert_null(otk_partition_table_verify(t, &copy));
    copy = t->parts[4];
    strcpy(copy.label, "ota_9");
    assert_null(otk_partition_table_verify(t, &copy));
}

static void test_bounds(void **state)
{
    fixture_t *fx = *state;
    const esp_partition_t *nvs = &fx->table.parts[0]; /* 0x9000, 0x4000 */
    uint8_t buf[0x100];
    memset(buf, 0x5A, sizeof buf);
    assert_int_equal(otk_partition_read(nvs, 0x4001, buf, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_partition_read(nvs, 0x4000, buf, 0), ESP_OK);
    assert_int_equal(otk_partition_read(nvs, 0x4000, buf, 1), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_partition_read(nvs, 0x3F00, buf, 0x101), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_partition_read(nvs, 0x3F00, buf, 0x100), ESP_OK);
    assert_int_equal(otk_partition_read(nvs, 0, buf, SIZE_MAX), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_partition_write(nvs, 0x4001, buf, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_partition_write(nvs, 0x3FFF, buf, 2), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_partition_write(nvs, 8, buf, SIZE_MAX - 4), ESP_ERR_INVALID_SIZE);
    /* Erase: offset past the end or unaligned -> INVALID_ARG; size -> INVALID_SIZE. */
    assert_int_equal(otk_partition_erase_range(nvs, 0x5000, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_partition_erase_range(nvs, 0x800, 0x1000), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_partition_erase_range(nvs, 0x1000, 0x800), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_partition_erase_range(nvs, 0x1000, 0x4000), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_partition_erase_range(nvs, 0x4000, 0), ESP_OK);
    assert_int_equal(otk_partition_erase_range(nvs, 0, 0x4000), ESP_OK);
    /* No device, no partition. */
    esp_partition_t loose = *nvs;
    loose.flash_chip = NULL;
    assert_int_equal(otk_partition_read(&loose, 0, buf, 1), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_partition_read(NULL, 0, buf, 1), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_partition_write(nvs, 0, NULL, 1), ESP_ERR_INVALID_ARG);
    /* Encrypted partitions cannot be read or written on a host. */
    loose = *nvs;
    loose.encrypted = true;
    assert_int_equal(otk_partition_read(&loose, 0, buf, 1), ESP_ERR_NOT_SUPPORTED);
    assert_int_equal(otk_partition_write(&loose, 0, buf, 1), ESP_ERR_NOT_SUPPORTED);
    /* A hand-built partition with erase_size 0 erases by sector. */
    loose = *nvs;
    loose.erase_size = 0;
    assert_int_equal(otk_partition_erase_range(&loose, 0x800, 0x1000), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_partition_erase_range(&loose, 0x1000, 0x1000), ESP_OK);
}

static void test_readonly(void **state)
{
    fixture_t *fx = *state;
    const esp_partition_t *phy = &fx->table.parts[2];
    assert_true(phy->readonly);
    uint8_t b[4] = {0};
    /* readonly is checked before the range, as in ESP-IDF. */
    assert_int_equal(otk_partition_write(phy, 0, b, sizeof b), ESP_ERR_NOT_ALLOWED);
    assert_int_equal(otk_partition_write(phy, 0x10000, b, sizeof b), ESP_ERR_NOT_ALLOWED);
    assert_int_equal(otk_partition_erase_range(phy, 0, 0x1000), ESP_ERR_NOT_ALLOWED);
    assert_int_equal(otk_partition_erase_range(phy, 3, 3), ESP_ERR_NOT_ALLOWED);
    assert_int_equal(otk_partition_read(phy, 0, b, sizeof b), ESP_OK);
}

static void test_data_lands_in_place(void **state)
{
    fixture_t *fx = *state;
    const esp_partition_t *ota0 = &fx->table.parts[4]; /* 0x110000 */
    static const uint8_t data[] = {0x12, 0x34, 0x56, 0x78, 0x9A};
    assert_int_equal(otk_partition_write(ota0, 0x2345, data, sizeof data), ESP_OK);
    uint8_t back[sizeof data];
    assert_int_equal(otk_flash_read(fx->flash, 0x110000 + 0x2345, back, sizeof back), ESP_OK);
    assert_memory_equal(back, data, sizeof data);
    assert_int_equal(otk_partition_read(ota0, 0x2345, back, sizeof back), ESP_OK);
    assert_memory_equal(back, data, sizeof data);
    /* NOR: writing a 1 over a 0 fails and the flash says so. */
    static const uint8_t ones[] = {0xFF};
    assert_int_equal(otk_partition_write(ota0, 0x2345, ones, 1), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(otk_partition_erase_range(ota0, 0x2000, 0x1000), ESP_OK);
    assert_int_equal(otk_partition_read(ota0, 0x2345, back, 1), ESP_OK);
    assert_int_equal(back[0], 0xFF);
    /* The neighbour partition is untouched by a full erase. */
    assert_int_equal(otk_partition_write(&fx->table.parts[5], 0, data, 1), ESP_OK);
    assert_int_equal(otk_partition_erase_range(ota0, 0, ota0->size), ESP_OK);
    assert_int_equal(otk_flash_read(fx->flash, 0x210000, back, 1), ESP_OK);
    assert_int_equal(back[0], 0x12);
}

static void test_sha256_data(void **state)
{
    fixture_t *fx = *state;
    const esp_partition_t *storage = &fx->table.parts[6]; /* 0x1000 bytes */
    static const uint8_t data[] = "partition bytes";
    assert_int_equal(otk_partition_write(storage, 0x100, data, sizeof data), ESP_OK);
    uint8_t whole[0x1000];
    memset(whole, 0xFF, sizeof whole);
    memcpy(whole + 0x100, data, sizeof data);
    uint8_t want[32], got[32];
    otk_sha256(whole, sizeof whole, want);
    assert_int_equal(otk_partition_get_sha256(storage, got), ESP_OK);
    assert_memory_equal(got, want, 32);
    assert_int_equal(otk_partition_get_sha256(storage, NULL), ESP_ERR_INVALID_ARG);
}

/* Build an ESP32 app image of a payload. */
static size_t make_image(uint8_t *out, size_t cap, bool hash)
{
    static uint8_t payload[3000];
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (uint8_t)(i * 7);
    }
    otk_image_app_fields_t app = {.project_name = "part-test", .version = "1.0"};
    otk_image_build_opts_t o;
    otk_image_build_opts_init(&o, 0x0000);
    o.hash_appended = hash;
    o.app = &app;
    o.payload = payload;
    o.payload_len = sizeof payload;
    size_t len;
    otk_diag_t d;
    if (otk_image_build(&o, out, cap, &len, &d) != ESP_OK) {
        fail_msg("image build: %s", d.msg);
    }
    return len;
}

static void test_sha256_app(void **state)
{
    fixture_t *fx = *state;
    const esp_partition_t *factory = &fx->table.parts[3];
    static uint8_t img[16384];
    size_t len = make_image(img, sizeof img, true);
    assert_int_equal(otk_partition_write(factory, 0, img, len), ESP_OK);
    uint8_t got[32], want[32];
    assert_int_equal(otk_partition_get_sha256(factory, got), ESP_OK);
    assert_memory_equal(got, img + len - 32, 32); /* the appended digest */
    otk_sha256(img, len - 32, want);
    assert_memory_equal(got, want, 32);

    /* Without an appended digest: the SHA-256 of the image bytes (not the partition). */
    const esp_partition_t *ota0 = &fx->table.parts[4];
    len = make_image(img, sizeof img, false);
    assert_int_equal(otk_partition_write(ota0, 0, img, len), ESP_OK);
    otk_sha256(img, len, want);
    assert_int_equal(otk_partition_get_sha256(ota0, got), ESP_OK);
    assert_memory_equal(got, want, 32);

    /* A corrupt image, or none, is ESP_ERR_IMAGE_INVALID. */
    const esp_partition_t *ota1 = &fx->table.parts[5];
    assert_int_equal(otk_partition_get_sha256(ota1, got), ESP_ERR_IMAGE_INVALID);
    len = make_image(img, sizeof img, true);
    img[100] ^= 1;
    assert_int_equal(otk_partition_write(ota1, 0, img, len), ESP_OK);
    assert_int_equal(otk_partition_get_sha256(ota1, got), ESP_ERR_IMAGE_INVALID);
}

static void test_esp_api(void **state)
{
    fixture_t *fx = *state;
    otk_partition_set_current_table(NULL);
    assert_null(esp_partition_find(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, NULL));
    assert_null(esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_ANY,
                                         NULL));

    otk_partition_set_current_table(&fx->table);
    assert_ptr_equal(otk_partition_get_current_table(), &fx->table);
    const char *labels[8];
    int n = 0;
    esp_partition_iterator_t it =
        esp_partition_find(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, NULL);
    for (; it != NULL; it = esp_partition_next(it)) {
        labels[n++] = esp_partition_get(it)->label;
    }
    assert_int_equal(n, 8);
    assert_string_equal(labels[0], "nvs");
    assert_string_equal(labels[7], "nvs2");

    it = esp_partition_find(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_ANY, NULL);
    assert_non_null(it);
    assert_string_equal(esp_partition_get(it)->label, "factory");
    it = esp_partition_next(it);
    assert_string_equal(esp_partition_get(it)->label, "ota_0");
    esp_partition_iterator_release(it); /* released before the end */
    esp_partition_iterator_release(NULL);

    assert_null(esp_partition_find(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_DATA_OTA, NULL));
    assert_null(esp_partition_find(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_ANY, "nope"));
    it = esp_partition_find(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_ANY, "nvs2");
    assert_non_null(it);
    assert_null(esp_partition_next(it)); /* exhausted: freed by next */

    const esp_partition_t *otadata = esp_partition_find_first(
        ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_OTA, NULL);
    assert_ptr_equal(otadata, &fx->table.parts[1]);
    esp_partition_t copy = *otadata;
    assert_ptr_equal(esp_partition_verify(&copy), otadata);

    uint8_t b[4] = {1, 2, 3, 4}, r[4];
    assert_int_equal(esp_partition_erase_range(otadata, 0, 0x1000), ESP_OK);
    assert_int_equal(esp_partition_write(otadata, 0x10, b, 4), ESP_OK);
    assert_int_equal(esp_partition_read(otadata, 0x10, r, 4), ESP_OK);
    assert_memory_equal(r, b, 4);
    assert_int_equal(esp_partition_read(otadata, 0x2000, r, 1), ESP_ERR_INVALID_SIZE);
    uint8_t sha[32];
    assert_int_equal(esp_partition_get_sha256(otadata, sha), ESP_OK);
    /* Two partitions with the same bytes are identical; otadata now differs from erased. */
    const esp_partition_t *ota0 = &fx->table.parts[4], *ota1 = &fx->table.parts[5];
    assert_int_equal(esp_partition_erase_range(ota0, 0, ota0->size), ESP_OK);
    assert_int_equal(esp_partition_erase_range(ota1, 0, ota1->size), ESP_OK);
    assert_false(esp_partition_check_identity(ota0, ota1)); /* no image: not comparable */
    assert_true(esp_partition_check_identity(&fx->table.parts[0], &fx->table.parts[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_lands_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sha256_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sha256_app, setup, teardown),
        cmocka_unit_test_setup_teardown(test_esp_api, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

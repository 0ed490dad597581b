/* Type and subtype keywords, in gen_esp32part's dict order: its to_csv() prints the first
 * keyword whose value matches, and its error message lists them in this order. */
#include <stddef.h>

#include "partition_internal.h"

static const pt_keyword_t type_keywords[] = {
    {"bootloader", ESP_PARTITION_TYPE_BOOTLOADER},
    {"partition_table", ESP_PARTITION_TYPE_PARTITION_TABLE},
    {"app", ESP_PARTITION_TYPE_APP},
    {"data", ESP_PARTITION_TYPE_DATA},
};

static const pt_keyword_t bootloader_subtypes[] = {
    {"primary", ESP_PARTITION_SUBTYPE_BOOTLOADER_PRIMARY},
    {"ota", ESP_PARTITION_SUBTYPE_BOOTLOADER_OTA},
    {"recovery", ESP_PARTITION_SUBTYPE_BOOTLOADER_RECOVERY},
};

static const pt_keyword_t partition_table_subtypes[] = {
    {"primary", ESP_PARTITION_SUBTYPE_PARTITION_TABLE_PRIMARY},
    {"ota", ESP_PARTITION_SUBTYPE_PARTITION_TABLE_OTA},
};

/* factory and test first, then the 16 OTA slots, then the two TEE slots: the order in
 * which gen_esp32part fills its dict. */
static const pt_keyword_t app_subtypes[] = {
    {"factory", ESP_PARTITION_SUBTYPE_APP_FACTORY},
    {"test", ESP_PARTITION_SUBTYPE_APP_TEST},
    {"ota_0", ESP_PARTITION_SUBTYPE_APP_OTA_0},
    {"ota_1", ESP_PARTITION_SUBTYPE_APP_OTA_1},
    {"ota_2", ESP_PARTITION_SUBTYPE_APP_OTA_2},
    {"ota_3", ESP_PARTITION_SUBTYPE_APP_OTA_3},
    {"ota_4", ESP_PARTITION_SUBTYPE_APP_OTA_4},
    {"ota_5", ESP_PARTITION_SUBTYPE_APP_OTA_5},
    {"ota_6", ESP_PARTITION_SUBTYPE_APP_OTA_6},
    {"ota_7", ESP_PARTITION_SUBTYPE_APP_OTA_7},
    {"ota_8", ESP_PARTITION_SUBTYPE_APP_OTA_8},
    {"ota_9", ESP_PARTITION_SUBTYPE_APP_OTA_9},
    {"ota_10", ESP_PARTITION_SUBTYPE_APP_OTA_10},
    {"ota_11", ESP_PARTITION_SUBTYPE_APP_OTA_11},
    {"ota_12", ESP_PARTITION_SUBTYPE_APP_OTA_12},
    {"ota_13", ESP_PARTITION_SUBTYPE_APP_OTA_13},
    {"ota_14", ESP_PARTITION_SUBTYPE_APP_OTA_14},
    {"ota_15", ESP_PARTITION_SUBTYPE_APP_OTA_15},
    {"tee_0", ESP_PARTITION_SUBTYPE_APP_TEE_0},
    {"tee_1", ESP_PARTITION_SUBTYPE_APP_TEE_1},
};

static const pt_keyword_t data_subtypes[] = {
    {"ota", ESP_PARTITION_SUBTYPE_DATA_OTA},
    {"phy", ESP_PARTITION_SUBTYPE_DATA_PHY},
    {"nvs", ESP_PARTITION_SUBTYPE_DATA_NVS},
    {"coredump", ESP_PARTITION_SUBTYPE_DATA_COREDUMP},
    {"nvs_keys", ESP_PARTITION_SUBTYPE_DATA_NVS_KEYS},
    {"efuse", ESP_PARTITION_SUBTYPE_DATA_EFUSE_EM},
    {"undefined", ESP_PARTITION_SUBTYPE_DATA_UNDEFINED},
    {"esphttpd", ESP_PARTITION_SUBTYPE_DATA_ESPHTTPD},
    {"fat", ESP_PARTITION_SUBTYPE_DATA_FAT},
    {"spiffs", ESP_PARTITION_SUBTYPE_DATA_SPIFFS},
    {"littlefs", ESP_PARTITION_SUBTYPE_DATA_LITTLEFS},
    {"tee_ota", ESP_PARTITION_SUBTYPE_DATA_TEE_OTA},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

size_t pt_type_keywords(const pt_keyword_t **out)
{
    *out = type_keywords;
    return COUNT(type_keywords);
}

size_t pt_subtype_keywords(int64_t type, const pt_keyword_t **out)
{
    switch (type) {
    case ESP_PARTITION_TYPE_APP:
        *out = app_subtypes;
        return COUNT(app_subtypes);
    case ESP_PARTITION_TYPE_DATA:
        *out = data_subtypes;
        return COUNT(data_subtypes);
    case ESP_PARTITION_TYPE_BOOTLOADER:
        *out = bootloader_subtypes;
        return COUNT(bootloader_subtypes);
    case ESP_PARTITION_TYPE_PARTITION_TABLE:
        *out = partition_table_subtypes;
        return COUNT(partition_table_subtypes);
    default:
        *out = NULL;
        return 0;
    }
}

static const char *lookup(const pt_keyword_t *kw, size_t n, uint8_t value)
{
    for (size_t i = 0; i < n; i++) {
        if (kw[i].value == value) {
            return kw[i].name;
        }
    }
    return NULL;
}

const char *otk_partition_type_name(uint8_t type)
{
    const pt_keyword_t *kw;
    size_t n = pt_type_keywords(&kw);
    return lookup(kw, n, type);
}

const char *otk_partition_subtype_name(uint8_t type, uint8_t subtype)
{
    const pt_keyword_t *kw;
    size_t n = pt_subtype_keywords(type, &kw);
    return lookup(kw, n, subtype);
}

const char *otk_partition_md5_name(otk_partition_md5_t md5)
{
    switch (md5) {
    case OTK_PARTITION_MD5_OK:
        return "ok";
    case OTK_PARTITION_MD5_MISMATCH:
        return "mismatch";
    default:
        return "none";
    }
}

bool pt_is_primary(int64_t type, int64_t subtype)
{
    /* The primary bootloader and table sit below the first partition by design, so the
     * generator neither places them nor counts them as overlapping the table sector. */
    return (type == ESP_PARTITION_TYPE_BOOTLOADER &&
            subtype == ESP_PARTITION_SUBTYPE_BOOTLOADER_PRIMARY) ||
           (type == ESP_PARTITION_TYPE_PARTITION_TABLE &&
            subtype == ESP_PARTITION_SUBTYPE_PARTITION_TABLE_PRIMARY);
}

int64_t pt_offset_align(int64_t type)
{
    return type == ESP_PARTITION_TYPE_APP ? PT_APP_ALIGN : PT_DATA_ALIGN;
}

/* A simulated ESP device: its flash, its partition table, what booted, its configuration
 * (the Kconfig options that change OTA behaviour, its chip) and its eFuses, and a fixed
 * pool of OTA handles.
 *
 * Power-on runs the boot layer on the flash (the same rules as ESP-IDF's second-stage
 * bootloader), then loads the table as the app would and records the running partition.
 * Everything the device knows that ESP-IDF keeps outside flash (configuration, eFuses) is
 * in otk_device_config_t / efuse fields; the host side persists them (otakit/device_store.h)
 * so a device keeps its identity across power cycles.
 *
 * No allocation: an otk_device_t is plain data (about 26 KiB on a 64-bit host with the
 * diagnostic text); put it where you like. Power-on keeps the boot layer's working set in
 * it too, so booting a device needs little stack (docs/porting.md). */
#ifndef OTAKIT_DEVICE_H
#define OTAKIT_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_ota_ops.h"
#include "otakit/boot.h"
#include "otakit/flash.h"
#include "otakit/image.h"
#include "otakit/otadata.h"
#include "otakit/partition.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ESP-IDF allocates one entry per esp_ota_begin from the heap; a fixed pool needs a bound.
 * Four covers the real cases at once (app + bootloader + partition table + a data
 * partition) with none to spare; begin beyond it fails with ESP_ERR_NO_MEM as ESP-IDF does
 * when its allocation fails. */
#define OTK_DEVICE_MAX_HANDLES 4

typedef struct {
    /* CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE. Default on. */
    bool rollback;
    /* CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK (needs rollback). Default off. */
    bool anti_rollback;
    /* The chip the device is (esp_chip_id_t) and its revision (major * 100 + minor):
     * images for another chip or outside their revision range do not boot or install.
     * Default ESP32 (0), revision 3.0 (300). */
    uint16_t chip_id;
    uint16_t chip_rev;
    /* CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD. Default: the chip's
     * (otk_boot_efuse_default_bits). */
    uint8_t secure_version_bits;
    /* CONFIG_PARTITION_TABLE_OFFSET. Default 0x8000. */
    uint32_t table_offset;
    /* CONFIG_PARTITION_TABLE_MD5: the app loader requires the table's MD5 record.
     * Default on. */
    bool table_md5;
    /* How set_boot rewrites otadata when the target slot is already selected. Default
     * OTK_OTADATA_RULE_V6 (ESP-IDF v6.0+). */
    otk_otadata_rule_t otadata_rule;
    /* Secure Boot v2: the SECURE_BOOT_EN eFuse and the three key digest eFuse blocks
     * (burnt once at manufacturing and never changed by a boot, so they travel with the
     * configuration). On: the boot layer, esp_ota_end and esp_ota_set_boot_partition
     * accept only images with a signature block by a trusted key that verifies
     * (docs/security.md). Default off, all digests blank. */
    otk_image_secure_boot_t secure_boot;
} otk_device_config_t;

/* One OTA update in progress (an esp_ota_handle_t). Partition pointers are entries of
 * the device's table (identity is pointer equality, as in ESP-IDF). */
typedef struct {
    esp_ota_handle_t handle;        /* 0: this pool entry is free */
    const esp_partition_t *staging; /* where the bytes are written */
    const esp_partition_t *final;   /* what they are for (= staging unless set_final) */
    bool finalize_with_copy;        /* end copies staging -> final */
    bool need_erase;                /* OTA_WITH_SEQUENTIAL_WRITES: erase lazily in write */
    bool resumption;                /* begun by esp_ota_resume */
    bool with_offset;               /* write_with_offset was used: bytes may be out of order */
    uint32_t wrote_size;            /* bytes written (a count, as in ESP-IDF) */
    uint32_t erased_end;            /* OTA_WITH_SEQUENTIAL_WRITES: staging bytes
                                       [0, erased_end) were erased (or written) by this
                                       update; the lazy erase moves it on */
    uint32_t size_limit;            /* writes must stay below this: the declared image size
                                       rounded up to a sector, else the partition size */
    /* One-pass verification: bytes are fed to the verifier as they are read back from
     * flash right after programming. Valid while stream_ok: every byte of staging
     * [0, stream_end) went in, in order, and nothing changed them since. Only for finals
     * whose type end verifies as an image (app, bootloader). */
    bool stream_ok;
    uint32_t stream_end;
    otk_image_stream_t stream;
} otk_ota_entry_t;

typedef struct otk_device {
    otk_flash_t *flash; /* not owned */
    otk_device_config_t config;
    /* eFuse: the secure-version field, a thermometer bit pattern (boot.h). */
    uint32_t efuse_secure_version;

    /* Set at power-on. */
    bool powered;
    uint32_t boot_count;
    otk_boot_result_t boot;         /* what the boot layer did */
    otk_partition_table_t table;    /* the table as the app loads it (and, while the boot
                                       layer runs, its working copy: otk_boot_work_t) */
    otk_image_stream_t boot_stream; /* the boot layer's image verification (scratch) */
    const esp_partition_t *running; /* entry of `table`; NULL when the device did not boot */

    /* OTA engine state (reset at power-on: RAM does not survive a reset). */
    otk_ota_entry_t ota[OTK_DEVICE_MAX_HANDLES];
    esp_ota_handle_t last_handle; /* handles count up from 1 and are not reused in a run */
    /* What the OTA engine knows of flash contents (streams above, the verified image
     * below) holds only while nothing else programs or erases: ota_ops_mark is
     * flash->physical_ops after the engine's last flash change, and any other count at the
     * next engine call drops that knowledge (the engine then reads flash again). */
    uint64_t ota_ops_mark;
    /* The last app image that esp_ota_end verified, at verified_address: set_boot skips
     * verifying it again (and reading its app description) while nothing changed it.
     * verified_at_ops: flash->physical_ops when it was verified (for logs and tests). */
    bool verified_valid;
    uint32_t verified_address;
    uint64_t verified_at_ops;
    esp_app_desc_t verified_desc; /* its app description (valid when verified_valid) */

    /* esp_restart / mark_app_invalid_rollback_and_reboot asked for a reboot. */
    bool restart_requested;
} otk_device_t;

/* The defaults documented on each field. */
void otk_device_config_init(otk_device_config_t *config);

/* Attach a device to a flash with a configuration and eFuse state. Does not power on. */
esp_err_t otk_device_init(otk_device_t *dev, otk_flash_t *flash,
                          const otk_device_config_t *config, uint32_t efuse_secure_version);

/* Power on: the flash gets power, RAM state (handles, caches) is cleared, the boot layer
 * runs (it may write otadata and burn eFuse bits), then the table is loaded with the app
 * loader's rules and `running` set. Returns the boot result's error (ESP_ERR_NOT_FOUND when
 * nothing is bootable); dev->boot tells everything. */
esp_err_t otk_device_power_on(otk_device_t *dev);

/* The device's boot layer configuration (from config and eFuses). */
void otk_device_boot_config(const otk_device_t *dev, otk_boot_config_t *boot_config);

/* The running app's descriptor, or NULL when not booted / none. */
const esp_app_desc_t *otk_device_running_app(const otk_device_t *dev);

#ifdef __cplusplus
}
#endif
#endif

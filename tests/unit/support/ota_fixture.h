/* A device for OTA tests: a memory flash with a compiled partition table at 0x8000, app
 * images built for ESP32-C3 (the device is configured as one), and helpers to update,
 * reboot and look at otadata bytes. */
#ifndef OTA_FIXTURE_H
#define OTA_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/device.h"
#include "otakit/flash.h"
#include "otakit/ota.h"

#define OF_TABLE_OFFSET 0x8000u
#define OF_FLASH_SIZE 0x80000u      /* the small layouts: 64 KiB app slots */
#define OF_FLASH_SIZE_1M 0x400000u  /* OF_CSV_1M: 1 MiB app slots */
#define OF_CHIP ESP_CHIP_ID_ESP32C3 /* what the images and the device are */
#define OF_PAYLOAD_LEN 2048u        /* payload of a small image: about 2.4 KiB in all */
#define OF_IMAGE_MAX 0x10000u       /* room for a small image */

/* Layouts (gen_esp32part CSV). */
extern const char OF_CSV_FACTORY_2OTA[]; /* otadata, factory, ota_0, ota_1, spare (data 64K),
                                            tiny (data 16K), pt_ota (partition_table/ota
                                            4K), bl_ota (bootloader/ota 32K) */
extern const char OF_CSV_2OTA[];         /* otadata, ota_0, ota_1 */
extern const char OF_CSV_FACTORY_3OTA[]; /* otadata, factory, ota_0, ota_1, ota_2 */
extern const char OF_CSV_3OTA[];         /* otadata, ota_0, ota_1, ota_2 */
extern const char OF_CSV_FACTORY_ONLY[]; /* factory, no otadata */
extern const char OF_CSV_1M[];           /* partitions_two_ota.csv: nvs, otadata, phy_init,
                                            factory, ota_0, ota_1 of 1 MiB each */

/* A new memory flash of flash_size bytes holding the table compiled from csv (with MD5).
 * No app partition holds an image yet. Release with otk_flash_destroy. */
otk_flash_t *of_flash(const char *csv, uint32_t flash_size);

/* Build an app image for OF_CHIP: version string, secure_version, payload_len bytes of a
 * pattern seeded by the version. Returns the length; fails the test if cap is short. */
size_t of_build(uint8_t *out, size_t cap, const char *version, uint32_t secure_version,
                size_t payload_len);
/* The same into a static buffer (overwritten by the next call). */
const uint8_t *of_image(const char *version, uint32_t secure_version, size_t *len);

/* Put a small image straight into a partition (erase it whole, program), as a factory
 * flashing tool would: no OTA involved. */
void of_put(otk_flash_t *flash, const char *label, const char *version,
            uint32_t secure_version);

/* Rollback on, anti-rollback off, chip ESP32-C3 rev 0.4, eFuse field 16 bits. */
void of_config(otk_device_config_t *cfg);
/* Attach dev to flash with cfg (NULL: of_config) and eFuse, then power on; asserts both. */
void of_start(otk_device_t *dev, otk_flash_t *flash, const otk_device_config_t *cfg,
              uint32_t efuse);
/* The usual start: OF_CSV_FACTORY_2OTA with a factory app, dev powered on running it. */
otk_flash_t *of_start_factory(otk_device_t *dev);
/* otk_ota_begin on the partition labelled `label`; asserts ESP_OK, returns the handle. */
esp_ota_handle_t of_begin(otk_device_t *dev, const char *label, size_t size);

/* Power on again (a reset); asserts it boots. */
void of_reboot(otk_device_t *dev);

/* The device table's partition with that label (fails the test if none). */
const esp_partition_t *of_part(otk_device_t *dev, const char *label);
/* The running app's version string ("" if none). */
const char *of_running_version(const otk_device_t *dev);

/* begin(image_size) + writes of `chunk` bytes + end. Returns the first error (the handle
 * is aborted on a write error). */
esp_err_t of_update(otk_device_t *dev, const esp_partition_t *p, const uint8_t *image,
                    size_t len, size_t image_size, size_t chunk);
/* of_update with OTA_SIZE_UNKNOWN in 4 KiB chunks, then set_boot; asserts every step. */
void of_install(otk_device_t *dev, const char *label, const char *version,
                uint32_t secure_version);

/* otadata bytes. */
void of_otadata(otk_device_t *dev, esp_ota_select_entry_t e[2]);
/* Sector holds exactly {seq, 20 bytes label_byte, state, crc(seq)} then 0xFF to its end. */
void of_assert_entry(otk_device_t *dev, int sector, uint32_t seq, uint32_t state);
void of_assert_erased_sector(otk_device_t *dev, int sector);

/* Number of pool entries in use. */
int of_open_handles(const otk_device_t *dev);
/* True when every byte of the partition reads 0xFF. */
bool of_erased(otk_device_t *dev, const esp_partition_t *p, uint32_t offset, uint32_t len);
/* SHA-256 of a whole partition (for "these bytes did not change"). */
void of_hash(otk_flash_t *flash, const esp_partition_t *p, uint8_t out[32]);

#endif

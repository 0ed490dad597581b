/* The scenarios: each one a device with a history and a job for its app. Slots are 64 KiB
 * on 64 KiB boundaries (so begin's erase of a whole slot is one block erase) and the
 * flash ends right after the last partition, so a clone per run stays cheap. */
#include <string.h>

#include "sweep.h"

static const char CSV_2OTA[] = "otadata, data, ota,   0xd000,  0x2000\n"
                               "ota_0,   app,  ota_0, 0x10000, 0x10000\n"
                               "ota_1,   app,  ota_1, 0x20000, 0x10000\n";
static const char CSV_3OTA[] = "otadata, data, ota,   0xd000,  0x2000\n"
                               "ota_0,   app,  ota_0, 0x10000, 0x10000\n"
                               "ota_1,   app,  ota_1, 0x20000, 0x10000\n"
                               "ota_2,   app,  ota_2, 0x30000, 0x10000\n";
static const char CSV_FACTORY_3OTA[] = "otadata, data, ota,     0xd000,  0x2000\n"
                                       "factory, app,  factory, 0x10000, 0x10000\n"
                                       "ota_0,   app,  ota_0,   0x20000, 0x10000\n"
                                       "ota_1,   app,  ota_1,   0x30000, 0x10000\n"
                                       "ota_2,   app,  ota_2,   0x40000, 0x10000\n";

#define FLASH_2OTA 0x30000u
#define FLASH_3OTA 0x40000u
#define FLASH_FACTORY_3OTA 0x50000u

/* The two-slot history most scenarios start from: v0 flashed into ota_0 at the factory
 * (its first boot writes the initial otadata entry), then v1 installed over the air into
 * ota_1 and confirmed. So the update goes to ota_0 over v0, an image that must never run
 * again (a third image), and otadata holds two entries, as on a device in the field. */
#define IMG_V0 0
#define IMG_V1 1
#define IMG_NEW 2
#define TWO_SLOT_HISTORY                                                                   \
    .csv = CSV_2OTA, .flash_size = FLASH_2OTA, .flashed_label = "ota_0",                  \
    .flashed_image = IMG_V0, .setup = {IMG_V1}, .setup_count = 1

static const scenario_t SCENARIOS[] = {
    {
        .name = "update",
        .title = "full update (begin OTA_SIZE_UNKNOWN, writes, end, set_boot), first boot, "
                 "self-test confirm",
        TWO_SLOT_HISTORY,
        .images = {{"v0", 0, SELFTEST_PASS}, {"v1", 0, SELFTEST_PASS},
                   {"v2", 0, SELFTEST_PASS}},
        .image_count = 3,
        .job = JOB_INSTALL,
        .targets = {IMG_NEW},
        .target_count = 1,
        .begin_mode = BEGIN_SIZE_UNKNOWN,
    },
    {
        .name = "rollback",
        .title = "bad update: the new app resets before confirming; the bootloader rolls "
                 "back",
        TWO_SLOT_HISTORY,
        .images = {{"v0", 0, SELFTEST_PASS}, {"v1", 0, SELFTEST_PASS},
                   {"v2-crash", 0, SELFTEST_CRASH}},
        .image_count = 3,
        .job = JOB_INSTALL,
        .targets = {IMG_NEW},
        .target_count = 1,
        .begin_mode = BEGIN_SIZE_KNOWN,
    },
    {
        .name = "mark-invalid",
        .title = "bad update: the new app fails its self-test and calls "
                 "mark_app_invalid_rollback_and_reboot",
        TWO_SLOT_HISTORY,
        .images = {{"v0", 0, SELFTEST_PASS}, {"v1", 0, SELFTEST_PASS},
                   {"v2-reject", 0, SELFTEST_MARK_INVALID}},
        .image_count = 3,
        .job = JOB_INSTALL,
        .targets = {IMG_NEW},
        .target_count = 1,
        .begin_mode = BEGIN_SEQUENTIAL,
    },
    {
        .name = "erase-last",
        .title = "erase_last_boot_app_partition after a confirmed update (the old slot "
                 "and its otadata entry)",
        TWO_SLOT_HISTORY,
        .images = {{"v0", 0, SELFTEST_PASS}, {"v1", 0, SELFTEST_PASS}},
        .image_count = 2,
        .job = JOB_ERASE_LAST,
    },
    {
        .name = "resume",
        .title = "resumed update: the download stops after one chunk (reset), the app "
                 "resumes from its saved offset (esp_ota_resume)",
        TWO_SLOT_HISTORY,
        .images = {{"v0", 0, SELFTEST_PASS}, {"v1", 0, SELFTEST_PASS},
                   {"v2", 0, SELFTEST_PASS}},
        .image_count = 3,
        .job = JOB_INSTALL,
        .targets = {IMG_NEW},
        .target_count = 1,
        .begin_mode = BEGIN_SEQUENTIAL,
        .interrupt_after_chunks = 1,
    },
    {
        .name = "three-slot",
        .title = "three OTA slots, no factory, from the first boot (blank otadata): v1 "
                 "(ota_0) -> v2 (ota_1) -> v3 (ota_2), each confirmed",
        .csv = CSV_3OTA,
        .flash_size = FLASH_3OTA,
        .flashed_label = "ota_0",
        .flashed_image = 0,
        .setup_count = 0,
        .images = {{"v1", 0, SELFTEST_PASS}, {"v2", 0, SELFTEST_PASS},
                   {"v3", 0, SELFTEST_PASS}},
        .image_count = 3,
        .job = JOB_INSTALL,
        .targets = {1, 2},
        .target_count = 2,
        .begin_mode = BEGIN_SIZE_KNOWN,
    },
    {
        .name = "three-slot-factory",
        .title = "factory + three OTA slots: factory -> v2 (ota_0) -> v3 (ota_1), each "
                 "confirmed",
        .csv = CSV_FACTORY_3OTA,
        .flash_size = FLASH_FACTORY_3OTA,
        .flashed_label = "factory",
        .flashed_image = 0,
        .setup_count = 0,
        .images = {{"factory", 0, SELFTEST_PASS}, {"v2", 0, SELFTEST_PASS},
                   {"v3", 0, SELFTEST_PASS}},
        .image_count = 3,
        .job = JOB_INSTALL,
        .targets = {1, 2},
        .target_count = 2,
        .begin_mode = BEGIN_SIZE_UNKNOWN,
    },
    {
        .name = "anti-rollback",
        .title = "anti-rollback on: v1 (secure_version 1) -> v2 (secure_version 2); the "
                 "eFuse follows the confirm",
        TWO_SLOT_HISTORY,
        .anti_rollback = true,
        .images = {{"v0", 1, SELFTEST_PASS}, {"v1", 1, SELFTEST_PASS},
                   {"v2", 2, SELFTEST_PASS}},
        .image_count = 3,
        .job = JOB_INSTALL,
        .targets = {IMG_NEW},
        .target_count = 1,
        .begin_mode = BEGIN_SIZE_KNOWN,
    },
};

size_t scenario_count(void)
{
    return sizeof SCENARIOS / sizeof SCENARIOS[0];
}

const scenario_t *scenario_at(size_t i)
{
    return i < scenario_count() ? &SCENARIOS[i] : NULL;
}

const scenario_t *scenario_find(const char *name)
{
    for (size_t i = 0; i < scenario_count(); i++) {
        if (strcmp(SCENARIOS[i].name, name) == 0) {
            return &SCENARIOS[i];
        }
    }
    return NULL;
}

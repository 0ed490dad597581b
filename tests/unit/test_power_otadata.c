/* Power loss while otadata is written: for every write the engine and the bootloader make
 * (and the erase of an entry), cut the power at every physical operation of it, every way
 * (not done, done, the emulator's torn program / partial erase with several seeds, and
 * every field tear of test_power_tear.h), and read the sector back. The entry must be the
 * old one exactly, the new one exactly, or no entry at all (a bad CRC): never an entry
 * whose seq and CRC check out with a state nobody wrote. ESP-IDF's CRC covers only the
 * seq, so this takes the write order of otadata_io.c: the old entry's CRC is cleared
 * before its sector is erased, and the new entry's CRC is programmed last, alone.
 *
 * The cases are the writes behind the sweep's replays (tools/otakit-sweep):
 *   rollback:1:43f9  the boot's ABORTED write erased a PENDING_VERIFY entry part way:
 *                    seq and CRC intact, state 0x80000001: the crashing app ran again,
 *                    no longer on trial (a boot loop);
 *   update:1:38f4    set_boot's NEW entry programmed with seq and CRC but state
 *                    UNDEFINED: the new app ran without a trial;
 *   update:1:38f8    ... state INVALID: the update was refused as if it had failed. */
#include <string.h>

#include "otakit/flash.h"
#include "otakit/log.h"
#include "otakit/otadata.h"
#include "test_power_tear.h"
#include "test_support.h"

#define OTADATA_ADDR 0x0u
#define FLASH_SIZE 0x2000u
/* Torn (emulator) faults per operation: each seed tears different bits. */
#define TORN_SEEDS 8u
/* The seq whose CRC is 0: clearing the CRC cannot retire it (the seq is cut instead). */
#define SEQ_CRC_ZERO 0x9226F562u

static esp_partition_t otadata_part(otk_flash_t *f)
{
    esp_partition_t p;
    memset(&p, 0, sizeof p);
    p.flash_chip = f;
    p.type = ESP_PARTITION_TYPE_DATA;
    p.subtype = ESP_PARTITION_SUBTYPE_DATA_OTA;
    p.address = OTADATA_ADDR;
    p.size = OTK_OTADATA_SIZE;
    p.erase_size = OTK_FLASH_SECTOR_SIZE;
    strcpy(p.label, "otadata");
    return p;
}

static esp_ota_select_entry_t entry(uint32_t seq, uint32_t state)
{
    esp_ota_select_entry_t e;
    otk_otadata_make_entry(&e, seq, state, NULL);
    return e;
}

static esp_ota_select_entry_t empty(void)
{
    esp_ota_select_entry_t e;
    memset(&e, 0xFF, sizeof e);
    return e;
}

typedef enum { OP_WRITE, OP_ERASE } action_t;

/* A flash whose sector 0 holds `old`. */
static otk_flash_t *flash_with(const esp_ota_select_entry_t *old)
{
    otk_flash_t *f = NULL;
    assert_int_equal(otk_flash_mem_create(FLASH_SIZE, &f), ESP_OK);
    esp_ota_select_entry_t e = empty();
    if (memcmp(old, &e, sizeof e) != 0) {
        assert_int_equal(otk_flash_program(f, OTADATA_ADDR, old, sizeof *old), ESP_OK);
    }
    return f;
}

static esp_err_t act(otk_flash_t *f, action_t action, const esp_ota_select_entry_t *e)
{
    esp_partition_t p = otadata_part(f);
    return action == OP_WRITE ? otk_otadata_write(&p, 0, e) : otk_otadata_erase_sector(&p, 0);
}

static void expect_outcome(otk_flash_t *f, const esp_ota_select_entry_t *old,
                           const esp_ota_select_entry_t *want, const char *what, uint64_t op,
                           size_t variant)
{
    esp_ota_select_entry_t got;
    assert_int_equal(otk_flash_read(f, OTADATA_ADDR, &got, sizeof got), ESP_OK);
    /* The label is unused by every reader: an entry is its seq, state and CRC. */
    bool is_old = got.ota_seq == old->ota_seq && got.ota_state == old->ota_state &&
                  got.crc == old->crc;
    bool is_new = got.ota_seq == want->ota_seq && got.ota_state == want->ota_state &&
                  got.crc == want->crc;
    if (!is_old && !is_new && otk_otadata_entry_present(&got)) {
        fail_msg("%s at op %llu (variant %zu): a present entry nobody wrote: seq 0x%08x "
                 "state %s (0x%08x) crc 0x%08x (old: seq 0x%08x %s, new: seq 0x%08x %s)",
                 what, (unsigned long long)op, variant, (unsigned)got.ota_seq,
                 otk_otadata_state_name(got.ota_state), (unsigned)got.ota_state,
                 (unsigned)got.crc, (unsigned)old->ota_seq,
                 otk_otadata_state_name(old->ota_state), (unsigned)want->ota_seq,
                 otk_otadata_state_name(want->ota_state));
    }
}

/* Every cut of every operation of one write (or erase) of sector 0 from `old`. */
static void sweep_write(const esp_ota_select_entry_t *old, action_t action,
                        const esp_ota_select_entry_t *want)
{
    otk_flash_t *f = flash_with(old);
    uint64_t ops0 = f->physical_ops;
    assert_int_equal(act(f, action, want), ESP_OK);
    uint64_t ops = f->physical_ops - ops0;
    esp_ota_select_entry_t done;
    assert_int_equal(otk_flash_read(f, OTADATA_ADDR, &done, sizeof done), ESP_OK);
    assert_memory_equal(&done, want, sizeof done); /* the bytes ESP-IDF writes */
    otk_flash_destroy(f);

    for (uint64_t op = 1; op <= ops; op++) {
        static const otk_flash_fault_kind_t kinds[] = {OTK_FLASH_FAULT_CUT_BEFORE,
                                                       OTK_FLASH_FAULT_CUT_AFTER};
        for (size_t k = 0; k < 2 + TORN_SEEDS; k++) {
            f = flash_with(old);
            otk_flash_arm_fault(f, op, k < 2 ? kinds[k] : OTK_FLASH_FAULT_TORN, k);
            assert_int_equal(act(f, action, want), ESP_ERR_FLASH_OP_FAIL);
            otk_flash_power_on(f);
            expect_outcome(f, old, want, k < 2 ? "cut" : "torn", op, k);
            otk_flash_destroy(f);
        }
        for (size_t v = 0;; v++) {
            f = flash_with(old);
            pt_tracer_t t;
            pt_attach(&t, f, OTADATA_ADDR);
            t.fire_at = f->physical_ops + op; /* the tracer counts absolute operations */
            t.variant = v;
            otk_flash_arm_fault(f, op, OTK_FLASH_FAULT_CUT_AFTER, 1);
            assert_int_equal(act(f, action, want), ESP_ERR_FLASH_OP_FAIL);
            otk_flash_power_on(f);
            bool tore = v < t.fired_variants;
            if (tore) {
                expect_outcome(f, old, want, "field tear", op, v);
            }
            otk_flash_destroy(f);
            if (!tore) {
                break;
            }
        }
    }
}

/* set_boot into an erased sector (update:1:38f4, update:1:38f8). */
static void test_new_entry_over_erased(void **state)
{
    (void)state;
    esp_ota_select_entry_t old = empty(), want = entry(3, ESP_OTA_IMG_NEW);
    sweep_write(&old, OP_WRITE, &want);
}

/* set_boot into the sector of a rejected app. */
static void test_new_entry_over_aborted(void **state)
{
    (void)state;
    esp_ota_select_entry_t old = entry(1, ESP_OTA_IMG_ABORTED), want = entry(3, ESP_OTA_IMG_NEW);
    sweep_write(&old, OP_WRITE, &want);
}

/* The bootloader's NEW -> PENDING_VERIFY mark, in place. */
static void test_pending_mark(void **state)
{
    (void)state;
    esp_ota_select_entry_t old = entry(3, ESP_OTA_IMG_NEW);
    esp_ota_select_entry_t want = entry(3, ESP_OTA_IMG_PENDING_VERIFY);
    sweep_write(&old, OP_WRITE, &want);
}

/* The confirm, in place. */
static void test_confirm(void **state)
{
    (void)state;
    esp_ota_select_entry_t old = entry(3, ESP_OTA_IMG_PENDING_VERIFY);
    esp_ota_select_entry_t want = entry(3, ESP_OTA_IMG_VALID);
    sweep_write(&old, OP_WRITE, &want);
}

/* The rollback sweep (rollback:1:43f9) and the app's own rejection. */
static void test_rollback_marks(void **state)
{
    (void)state;
    esp_ota_select_entry_t old = entry(3, ESP_OTA_IMG_PENDING_VERIFY);
    esp_ota_select_entry_t aborted = entry(3, ESP_OTA_IMG_ABORTED);
    esp_ota_select_entry_t invalid = entry(3, ESP_OTA_IMG_INVALID);
    sweep_write(&old, OP_WRITE, &aborted);
    sweep_write(&old, OP_WRITE, &invalid);
}

/* erase_last_boot_app_partition / invalidate_inactive_ota_data_slot: a VALID entry goes. */
static void test_erase_entry(void **state)
{
    (void)state;
    esp_ota_select_entry_t old = entry(2, ESP_OTA_IMG_VALID), want = empty();
    sweep_write(&old, OP_ERASE, &want);
}

/* The one seq whose CRC is all zero bits: retiring it clears a seq bit instead. */
static void test_seq_with_zero_crc(void **state)
{
    (void)state;
    assert_int_equal(otk_otadata_crc(SEQ_CRC_ZERO), 0);
    esp_ota_select_entry_t old = entry(SEQ_CRC_ZERO, ESP_OTA_IMG_ABORTED);
    esp_ota_select_entry_t want = entry(SEQ_CRC_ZERO + 2, ESP_OTA_IMG_NEW);
    sweep_write(&old, OP_WRITE, &want);
    esp_ota_select_entry_t gone = empty();
    sweep_write(&old, OP_ERASE, &gone);
}

/* A label left by an earlier entry (set_boot keeps the sector's label bytes) rides along. */
static void test_label_kept(void **state)
{
    (void)state;
    uint8_t label[20];
    memset(label, 0x5A, sizeof label);
    esp_ota_select_entry_t old, want;
    otk_otadata_make_entry(&old, 1, ESP_OTA_IMG_VALID, label);
    otk_otadata_make_entry(&want, 3, ESP_OTA_IMG_NEW, label);
    sweep_write(&old, OP_WRITE, &want);
}

/* What the safe order costs, measured: the old entry's CRC cleared (one page program when
 * the sector held an entry), the erase, the entry without its CRC, the CRC. */
static void test_write_cost(void **state)
{
    (void)state;
    esp_ota_select_entry_t old = empty(), want = entry(3, ESP_OTA_IMG_NEW);
    otk_flash_t *f = flash_with(&old);
    otk_flash_stats_reset(f);
    assert_int_equal(act(f, OP_WRITE, &want), ESP_OK);
    assert_int_equal(f->stats.erase_sectors, 1);
    assert_int_equal(f->stats.program_pages, 2);
    otk_flash_destroy(f);

    old = entry(3, ESP_OTA_IMG_NEW);
    want = entry(3, ESP_OTA_IMG_PENDING_VERIFY);
    f = flash_with(&old);
    otk_flash_stats_reset(f);
    assert_int_equal(act(f, OP_WRITE, &want), ESP_OK);
    assert_int_equal(f->stats.erase_sectors, 1);
    assert_int_equal(f->stats.program_pages, 3);
    otk_flash_destroy(f);
}

int main(void)
{
    otk_log_set_level(OTK_LOG_NONE); /* every cut logs errors by design */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_entry_over_erased),
        cmocka_unit_test(test_new_entry_over_aborted),
        cmocka_unit_test(test_pending_mark),
        cmocka_unit_test(test_confirm),
        cmocka_unit_test(test_rollback_marks),
        cmocka_unit_test(test_erase_entry),
        cmocka_unit_test(test_seq_with_zero_crc),
        cmocka_unit_test(test_label_kept),
        cmocka_unit_test(test_write_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* --json output about a simulated device, shared by otakit-device, `otakit ota` and
 * `otakit device`: its configuration, a boot result, the running app, the self-test, and
 * otadata as it is on flash now. */
#ifndef OTAKIT_DEVICE_JSON_H
#define OTAKIT_DEVICE_JSON_H

#include "json_out.h"
#include "otakit/device_run.h"

/* A device file's contents: {"chip", "chip_rev", "rollback", "anti_rollback",
 *  "secure_version_bits", "table_offset", "table_md5", "otadata_rule",
 *  "efuse_secure_version" (bit pattern), "secure_version" (its popcount), "selftest"} */
void device_json_config(json_out_t *j, const char *key, const otk_device_store_t *store);
/* The boot result: "ok", "err", "stage", "reason", "selected", "why", "partition",
 * "address", "otadata_read", "writes", "refused", "efuse_changes". */
void device_json_boot(json_out_t *j, const char *key, const otk_device_t *dev);
/* The running app, or null: "partition", "address", "project_name", "version",
 * "secure_version", "state" (null for factory or no entry). */
void device_json_app(json_out_t *j, const char *key, otk_device_t *dev);
/* {"device", "image", "effective", "outcome", "state_before", "err"} */
void device_json_selftest(json_out_t *j, const char *key, const otk_selftest_report_t *r);
/* Both entries as on flash now: [{"seq", "state", "crc_ok", "slot"}] (entry 0, 1), or null
 * when the table has no otadata. */
void device_json_otadata(json_out_t *j, const char *key, otk_device_t *dev);
/* One esp_ota_select_entry_t as {"seq", "state", "crc_ok", "slot"}. */
void device_json_entry(json_out_t *j, const char *key, const otk_device_t *dev,
                       const esp_ota_select_entry_t *e);

#endif

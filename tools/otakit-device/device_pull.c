/* otakit-device --pull URL: right after power-on the running app downloads and installs
 * an update with esp_https_ota (otakit/ota_pull.h), as ESP-IDF's OTA examples do at
 * start-up. The update boots at the next power-on (`reboot` on the console, or the next
 * run). An interrupted download resumes from FLASH.ota-checkpoint at the next --pull of the
 * same URL.
 *
 * The device has no other options for the network: the CAs to trust come from
 * $SSL_CERT_FILE (OpenSSL's own variable for the same thing), else the system store, and
 * plain http:// needs OTAKIT_ALLOW_HTTP=1 (ESP-IDF's CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP is a
 * build option of the firmware, not something a command line gives). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_cli.h"
#include "device_json.h"
#include "otakit/ota.h"
#include "otakit/ota_pull.h"

#define TAG "esp_https_ota"
#define ENV_CA_FILE "SSL_CERT_FILE"
#define ENV_ALLOW_HTTP "OTAKIT_ALLOW_HTTP"

static void report_json(otk_device_run_t *run, const device_opts_t *o,
                        const otk_ota_pull_result_t *r)
{
    json_out_t j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "event", "pull");
    json_bool(&j, "ok", r->err == ESP_OK);
    json_string(&j, "url", o->pull_url);
    if (r->partition != NULL) {
        json_string(&j, "partition", r->partition->label);
    } else {
        json_null(&j, "partition");
    }
    json_uint(&j, "size", r->image_len);
    json_uint(&j, "resumed_from", r->report.resumed_from);
    json_uint(&j, "requests", r->report.source.requests);
    json_uint(&j, "reconnects", r->report.source.reconnects);
    json_uint(&j, "restarts", r->report.restarts);
    if (r->err != ESP_OK) {
        json_string(&j, "step", r->step);
        json_string(&j, "err", esp_err_to_name(r->err));
        json_string(&j, "reason", r->diag.msg);
    }
    device_json_otadata(&j, "otadata", &run->dev);
    json_object_end(&j);
    json_finish(&j);
}

static void report_log(otk_device_run_t *run, const device_opts_t *o,
                       const otk_ota_pull_result_t *r)
{
    otk_device_t *dev = &run->dev;
    if (r->report.resumed_from > 0) {
        otk_device_log_line(stdout, dev, 'I', TAG, "resumed an interrupted download at byte %u",
                            (unsigned)r->report.resumed_from);
    }
    if (r->report.source.reconnects > 0 || r->report.restarts > 0) {
        otk_device_log_line(stdout, dev, 'W', TAG, "%u broken connection(s) continued, %u "
                            "restart(s) from byte 0", r->report.source.reconnects,
                            r->report.restarts);
    }
    if (r->err != ESP_OK) {
        otk_device_log_line(stdout, dev, 'E', TAG, "update from %s failed (%s): %s",
                            o->pull_url, esp_err_to_name(r->err), r->diag.msg);
        return;
    }
    esp_app_desc_t desc;
    memset(&desc, 0, sizeof desc);
    otk_ota_get_partition_description(dev, r->partition, &desc);
    otk_device_log_line(stdout, dev, 'I', TAG, "%s <- %s: %.32s %.32s, %u bytes, verified; "
                        "boots at the next power-on", r->partition->label, o->pull_url,
                        desc.project_name, desc.version, (unsigned)r->image_len);
}

esp_err_t device_pull(otk_device_run_t *run, const device_opts_t *o)
{
    if (o->pull_url == NULL) {
        return ESP_OK;
    }
    otk_ota_pull_opts_t po;
    otk_ota_pull_opts_init(&po);
    po.url = o->pull_url;
    po.flash_path = run->flash_path;
    const char *ca = getenv(ENV_CA_FILE);
    po.source.ca_file = ca != NULL && ca[0] != '\0' ? ca : NULL;
    const char *allow = getenv(ENV_ALLOW_HTTP);
    po.source.allow_http = allow != NULL && strcmp(allow, "1") == 0;
    if (!o->json) {
        otk_device_log_line(stdout, &run->dev, 'I', TAG, "downloading %s", o->pull_url);
    }
    static otk_ota_pull_result_t r; /* a report and a diag: not on the stack */
    esp_err_t err = otk_ota_pull(&run->dev, &po, &r);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_device_run_save(run, &diag) != ESP_OK) {
        device_error("%s", diag.msg);
    }
    if (o->json) {
        report_json(run, o, &r);
    } else {
        report_log(run, o, &r);
    }
    if (err != ESP_OK && !o->json) {
        device_error("%s: update from %s failed: %s", o->flash_path, o->pull_url, r.diag.msg);
    }
    fflush(stdout);
    return err;
}

/* A manifest taken with the device's trust, and the floor of manifest versions kept in
 * FLASH.service: the manifest layer checks, the service remembers. The floor is raised as
 * soon as a manifest is accepted, before any node runs, so a manifest that an attacker
 * replays later (an older, still unexpired one) is refused even if this run fails. */
#include <string.h>

#include "otakit/service.h"

esp_err_t otk_service_manifest_get(const char *uri, const otk_source_opts_t *opts,
                                   const char *if_none_match, const uint8_t *key, int64_t now,
                                   const char *state_path, otk_manifest_t **out,
                                   otk_manifest_fetch_t *info, otk_diag_t *diag)
{
    static otk_service_state_t st; /* ~10 KiB: not on the stack; one run at a time */
    otk_manifest_trust_t trust;
    memset(&trust, 0, sizeof trust);
    trust.key = key;
    trust.now = now;
    if (out != NULL) {
        *out = NULL;
    }
    if (key != NULL && state_path != NULL) {
        esp_err_t err = otk_service_state_load(state_path, &st, diag);
        if (err != ESP_OK) {
            return err;
        }
        trust.has_floor = st.floor.active;
        trust.floor = st.floor.version;
        memcpy(trust.floor_sha256, st.floor.sha256, sizeof trust.floor_sha256);
    }
    esp_err_t err = otk_manifest_get(uri, opts, if_none_match, &trust, out, info, diag);
    if (err != ESP_OK || *out == NULL || key == NULL || state_path == NULL) {
        return err;
    }
    const otk_manifest_t *m = *out;
    if (st.floor.active && st.floor.version == m->manifest_version) {
        return ESP_OK; /* the very manifest recorded (check_fresh compared its bytes) */
    }
    st.floor.active = true;
    st.floor.version = m->manifest_version;
    memcpy(st.floor.sha256, info->sha256, sizeof st.floor.sha256);
    err = otk_service_state_save(state_path, &st, diag);
    if (err != ESP_OK) {
        otk_manifest_free(*out); /* unrecorded, it could be replaced by an older one */
        *out = NULL;
    }
    return err;
}

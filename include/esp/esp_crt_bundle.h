/* ESP-IDF's esp_crt_bundle.h: the certificate bundle an app attaches to trust the usual
 * public CAs. On the host the system CA store plays that part: attaching the bundle
 * (crt_bundle_attach = esp_crt_bundle_attach) means "verify against the system store". */
#ifndef ESP_CRT_BUNDLE_H
#define ESP_CRT_BUNDLE_H

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Does nothing and returns ESP_OK: its presence in the config is what counts. */
esp_err_t esp_crt_bundle_attach(void *conf);

#ifdef __cplusplus
}
#endif
#endif

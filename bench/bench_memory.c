/* Row 6 (part): RAM of the core's OTA state, from sizeof. One handle (an otk_ota_entry_t,
 * which carries the streaming verifier), the whole handle pool, and a device. ESP-IDF's
 * figure for the same job: its heap entry (about 60 bytes) plus esp_https_ota's 1 KiB work
 * buffer, and no verifier state (it re-reads the slot instead); reported for reference,
 * with no target. */
#include <stdio.h>

#include "bench_common.h"
#include "otakit/boot.h"
#include "otakit/device.h"

/* ESP-IDF's ota_ops_entry_t on a 32-bit chip: pointers, flags, sizes and a 16-byte buffer. */
#define IDF_HANDLE_BYTES 60.0
#define IDF_WORK_BUFFER 1024.0

int main(void)
{
    char note[200];
    snprintf(note, sizeof note, "pool of %d: %zu bytes; otk_device_t %zu; otk_boot_result_t %zu",
             OTK_DEVICE_MAX_HANDLES, sizeof(otk_ota_entry_t) * OTK_DEVICE_MAX_HANDLES,
             sizeof(otk_device_t), sizeof(otk_boot_result_t));
    double ours = (double)sizeof(otk_ota_entry_t);
    double ref = IDF_HANDLE_BYTES + IDF_WORK_BUFFER;
    bench_row("RAM of one OTA handle (host build)", "bytes", ours, ref, ref / ours, 0.0, note);
    return 0;
}

/* Not part of the firmware: scripts/size-report.sh compiles this for the target so that
 * `nm -S` tells the size of the core's types there. Each array is exactly as long as the
 * type it names, and the symbol's size is the sizeof. */
#include "otakit/device.h"

#define SIZE_OF(name, type)                                                                 \
    extern const char otk_sizeof_##name[sizeof(type)];                                      \
    const char otk_sizeof_##name[sizeof(type)] = {0}

SIZE_OF(ota_entry, otk_ota_entry_t);
SIZE_OF(boot_result, otk_boot_result_t);
SIZE_OF(partition_table, otk_partition_table_t);
SIZE_OF(image_stream, otk_image_stream_t);
SIZE_OF(flash, otk_flash_t);
SIZE_OF(device, otk_device_t);

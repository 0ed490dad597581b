/* CRC-32 (reflected, polynomial 0xEDB88320), the zlib/ESP-ROM flavour. */
#ifndef OTAKIT_CRC32_H
#define OTAKIT_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* zlib's crc32(crc, buf, len): pass 0 to start a standard CRC-32, or a previous result to
 * continue. ESP-IDF's esp_rom_crc32_le(x, ...) equals otk_crc32_update(x, ...) too: both
 * invert on entry and exit. */
uint32_t otk_crc32_update(uint32_t crc, const void *data, size_t len);

#endif

/* Compile-time check that an on-flash struct has exactly the size of its ESP-IDF layout,
 * so that reading it with memcpy from flash is byte-compatible. */
#ifndef ESP_ASSERT_SIZE_H
#define ESP_ASSERT_SIZE_H

#define ESP_STATIC_ASSERT_SIZE(type, bytes) \
    _Static_assert(sizeof(type) == (bytes), #type " must be " #bytes " bytes on flash")

/* The on-flash structs are read and written with memcpy, so the host must be
 * little-endian like every ESP chip (x86-64, AArch64 and Cortex-M hosts all are). */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "otakit needs a little-endian host");

#endif

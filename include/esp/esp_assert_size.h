/* Compile-time check that an on-flash struct has exactly the size of its ESP-IDF layout,
 * so that reading it with memcpy from flash is byte-compatible. */
#ifndef ESP_ASSERT_SIZE_H
#define ESP_ASSERT_SIZE_H

#define ESP_STATIC_ASSERT_SIZE(type, bytes) \
    _Static_assert(sizeof(type) == (bytes), #type " must be " #bytes " bytes on flash")

#endif

#include "otakit/diag.h"

#include <string.h>

#if OTK_CONFIG_DIAG_TEXT
#include <stdio.h>
#endif

void otk_diag_clear(otk_diag_t *diag)
{
    if (diag != NULL) {
        diag->msg[0] = '\0';
    }
}

void otk_text_copy(char *dst, size_t cap, const char *src)
{
    if (cap == 0) {
        return;
    }
    size_t n = strlen(src);
    if (n > cap - 1) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

#if OTK_CONFIG_DIAG_TEXT

void otk_diag_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
    if (cap > 0) {
        vsnprintf(buf, cap, fmt, ap);
    }
}

void otk_diag_format(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    otk_diag_vformat(buf, cap, fmt, ap);
    va_end(ap);
}

void otk_diag_set(otk_diag_t *diag, const char *fmt, ...)
{
    if (diag == NULL) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    otk_diag_vformat(diag->msg, sizeof diag->msg, fmt, ap);
    va_end(ap);
}

#else

void otk_diag_empty(char *buf, size_t cap)
{
    if (cap > 0) {
        buf[0] = '\0';
    }
}

#endif

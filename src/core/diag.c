#include "otakit/diag.h"

#include <stdarg.h>
#include <stdio.h>

void otk_diag_set(otk_diag_t *diag, const char *fmt, ...)
{
    if (diag == NULL) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->msg, sizeof diag->msg, fmt, ap);
    va_end(ap);
}

void otk_diag_clear(otk_diag_t *diag)
{
    if (diag != NULL) {
        diag->msg[0] = '\0';
    }
}

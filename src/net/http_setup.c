/* Setting up an HTTP source: its own copies of the caller's option strings and headers,
 * and libcurl's options (TLS always verified, the protocols allowed, redirects,
 * timeouts, callbacks). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_internal.h"
#include "net/source_internal.h"

#define HTTP_USER_AGENT "otakit-esp-https-ota/1"

bool http_append_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *next = curl_slist_append(*list, line);
    if (next == NULL) {
        return false;
    }
    *list = next;
    return true;
}

bool http_set_options(otk_source_t *src, http_state_t *h)
{
    const otk_source_opts_t *o = &src->opts;
    const char *protocols = o->allow_http ? "http,https" : "https";
    CURL *e = h->easy;
    bool ok = curl_easy_setopt(e, CURLOPT_URL, src->uri.normalized) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protocols) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, o->max_redirects > 0 ? 1L : 0L) ==
                  CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)o->max_redirects) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms) ==
                  CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_USER_AGENT) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_HEADERDATA, src) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)HTTP_RECV_SIZE) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_WRITEDATA, src) == CURLE_OK;
    /* A CA given by the caller is the only one trusted: the system directory is dropped
     * too (CAPATH NULL), so a wrong CA cannot be rescued by the system store. */
    if (ok && h->ca_pem != NULL) {
        struct curl_blob blob = {.data = h->ca_pem,
                                 .len = o->ca_pem_len,
                                 .flags = CURL_BLOB_COPY};
        ok = curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_CAPATH, NULL) == CURLE_OK;
    } else if (ok && h->ca_file != NULL) {
        ok = curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_CAPATH, NULL) == CURLE_OK;
    }
    return ok;
}

/* Keep what the options point at for the source's lifetime. */
bool http_copy_options(otk_source_t *src, http_state_t *h)
{
    otk_source_opts_t *o = &src->opts;
    if (o->ca_pem != NULL) {
        size_t len = o->ca_pem_len != 0 ? o->ca_pem_len : strlen(o->ca_pem);
        h->ca_pem = malloc(len + 1);
        if (h->ca_pem == NULL) {
            return false;
        }
        memcpy(h->ca_pem, o->ca_pem, len);
        h->ca_pem[len] = '\0';
        o->ca_pem = h->ca_pem;
        o->ca_pem_len = len;
        snprintf(h->ca_hint, sizeof h->ca_hint, "the CA certificate given");
    } else if (o->ca_file != NULL) {
        h->ca_file = strdup(o->ca_file);
        if (h->ca_file == NULL) {
            return false;
        }
        o->ca_file = h->ca_file;
        snprintf(h->ca_hint, sizeof h->ca_hint, "CA file %.80s", h->ca_file);
    } else {
        snprintf(h->ca_hint, sizeof h->ca_hint, "the system CA store");
    }
    for (const char *const *l = o->headers; l != NULL && *l != NULL; l++) {
        if (!http_append_header(&h->base_headers, *l)) {
            return false;
        }
    }
    o->headers = NULL;
    return true;
}

/* Relative references resolved against a base URI: RFC 3986 section 5.2 (strict parser
 * behaviour: a reference with a scheme is absolute). Pure string work on the generic
 * syntax (Appendix B's split), so it serves file://, http:// and https:// alike. */
#include <stdlib.h>
#include <string.h>

#include "otakit/manifest.h"

/* One component of the split: defined (even when empty) or not. */
typedef struct {
    const char *s;
    size_t len;
    bool defined;
} part_t;

typedef struct {
    part_t scheme, authority, path, query;
} uri_parts_t;

static bool scheme_char(char c, bool first)
{
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return alpha || (!first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
}

/* ^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))? with the scheme held to its
 * grammar (so "a/b:c" is a path, not a scheme). The fragment is dropped. */
static void split(const char *u, uri_parts_t *p)
{
    memset(p, 0, sizeof *p);
    size_t i = 0;
    while (u[i] != '\0' && scheme_char(u[i], i == 0)) {
        i++;
    }
    if (i > 0 && u[i] == ':') {
        p->scheme = (part_t){u, i, true};
        u += i + 1;
    }
    if (u[0] == '/' && u[1] == '/') {
        u += 2;
        size_t n = strcspn(u, "/?#");
        p->authority = (part_t){u, n, true};
        u += n;
    }
    size_t n = strcspn(u, "?#");
    p->path = (part_t){u, n, true};
    u += n;
    if (u[0] == '?') {
        u++;
        n = strcspn(u, "#");
        p->query = (part_t){u, n, true};
    }
}

/* RFC 3986 5.2.4 on in[0..len) into out (room for len + 1 bytes). The input is consumed
 * from the front; where the RFC replaces a prefix by "/", the "/" is written into the
 * input just before what is left of it. */
static size_t remove_dot_segments(char *in, size_t len, char *out)
{
    size_t o = 0;
    while (len > 0) {
        if (len >= 3 && strncmp(in, "../", 3) == 0) { /* A */
            in += 3, len -= 3;
        } else if (len >= 2 && strncmp(in, "./", 2) == 0) {
            in += 2, len -= 2;
        } else if (len >= 3 && strncmp(in, "/./", 3) == 0) { /* B */
            in += 2, len -= 2;
        } else if (len == 2 && strncmp(in, "/.", 2) == 0) {
            in += 1, len -= 1;
            in[0] = '/';
        } else if ((len >= 4 && strncmp(in, "/../", 4) == 0) ||
                   (len == 3 && strncmp(in, "/..", 3) == 0)) { /* C */
            if (len == 3) {
                in += 2, len -= 2;
                in[0] = '/';
            } else {
                in += 3, len -= 3;
            }
            while (o > 0 && out[o - 1] != '/') {
                o--;
            }
            if (o > 0) {
                o--; /* the "/" before the removed segment */
            }
        } else if ((len == 1 && in[0] == '.') || (len == 2 && strncmp(in, "..", 2) == 0)) {
            len = 0; /* D */
        } else { /* E: the first segment, with its leading "/" if any */
            size_t n = in[0] == '/' ? 1 : 0;
            while (n < len && in[n] != '/') {
                n++;
            }
            memcpy(out + o, in, n);
            o += n;
            in += n, len -= n;
        }
    }
    out[o] = '\0';
    return o;
}

/* Append s[0..n) at *at; false when it does not fit (keeping room for the NUL). */
static bool put(char *out, size_t cap, size_t *at, const char *s, size_t n)
{
    if (n >= cap - *at) {
        return false;
    }
    memcpy(out + *at, s, n);
    *at += n;
    out[*at] = '\0';
    return true;
}

/* A malloc'd copy of the path the target gets before dot removal: the reference's own
 * path, or (merge, 5.2.3) the base path up to its last "/" followed by the reference's. */
static char *target_path(const uri_parts_t *b, const part_t *ref_path, bool merge, size_t *len)
{
    char *path = malloc(b->path.len + ref_path->len + 2);
    if (path == NULL) {
        return NULL;
    }
    size_t n = 0;
    if (merge) {
        if (b->authority.defined && b->path.len == 0) {
            path[n++] = '/';
        } else {
            for (size_t i = b->path.len; i > 0; i--) {
                if (b->path.s[i - 1] == '/') {
                    n = i;
                    break;
                }
            }
            memcpy(path, b->path.s, n);
        }
    }
    memcpy(path + n, ref_path->s, ref_path->len);
    n += ref_path->len;
    path[n] = '\0';
    *len = n;
    return path;
}

esp_err_t otk_uri_resolve(const char *base, const char *ref, char *out, size_t cap,
                          otk_diag_t *diag)
{
    if (base == NULL || ref == NULL || out == NULL || cap == 0) {
        otk_diag_set(diag, "resolve: NULL argument");
        return ESP_ERR_INVALID_ARG;
    }
    out[0] = '\0';
    uri_parts_t b, r;
    split(base, &b);
    split(ref, &r);
    if (!b.scheme.defined) {
        otk_diag_set(diag, "base URI '%.64s' has no scheme: relative URIs cannot be resolved",
                     base);
        return ESP_ERR_INVALID_ARG;
    }
    /* 5.2.2: which parts come from the reference and which from the base. */
    const part_t *scheme = r.scheme.defined ? &r.scheme : &b.scheme;
    const part_t *authority = &b.authority;
    const part_t *query = &r.query;
    char *merged = NULL;
    size_t merged_len = 0;
    bool dots = true;
    if (r.scheme.defined || r.authority.defined) {
        authority = &r.authority;
        merged = target_path(&b, &r.path, false, &merged_len);
    } else if (r.path.len == 0) {
        merged = target_path(&b, &b.path, false, &merged_len);
        /* The base path is already resolved: as RFC 5.2.2, no dot removal here. */
        dots = false;
        if (!r.query.defined) {
            query = &b.query;
        }
    } else {
        merged = target_path(&b, &r.path, r.path.s[0] != '/', &merged_len);
    }
    if (merged == NULL) {
        otk_diag_set(diag, "resolve: out of memory");
        return ESP_ERR_NO_MEM;
    }
    char *path = malloc(merged_len + 1);
    if (path == NULL) {
        free(merged);
        otk_diag_set(diag, "resolve: out of memory");
        return ESP_ERR_NO_MEM;
    }
    size_t path_len = merged_len;
    if (dots) {
        path_len = remove_dot_segments(merged, merged_len, path);
    } else {
        memcpy(path, merged, merged_len + 1);
    }
    size_t at = 0;
    bool ok = put(out, cap, &at, scheme->s, scheme->len) && put(out, cap, &at, ":", 1);
    if (ok && authority->defined) {
        ok = put(out, cap, &at, "//", 2) && put(out, cap, &at, authority->s, authority->len);
    }
    ok = ok && put(out, cap, &at, path, path_len);
    if (ok && query->defined) {
        ok = put(out, cap, &at, "?", 1) && put(out, cap, &at, query->s, query->len);
    }
    free(merged);
    free(path);
    if (!ok) {
        out[0] = '\0';
        otk_diag_set(diag, "resolving '%.64s' against '%.64s': longer than %zu characters",
                     ref, base, cap - 1);
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}
